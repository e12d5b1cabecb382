package orgdb

// Input values: conversion of JSON-decoded values to a field's stored form, with Salesforce's
// errors for values of the wrong type, format or length.

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/idverify/idverify/mocks/fakeorg/soql"
)

func deserializeError(f *FieldDef, typ, token string, v any) *Error {
	return errBadRequest("JSON_PARSER_ERROR", fmt.Sprintf("Cannot deserialize instance of %s from %s value %s or request may be missing a required field", typ, token, echo(v)), f.Name)
}

// echo is how an error message quotes an input value: arrays and objects by their first
// character, as a JSON parser reports the token it met, anything else clipped (soql.Clip).
func echo(v any) string {
	switch v.(type) {
	case []any:
		return "["
	case map[string]any:
		return "{"
	}
	return soql.Clip(fmt.Sprint(v))
}

func jsonToken(v any) string {
	switch v.(type) {
	case string:
		return "VALUE_STRING"
	case json.Number, float64, int, int64:
		return "VALUE_NUMBER_INT"
	case bool:
		return "VALUE_TRUE"
	case []any:
		return "START_ARRAY"
	default:
		return "START_OBJECT"
	}
}

// convert checks one input value against a field's type and returns its stored form.
func (tx *Tx) convert(f *FieldDef, v any) (any, *Error) {
	if v == nil {
		if f.Type == "boolean" {
			return false, nil
		}
		return nil, nil
	}
	switch f.Type {
	case "boolean":
		switch x := v.(type) {
		case bool:
			return x, nil
		case string:
			if b, err := strconv.ParseBool(x); err == nil {
				return b, nil
			}
		}
		return nil, deserializeError(f, "boolean", jsonToken(v), v)
	case "int", "double", "currency", "percent":
		var s string
		switch x := v.(type) {
		case json.Number:
			s = x.String()
		case string:
			s = strings.TrimSpace(x)
		case float64:
			s = strconv.FormatFloat(x, 'g', -1, 64)
		case int:
			s = strconv.Itoa(x)
		case int64:
			s = strconv.FormatInt(x, 10)
		default:
			return nil, deserializeError(f, "double", jsonToken(v), v)
		}
		if s == "" {
			return nil, nil
		}
		n, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsInf(n, 0) || math.IsNaN(n) {
			return nil, deserializeError(f, "double", jsonToken(v), v)
		}
		if f.Type == "int" {
			if n != math.Trunc(n) || math.Abs(n) > math.MaxInt32 {
				return nil, deserializeError(f, "int", jsonToken(v), v)
			}
			return int64(n), nil
		}
		return n, nil
	case "date":
		s, ok := v.(string)
		if !ok {
			return nil, deserializeError(f, "date", jsonToken(v), v)
		}
		if s == "" {
			return nil, nil
		}
		d, ok := parseDate(s)
		if !ok {
			return nil, deserializeError(f, "date", "VALUE_STRING", s)
		}
		return d, nil
	case "datetime":
		s, ok := v.(string)
		if !ok {
			return nil, deserializeError(f, "datetime", jsonToken(v), v)
		}
		if s == "" {
			return nil, nil
		}
		t, ok := parseDateTime(s)
		if !ok {
			return nil, deserializeError(f, "datetime", "VALUE_STRING", s)
		}
		// "Regular dateTime fields are full timestamps with a precision of one second"
		// (Object Reference, Primitive Data Types:
		// https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/primitive_data_types.htm):
		// the milliseconds a client sends are dropped.
		return t.UTC().Truncate(time.Second).Format(dateTimeLayout), nil
	case "reference":
		s, ok := v.(string)
		if !ok {
			return nil, deserializeError(f, "id", jsonToken(v), v)
		}
		if s == "" {
			return nil, nil
		}
		return tx.checkReference(f, s)
	}
	// Text-like fields.
	var s string
	switch x := v.(type) {
	case string:
		s = x
	case json.Number:
		s = x.String()
	case bool:
		s = strconv.FormatBool(x)
	default:
		return nil, deserializeError(f, "String", jsonToken(v), v)
	}
	if s == "" {
		return nil, nil
	}
	if !utf8.ValidString(s) {
		return nil, deserializeError(f, "String", "VALUE_STRING", "(invalid UTF-8)")
	}
	switch f.Type {
	case "picklist":
		if f.RestrictedPicklist {
			p, ok := f.picklistValue(s)
			if !ok {
				return nil, errBadRequest("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", fmt.Sprintf("%s: bad value for restricted picklist field: %s", f.Label, soql.Clip(s)), f.Name)
			}
			s = p
		}
	case "multipicklist":
		var vals []string
		seen := map[string]bool{}
		for _, part := range strings.Split(s, ";") {
			part = strings.TrimSpace(part)
			if part == "" || seen[strings.ToLower(part)] {
				continue
			}
			if p, ok := f.picklistValue(part); ok {
				part = p
			} else if f.RestrictedPicklist {
				return nil, errBadRequest("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", fmt.Sprintf("%s: bad value for restricted picklist field: %s", f.Label, soql.Clip(part)), f.Name)
			}
			seen[strings.ToLower(part)] = true
			vals = append(vals, part)
		}
		if len(vals) == 0 {
			return nil, nil
		}
		s = strings.Join(vals, ";")
	case "email":
		if !validEmail(s) {
			return nil, errBadRequest("INVALID_EMAIL_ADDRESS", fmt.Sprintf("%s: invalid email address: %s", f.Label, soql.Clip(s)), f.Name)
		}
	}
	if f.Length > 0 && utf8.RuneCountInString(s) > f.Length {
		return nil, errBadRequest("STRING_TOO_LONG", fmt.Sprintf("%s: data value too large: %s (max length=%d)", f.Label, soql.Clip(s), f.Length), f.Name)
	}
	return s, nil
}

func (f *FieldDef) picklistValue(s string) (string, bool) {
	for _, p := range f.Picklist {
		if strings.EqualFold(p.Value, s) {
			return p.Value, true
		}
	}
	return "", false
}

// checkReference validates a reference value: a well-formed id of an allowed type that exists.
func (tx *Tx) checkReference(f *FieldDef, s string) (any, *Error) {
	id, ok := ID18(s)
	if !ok {
		return nil, errBadRequest("MALFORMED_ID", fmt.Sprintf("%s: id value of incorrect type: %s", f.Label, soql.Clip(s)), f.Name)
	}
	o, ok := tx.db.schema.ObjectForID(id)
	allowed := false
	if ok {
		for _, to := range f.ReferenceTo {
			allowed = allowed || strings.EqualFold(to, o.name)
		}
	}
	if !allowed {
		return nil, errBadRequest("INVALID_CROSS_REFERENCE_KEY", fmt.Sprintf("%s: id value of incorrect type: %s", f.Label, soql.Clip(id)), f.Name)
	}
	t := tx.db.tableOf(o)
	r, ok := t.byID[id]
	if !ok {
		return nil, errBadRequest("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", f.Name)
	}
	if t.deleted(r) {
		return nil, errBadRequest("ENTITY_IS_DELETED", "entity is deleted", f.Name)
	}
	return id, nil
}

func parseDate(s string) (string, bool) {
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		return "", false
	}
	return t.Format("2006-01-02"), true
}

var dateTimeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999-0700",
	"2006-01-02T15:04:05.999999999Z0700",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02",
}

func parseDateTime(s string) (time.Time, bool) {
	for _, l := range dateTimeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// validEmail is a plain check of an e-mail address: one @, a local part without spaces or
// quotes, a domain of dot-separated labels of letters, digits and hyphens.
func validEmail(s string) bool {
	at := strings.IndexByte(s, '@')
	if at <= 0 || at != strings.LastIndexByte(s, '@') || at == len(s)-1 {
		return false
	}
	for _, r := range s[:at] {
		if r <= ' ' || r == '"' || r == '(' || r == ')' || r == ',' || r == ';' || r == '<' || r == '>' || r == '[' || r == ']' || r == '\\' {
			return false
		}
	}
	labels := strings.Split(s[at+1:], ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if l == "" || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for _, r := range l {
			if !(r == '-' || unicode.IsLetter(r) || unicode.IsDigit(r)) {
				return false
			}
		}
	}
	return true
}
