package httpapi

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"sync"
	"unicode/utf8"
)

// exactMembers checks what encoding/json lets through in body, a JSON value it has decoded
// into a value of type t: a member named in another case than the endpoint's ("Reason" is
// taken as "reason") is an unknown member, and a member given twice (the last would win,
// where a proxy in front may have read the first) is refused, as is a key given twice in a
// map (search fields: named by the map's member, as a map's keys are input). It reads body
// again with a scanner of its own, which takes valid JSON only (Decode has checked it) and
// allocates little: encoding/json's Decoder.Token cost 5 µs and 82 allocations on an
// answers step's body.
func exactMembers(body []byte, t reflect.Type) error {
	s := memberScanner{b: body}
	return s.value(t, nil)
}

// memberScanner walks a valid JSON text, b, from i.
type memberScanner struct {
	b []byte
	i int
}

func (s *memberScanner) space() {
	for s.i < len(s.b) && strings.IndexByte(jsonSpace, s.b[s.i]) >= 0 {
		s.i++
	}
}

// value reads the value at i, of type t (nil: any), the value of the member named in.
func (s *memberScanner) value(t reflect.Type, in []byte) error {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	s.space()
	if s.i >= len(s.b) {
		return nil
	}
	switch s.b[s.i] {
	case '{':
		return s.object(t, in)
	case '[':
		var elem reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			elem = t.Elem()
		}
		s.i++
		for {
			s.space()
			if s.i >= len(s.b) {
				return nil
			}
			switch s.b[s.i] {
			case ']':
				s.i++
				return nil
			case ',':
				s.i++
				continue
			}
			if err := s.value(elem, in); err != nil {
				return err
			}
		}
	case '"':
		s.str()
	default: // a number, true, false or null
		for s.i < len(s.b) && strings.IndexByte(",]}"+jsonSpace, s.b[s.i]) < 0 {
			s.i++
		}
	}
	return nil
}

// str reads the string at i and returns its contents as written, and whether they hold an
// escape.
func (s *memberScanner) str() (raw []byte, escaped bool) {
	s.i++ // the opening quote
	start := s.i
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case '\\':
			escaped = true
			s.i += 2
			continue
		case '"':
			s.i++
			return s.b[start : s.i-1], escaped
		}
		s.i++
	}
	return s.b[start:], escaped
}

// object reads the object at i, of type t (nil: any), the value of the member named in.
func (s *memberScanner) object(t reflect.Type, in []byte) error {
	s.i++ // {
	var members map[string]reflect.Type
	kind := reflect.Interface
	if t != nil {
		kind = t.Kind()
	}
	if kind == reflect.Struct {
		members = structMembers(t)
	}
	var (
		seen  [16][]byte      // the names so far, most objects' all
		n     int             // of seen
		names map[string]bool // past len(seen): a hostile body's 8,000 members
	)
	for {
		s.space()
		if s.i >= len(s.b) {
			return nil
		}
		switch s.b[s.i] {
		case '}':
			s.i++
			return nil
		case ',':
			s.i++
			continue
		}
		from := s.i
		name, escaped := s.str()
		// As encoding/json reads it: "\u0072eason" is "reason", and each byte of invalid UTF-8
		// is U+FFFD ("A\xff" and "A\xfe" are one key).
		if escaped || !utf8.Valid(name) {
			var unquoted string
			if json.Unmarshal(s.b[from:s.i], &unquoted) == nil {
				name = []byte(unquoted)
			}
		}
		s.space()
		s.i++ // :
		var vt reflect.Type
		named := name // what a problem names: the member, or a map's own member (its keys are input)
		switch kind {
		case reflect.Struct:
			ft, ok := members[string(name)]
			if !ok {
				return &apiError{kind: errUnknownField, field: echo(name), detail: "remove the member: the endpoint does not take it (names are case-sensitive)"}
			}
			vt = ft
		case reflect.Map:
			vt, named = t.Elem(), in
		}
		twice := false
		if names != nil {
			twice = names[string(name)]
			names[string(name)] = true
		} else {
			for _, m := range seen[:n] {
				if bytes.Equal(m, name) {
					twice = true
					break
				}
			}
			if n < len(seen) {
				seen[n], n = name, n+1
			} else {
				names = make(map[string]bool, 2*len(seen))
				for _, m := range seen {
					names[string(m)] = true
				}
				names[string(name)] = true
			}
		}
		if twice {
			return &apiError{kind: errInvalidValue, field: echo(named), detail: "give each member once"}
		}
		if err := s.value(vt, named); err != nil {
			return err
		}
	}
}

// echo is name as a problem may give it: input, echoed only when it is a plain name.
func echo(name []byte) string {
	if safeName.Match(name) {
		return string(name)
	}
	return ""
}

// structMembers returns the JSON members of struct type t as encoding/json names them, with
// their types, those of embedded structs promoted; made once a type. It knows what the API's
// request types use (tags naming members, "-", embedding without conflicts, string-keyed
// maps), not all encoding/json does: a "-," tag (a member named "-"), a tag encoding/json
// finds invalid, conflicting embedded names, a struct embedding a pointer to itself, or
// non-string map keys ("01" and "1") need more here first. FuzzDecodeMembers compares the
// two on the request types.
func structMembers(t reflect.Type) map[string]reflect.Type {
	if m, ok := structMembersCache.Load(t); ok {
		return m.(map[string]reflect.Type)
	}
	m := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if tag == "-" {
			continue
		}
		ft := f.Type
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if f.Anonymous && tag == "" && ft.Kind() == reflect.Struct {
			for k, v := range structMembers(ft) {
				if _, ok := m[k]; !ok {
					m[k] = v
				}
			}
			continue
		}
		if !f.IsExported() {
			continue
		}
		if tag == "" {
			tag = f.Name
		}
		m[tag] = f.Type
	}
	structMembersCache.Store(t, m)
	return m
}

// structMembersCache holds structMembers' answers by type.
var structMembersCache sync.Map
