package salesforce

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/idverify/idverify/flows"
	"github.com/idverify/idverify/sfdc"
)

// searchLimit is how many rows a search returns at most: one more than the engine shows (its
// maxResults, 50), so that it can tell the agent there were more.
const searchLimit = 51

// soslLimit is how many rows a text search asks SOSL for before keeping those whose search
// fields hold the keywords (see Search): more than searchLimit, so that rows SOSL found
// through other fields do not crowd out the ones kept.
const soslLimit = 200

// Search implements flows.CRM with one API call.
//
// A text search type is one SOSL search over st.Object: the keywords become quoted words,
// ANDed, every reserved character escaped (sfdc.Find), st.Filter is the RETURNING clause's
// WHERE, st.SortBy its ORDER BY. SOSL's scopes cannot name fields, so it searches ALL FIELDS,
// and a row is kept only when st.SearchFields hold every keyword (as words, ignoring case):
// a row SOSL found through another field (a phone number asked in check mode, say) is dropped,
// so a search cannot confirm an answer the agent must not see.
//
// An object search type is one SOQL query: each filled field is a condition, built by sfdc's
// builders from the field's type (describe, cached for the client's life; Warm reads it ahead):
// text fields match the value as a prefix (LIKE 'value%', case-insensitive), dates, numbers
// and checkboxes their value as the engine reads it (a date in any form Matching reads), other
// fields equal it; st.Filter is ANDed.
//
// Either way the rows carry st.ResultFields, and st's verifier values are read with them for
// the step that asks them (readahead.go). For a representative's search type, an object search
// also reads which customers each row may represent (representation.go).
func (a *Adapter) Search(ctx context.Context, st flows.SearchType, q flows.Query) ([]flows.Row, error) {
	op := "search " + st.Name
	var verifiers []string
	if a.readsAhead() {
		for _, v := range slices.Concat(st.Required, st.Optional) {
			verifiers = appendNew(verifiers, v.Field)
		}
	}
	fields := appendNew(appendNew(appendNew([]string{"Id"}, st.ResultFields...), st.SearchFields...), verifiers...)
	var recs []sfdc.Record
	var rule *repsQuery
	switch st.Search {
	case flows.SearchObject:
		var conds []sfdc.Cond
		if st.Filter != "" {
			conds = append(conds, sfdc.Trusted(st.Filter))
		}
		for _, f := range st.SearchFields { // in configured order: the query's shape is stable
			v, ok := q.Fields[f]
			if !ok {
				continue
			}
			c, err := a.condition(ctx, st.Object, f, v)
			if err != nil {
				return nil, fail(op, err)
			}
			conds = append(conds, c)
		}
		if len(conds) == 0 {
			return nil, &Error{Op: op, Kind: flows.ErrInvalidInput, Err: errors.New("no search field filled")}
		}
		sel := sfdc.Select(fields...)
		if st.Linked != "" {
			if rule = a.repsQuery(ctx, st.Object); rule != nil {
				sel = sel.Children(rule.sub)
			}
		}
		query := sel.From(st.Object).Where(conds...).Limit(searchLimit)
		if st.SortBy != "" {
			query = query.OrderBy(st.SortBy, false)
		}
		var err error
		recs, err = a.queryAll(ctx, query)
		if err != nil {
			return nil, fail(op, err)
		}
	default:
		ret := sfdc.Returning{Object: st.Object, Fields: fields, OrderBy: st.SortBy, Limit: soslLimit}
		if st.Filter != "" {
			ret.Where = sfdc.Trusted(st.Filter)
		}
		found, _, err := a.c.Search(ctx, sfdc.Find(q.Keywords).Returning(ret))
		if err != nil {
			return nil, fail(op, err)
		}
		words := a.searchWords(q.Keywords)
		for _, rec := range found {
			if len(recs) < searchLimit && a.holdsWords(rec, st.SearchFields, words) {
				recs = append(recs, rec)
			}
		}
	}
	rows := make([]flows.Row, 0, len(recs))
	for _, rec := range recs {
		id := string(rec.ID())
		row := flows.Row{Ref: flows.Ref{Object: st.Object, ID: id}, Values: make([]string, len(st.ResultFields))}
		for i, f := range st.ResultFields {
			row.Values[i] = text(rec, f)
		}
		rows = append(rows, row)
		if len(verifiers) > 0 {
			values := make(map[string]string, len(verifiers))
			for _, f := range verifiers {
				values[f] = text(rec, f)
			}
			a.ahead.putValues(st.Object, id, values, a.opts.ReadAheadTTL)
		}
		if rule != nil {
			rule.keep(a, st.Object, id, rec)
		}
	}
	return rows, nil
}

// queryAll runs a query and collects its rows.
func (a *Adapter) queryAll(ctx context.Context, st sfdc.Statement) ([]sfdc.Record, error) {
	var out []sfdc.Record
	for rec, err := range a.c.Query(ctx, st) {
		if err != nil {
			return nil, err
		}
		out = append(out, rec)
	}
	return out, nil
}

// condition is an object search's condition on field for the agent's value, by the field's
// type.
func (a *Adapter) condition(ctx context.Context, object, field, value string) (sfdc.Cond, error) {
	d, _, err := a.c.Describe(ctx, object)
	if err != nil {
		return nil, err
	}
	info, ok := d.Field(field)
	if !ok {
		return nil, &Error{Op: "search field " + object + "." + field, Kind: ErrRejected,
			Err: errors.New("no such field (check the configuration with idverify config check --online)")}
	}
	value = strings.TrimSpace(value)
	bad := func(what string) error {
		return &Error{Op: "search field " + field, Kind: flows.ErrInvalidInput, Err: fmt.Errorf("the value is not %s", what)}
	}
	m := a.opts.Policy.Matching
	switch info.Type {
	case "date":
		d := m.Normalize(flows.MatchDate, 0, value) // YYYY-MM-DD
		y, mo, day, ok := splitDate(d)
		if !ok {
			return nil, bad("a date")
		}
		return sfdc.Eq(field, sfdc.Date{Year: y, Month: mo, Day: day}), nil
	case "double", "currency", "percent", "int", "long":
		f, err := strconv.ParseFloat(m.Normalize(flows.MatchNumber, 0, value), 64)
		if err != nil {
			return nil, bad("a number")
		}
		return sfdc.Eq(field, f), nil
	case "boolean":
		b, err := strconv.ParseBool(strings.ToLower(value))
		if err != nil {
			return nil, bad("true or false")
		}
		return sfdc.Eq(field, b), nil
	case "string", "textarea", "phone", "url", "email", "encryptedstring":
		return sfdc.Like(field, sfdc.HasPrefix(value)), nil
	}
	return sfdc.Eq(field, value), nil // picklists, ids, references: the value itself
}

func splitDate(s string) (int, time.Month, int, bool) {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return 0, 0, 0, false
	}
	y, err1 := strconv.Atoi(s[:4])
	m, err2 := strconv.Atoi(s[5:7])
	d, err3 := strconv.Atoi(s[8:])
	if err1 != nil || err2 != nil || err3 != nil {
		return 0, 0, 0, false
	}
	return y, time.Month(m), d, true
}

// searchWords splits keywords as sfdc.Find does (at white space and control characters,
// dropping words with fewer than two letters or digits) into each word's tokens, normalised as
// the engine's text match rule normalises (case and accents folded, see flows.MatchText).
func (a *Adapter) searchWords(keywords string) [][]string {
	var out [][]string
	for _, w := range strings.FieldsFunc(keywords, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) {
		n := 0
		for _, r := range w {
			if unicode.IsLetter(r) || unicode.IsDigit(r) {
				n++
			}
		}
		if toks := a.tokens(w); n >= 2 && len(toks) > 0 {
			out = append(out, toks)
		}
	}
	return out
}

// tokens splits s into words as the text match rule reads them.
func (a *Adapter) tokens(s string) []string {
	return strings.Fields(a.opts.Policy.Matching.Normalize(flows.MatchText, 0, s))
}

// holdsWords reports whether every word appears in one of fields of rec, its tokens in order.
func (a *Adapter) holdsWords(rec sfdc.Record, fields []string, words [][]string) bool {
	if len(fields) == 0 {
		return true // no search fields configured: SOSL's own match stands
	}
	texts := make([][]string, len(fields))
	for i, f := range fields {
		texts[i] = a.tokens(text(rec, f))
	}
	for _, w := range words {
		if !slices.ContainsFunc(texts, func(t []string) bool { return containsRun(t, w) }) {
			return false
		}
	}
	return true
}

// containsRun reports whether run appears in toks, consecutively.
func containsRun(toks, run []string) bool {
	for i := 0; i+len(run) <= len(toks); i++ {
		if slices.Equal(toks[i:i+len(run)], run) {
			return true
		}
	}
	return false
}
