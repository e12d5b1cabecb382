package fakeorg

import (
	"encoding/json"
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/idverify/idverify/mocks/fakeorg/orgdb"
)

// The wire encoding of records, query results and errors is written by hand: records keep their
// field order (a map would lose it) and the hot paths stay free of reflection.

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string, escaping as encoding/json does (minus HTML escaping).
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 || r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			if r == utf8.RuneError {
				b = append(b, `\ufffd`...)
			} else {
				b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			}
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendRecordURL appends the attributes.url of a record.
func appendRecordURL(b []byte, version, typ, id string) []byte {
	b = append(b, "/services/data/v"...)
	b = append(b, version...)
	b = append(b, "/sobjects/"...)
	b = append(b, typ...)
	b = append(b, '/')
	return append(b, id...)
}

// appendRecord appends r as Salesforce encodes a record: attributes first, then the fields in
// their order.
func appendRecord(b []byte, r *orgdb.Record, version string) []byte {
	if r == nil {
		return append(b, "null"...)
	}
	b = append(b, `{"attributes":{"type":`...)
	b = appendString(b, r.Type)
	if r.ID != "" {
		b = append(b, `,"url":"`...)
		b = appendRecordURL(b, version, r.Type, r.ID)
		b = append(b, '"')
	}
	b = append(b, '}')
	for _, f := range r.Fields {
		b = append(b, ',')
		b = appendString(b, f.Name)
		b = append(b, ':')
		b = appendValue(b, f.Value, version)
	}
	return append(b, '}')
}

// appendValue appends one field value (see orgdb.Field for the types it can be).
func appendValue(b []byte, v any, version string) []byte {
	switch v := v.(type) {
	case nil:
		return append(b, "null"...)
	case string:
		return appendString(b, v)
	case bool:
		return strconv.AppendBool(b, v)
	case int64:
		return strconv.AppendInt(b, v, 10)
	case int:
		return strconv.AppendInt(b, int64(v), 10)
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return append(b, "null"...)
		}
		return strconv.AppendFloat(b, v, 'f', -1, 64)
	case json.Number:
		return append(b, v...)
	case *orgdb.Record:
		return appendRecord(b, v, version)
	case *orgdb.QueryResult:
		// A child subquery without rows is null on the wire, as Salesforce sends it.
		if v == nil || len(v.Records) == 0 && v.TotalSize == 0 {
			return append(b, "null"...)
		}
		return appendQueryResult(b, v.TotalSize, true, "", v.Records, version)
	default:
		j, err := json.Marshal(v)
		if err != nil {
			return append(b, "null"...)
		}
		return append(b, j...)
	}
}

// appendQueryResult appends a query result page.
func appendQueryResult(b []byte, total int, done bool, next string, records []*orgdb.Record, version string) []byte {
	b = append(b, `{"totalSize":`...)
	b = strconv.AppendInt(b, int64(total), 10)
	b = append(b, `,"done":`...)
	b = strconv.AppendBool(b, done)
	if next != "" {
		b = append(b, `,"nextRecordsUrl":`...)
		b = appendString(b, next)
	}
	b = append(b, `,"records":[`...)
	for i, r := range records {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendRecord(b, r, version)
	}
	return append(b, "]}"...)
}

// appendErrors appends a data API error body: [{"message","errorCode","fields"?}]; fields
// appears when the error names some.
func appendErrors(b []byte, errs ...*orgdb.Error) []byte {
	b = append(b, '[')
	for i, e := range errs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"message":`...)
		b = appendString(b, e.Message)
		b = append(b, `,"errorCode":`...)
		b = appendString(b, e.Code)
		if len(e.Fields) > 0 {
			b = append(b, `,"fields":`...)
			b = appendStrings(b, e.Fields)
		}
		b = append(b, '}')
	}
	return append(b, ']')
}

// appendRecordErrors appends the per-record errors of collections and composite results:
// [{"statusCode","message","fields"}] (statusCode, not errorCode).
func appendRecordErrors(b []byte, errs ...*orgdb.Error) []byte {
	b = append(b, '[')
	for i, e := range errs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"statusCode":`...)
		b = appendString(b, e.Code)
		b = append(b, `,"message":`...)
		b = appendString(b, e.Message)
		b = append(b, `,"fields":`...)
		b = appendStrings(b, e.Fields)
		b = append(b, '}')
	}
	return append(b, ']')
}

func appendStrings(b []byte, ss []string) []byte {
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, s)
	}
	return append(b, ']')
}

// appendSaveResult appends {"id","success":true,"errors":[]} or, when e is set,
// {"id"?,"success":false,"errors":[…]}; created adds "created" (upserts).
func appendSaveResult(b []byte, id string, e *orgdb.Error, created *bool) []byte {
	b = append(b, '{')
	if id != "" {
		b = append(b, `"id":`...)
		b = appendString(b, id)
		b = append(b, ',')
	}
	if e == nil {
		b = append(b, `"success":true,"errors":[]`...)
	} else {
		b = append(b, `"success":false,"errors":`...)
		b = appendRecordErrors(b, e)
	}
	if created != nil {
		b = append(b, `,"created":`...)
		b = strconv.AppendBool(b, *created)
	}
	return append(b, '}')
}
