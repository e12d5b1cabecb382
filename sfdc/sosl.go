package sfdc

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// SearchScope is SOSL's IN clause: which fields the search looks at.
type SearchScope string

// Search scopes.
const (
	AllFields   SearchScope = "ALL"
	NameFields  SearchScope = "NAME"
	EmailFields SearchScope = "EMAIL"
	PhoneFields SearchScope = "PHONE"
)

func (s SearchScope) valid() bool {
	switch s {
	case "", AllFields, NameFields, EmailFields, PhoneFields:
		return true
	}
	return false
}

// Returning is one object of a search's RETURNING clause.
type Returning struct {
	Object  string   // e.g. "Account"
	Fields  []string // fields to return; empty returns the Id only
	Where   Cond     // optional filter
	OrderBy string   // optional field to sort by (ascending)
	Limit   int      // optional per-object row cap
}

// Search builds a SOSL query. The search text becomes quoted terms with every reserved character
// escaped, so every character matches itself: no input can add a logical operator (AND, OR, NOT
// are plain words inside quotes), a wildcard, a group or a clause. The zero Search is invalid;
// start with Find or FindPrefix. Methods return a new Search.
type Search struct {
	text      string
	prefix    bool
	digits    []string // FindDigits: bare numbers joined with OR
	numeric   bool     // built by FindDigits
	scope     SearchScope
	returning []Returning
	limit     int
}

// maxSearchText is where Salesforce starts dropping logical operators: refuse longer text, and
// longer terms once quoted and escaped (counted in bytes, which is never less than characters).
const maxSearchText = 4000

// Find starts a search for every word of text, in any order and in any of the fields searched,
// as Salesforce's own text search does: "smith jane 1980" finds a record holding all three words.
// The text is split at white space and control characters; each word becomes one quoted term
// with every reserved character escaped, and the terms are joined with AND. A word with fewer
// than two letters or digits is dropped (an initial, a lone "-"): Salesforce rejects terms
// shorter than two characters, and a term without letters or digits matches no indexed word, so
// keeping it would fail or empty the whole search. Punctuation inside a word stays, so
// "O'Brien" and "Smith-Jones" still match only those words next to each other. Text left with no
// word, longer than 4,000 characters or not valid UTF-8 is refused. Matching is case-insensitive.
func Find(text string) *Search { return &Search{text: text} }

// FindPrefix starts a search for one word as a prefix (word*). The word must not contain spaces
// and needs at least two letters or digits.
func FindPrefix(word string) *Search { return &Search{text: word, prefix: true} }

// maxDigits is the longest number FindDigits takes: a phone field holds at most 40 characters.
const maxDigits = 40

// FindDigits starts a search for any of the given numbers, each written as its digits alone
// (0-9), e.g. a phone number and its national form: FIND {4155551212 OR 14155551212}. The
// numbers are sent bare, as Salesforce's own phone search sample sends them ("Sample search
// Call", SOAP API Developer Guide): digits need no escaping and cannot form an operator. Each
// number needs 2 to 40 digits and nothing else; repeats are sent once. Use it with In(PhoneFields).
func FindDigits(numbers ...string) *Search { return &Search{digits: numbers, numeric: true} }

func (s *Search) clone() *Search {
	c := *s
	c.returning = append([]Returning(nil), s.returning...)
	return &c
}

// In sets the fields searched (default ALL FIELDS).
func (s *Search) In(scope SearchScope) *Search { c := s.clone(); c.scope = scope; return c }

// Returning adds objects to return, in order.
func (s *Search) Returning(r ...Returning) *Search {
	c := s.clone()
	c.returning = append(c.returning, r...)
	return c
}

// Limit caps the rows returned overall; n <= 0 means Salesforce's default.
func (s *Search) Limit(n int) *Search { c := s.clone(); c.limit = n; return c }

// SOSL renders the search, or reports why it cannot. The error never contains the text.
func (s *Search) SOSL() (string, error) {
	if s == nil {
		return "", fmt.Errorf("%w: nil search", ErrBadQuery)
	}
	term, err := s.term()
	if err != nil {
		return "", err
	}
	if err := s.check(); err != nil {
		return "", err
	}
	var b strings.Builder
	if err := s.render(&b, term, false); err != nil {
		return "", err
	}
	return b.String(), nil
}

// Shape renders the search with the text and literals replaced by '?'.
func (s *Search) Shape() string {
	if s == nil {
		return ""
	}
	var b strings.Builder
	if s.render(&b, "", true) != nil {
		return ""
	}
	return b.String()
}

// String is Shape: a Search never prints its text.
func (s *Search) String() string { return s.Shape() }

// term renders the text between FIND's braces.
func (s *Search) term() (string, error) {
	if !utf8.ValidString(s.text) {
		return "", fmt.Errorf("%w: search text is not valid UTF-8", ErrBadQuery)
	}
	if utf8.RuneCountInString(s.text) > maxSearchText {
		return "", fmt.Errorf("%w: search text longer than %d characters", ErrBadQuery, maxSearchText)
	}
	var b strings.Builder
	if s.numeric {
		return digitsTerm(s.digits)
	}
	if s.prefix {
		if strings.ContainsFunc(s.text, isSearchSpace) {
			return "", fmt.Errorf("%w: a prefix search takes one word", ErrBadQuery)
		}
		if !searchableWord(s.text) {
			return "", fmt.Errorf("%w: search text needs at least two letters or digits", ErrBadQuery)
		}
		// One word with a trailing wildcard: never an operator, whatever the word.
		writeEscapedSOSL(&b, s.text)
		b.WriteByte('*')
	} else {
		for _, w := range strings.FieldsFunc(s.text, isSearchSpace) {
			if !searchableWord(w) {
				continue
			}
			if b.Len() > 0 {
				b.WriteString(" AND ")
			}
			b.WriteByte('"')
			writeEscapedSOSL(&b, w)
			b.WriteByte('"')
		}
		if b.Len() == 0 {
			return "", fmt.Errorf("%w: search text needs a word of at least two letters or digits", ErrBadQuery)
		}
	}
	if b.Len() > maxSearchText {
		return "", fmt.Errorf("%w: search text longer than %d characters once escaped", ErrBadQuery, maxSearchText)
	}
	return b.String(), nil
}

// digitsTerm renders FindDigits' numbers joined with OR, each checked to be digits only.
func digitsTerm(numbers []string) (string, error) {
	if len(numbers) == 0 {
		return "", fmt.Errorf("%w: no number to search for", ErrBadQuery)
	}
	var b strings.Builder
	seen := make([]string, 0, len(numbers))
	for i, n := range numbers {
		if len(n) < 2 || len(n) > maxDigits || strings.Trim(n, "0123456789") != "" {
			return "", fmt.Errorf("%w: number %d must be 2 to %d digits and nothing else", ErrBadQuery, i+1, maxDigits)
		}
		if slices.Contains(seen, n) {
			continue
		}
		seen = append(seen, n)
		if b.Len() > 0 {
			b.WriteString(" OR ")
		}
		b.WriteString(n)
	}
	return b.String(), nil
}

func isSearchSpace(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }

// searchableWord reports whether w holds at least two letters or digits.
func searchableWord(w string) bool {
	n := 0
	for _, r := range w {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			if n++; n == 2 {
				return true
			}
		}
	}
	return false
}

// check checks everything but the text (see term).
func (s *Search) check() error {
	if !s.scope.valid() {
		return fmt.Errorf("%w: unknown search scope", ErrBadQuery)
	}
	for i, r := range s.returning {
		if err := checkObject(r.Object); err != nil {
			return fmt.Errorf("%w: returning %d: %v", ErrBadQuery, i+1, err)
		}
		for j, f := range r.Fields {
			if err := checkIdent(f); err != nil {
				return fmt.Errorf("%w: returning %d field %d: %v", ErrBadQuery, i+1, j+1, err)
			}
		}
		if r.OrderBy != "" {
			if err := checkIdent(r.OrderBy); err != nil {
				return fmt.Errorf("%w: returning %d order by: %v", ErrBadQuery, i+1, err)
			}
		}
	}
	return nil
}

// render writes the search with term between the braces ('?' for the shape).
func (s *Search) render(b *strings.Builder, term string, shape bool) error {
	b.WriteString("FIND {")
	if shape {
		b.WriteByte('?')
	} else {
		b.WriteString(term)
	}
	b.WriteString("} IN ")
	scope := s.scope
	if scope == "" {
		scope = AllFields
	}
	b.WriteString(string(scope))
	b.WriteString(" FIELDS")
	if len(s.returning) > 0 {
		b.WriteString(" RETURNING ")
		for i, r := range s.returning {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(r.Object)
			if len(r.Fields) == 0 && r.Where == nil && r.OrderBy == "" && r.Limit <= 0 {
				continue
			}
			b.WriteByte('(')
			if len(r.Fields) == 0 {
				b.WriteString("Id")
			} else {
				b.WriteString(strings.Join(r.Fields, ", "))
			}
			if r.Where != nil {
				b.WriteString(" WHERE ")
				if err := r.Where.render(b, shape); err != nil {
					return err
				}
			}
			if r.OrderBy != "" {
				b.WriteString(" ORDER BY ")
				b.WriteString(r.OrderBy)
			}
			if r.Limit > 0 {
				b.WriteString(" LIMIT ")
				b.WriteString(strconv.Itoa(r.Limit))
			}
			b.WriteByte(')')
		}
	}
	if s.limit > 0 {
		b.WriteString(" LIMIT ")
		b.WriteString(strconv.Itoa(s.limit))
	}
	return nil
}

// EscapeSOSL escapes text for SOSL's FIND {…}: each of ? & | ! { } [ ] ( ) ^ ~ * : \ " ' + - gets a
// backslash, and control characters become spaces (SOSL has no escape for them).
func EscapeSOSL(text string) string {
	var b strings.Builder
	b.Grow(len(text) + 8)
	writeEscapedSOSL(&b, text)
	return b.String()
}

func writeEscapedSOSL(b *strings.Builder, text string) {
	for _, r := range text {
		switch {
		case strings.ContainsRune(`?&|!{}[]()^~*:\"'+-`, r):
			b.WriteByte('\\')
			b.WriteRune(r)
		case unicode.IsControl(r):
			b.WriteByte(' ')
		default:
			b.WriteRune(r)
		}
	}
}
