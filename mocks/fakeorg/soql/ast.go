// Package soql parses Salesforce's query language (SOQL) and search language (SOSL) into an
// exported, inspectable syntax tree. It checks syntax only; what the names mean (objects, fields,
// relationships) is for the caller to resolve against a schema.
package soql

import "strings"

// Pos is a place in the source text: Row and Column count from 1 (columns in characters),
// Offset is the byte offset.
type Pos struct {
	Row, Column, Offset int
}

// Query is one SELECT statement.
type Query struct {
	Pos     Pos
	Select  []SelectItem
	From    Name
	Where   Expr // nil when there is no WHERE clause
	OrderBy []OrderItem
	Limit   *Int // nil when absent
	Offset  *Int // nil when absent
	// With records WITH SECURITY_ENFORCED, USER_MODE or SYSTEM_MODE (upper case), "" when absent.
	With string
	// For records a trailing FOR VIEW, FOR REFERENCE or FOR UPDATE (upper case), "" when absent.
	For string
}

// Name is an identifier with its position, e.g. an object name.
type Name struct {
	Pos  Pos
	Name string
}

// Int is a non-negative integer with its position (LIMIT, OFFSET).
type Int struct {
	Pos   Pos
	Value int
}

// SelectItem is one element of a select list: *FieldRef, *Subquery, *Aggregate or *FieldsFunc.
type SelectItem interface{ selectItem() }

// FieldRef is a field, possibly through parent relationships: Path {"Account", "Name"}.
type FieldRef struct {
	Pos  Pos
	Path []string
}

// String is the dotted form, e.g. "Account.Name".
func (f *FieldRef) String() string { return strings.Join(f.Path, ".") }

// Subquery is a child relationship query in a select list, e.g. (SELECT Id FROM Contacts).
type Subquery struct {
	Pos   Pos
	Query *Query
}

// Aggregate is an aggregate function in a select list. For COUNT() Arg is nil.
type Aggregate struct {
	Pos   Pos
	Func  string // upper case: COUNT, COUNT_DISTINCT, MIN, MAX, SUM, AVG
	Arg   *FieldRef
	Alias string // "" when none
}

// FieldsFunc is FIELDS(ALL), FIELDS(STANDARD) or FIELDS(CUSTOM).
type FieldsFunc struct {
	Pos  Pos
	Kind string // ALL, STANDARD or CUSTOM
}

func (*FieldsFunc) selectItem() {}
func (*FieldRef) selectItem()   {}
func (*Subquery) selectItem()   {}
func (*Aggregate) selectItem()  {}

// OrderItem is one ORDER BY key.
type OrderItem struct {
	Field      *FieldRef
	Desc       bool
	NullsLast  bool // the effective null placement: NULLS FIRST is the default for ASC, NULLS LAST for DESC
	NullsGiven bool // NULLS FIRST or NULLS LAST was written
}

// Expr is a condition: *Logical, *Not, *Comparison or *SetComparison.
type Expr interface{ expr() }

// Logical is a chain of terms joined by one operator: A AND B AND C, or A OR B OR C (SOQL does
// not mix the two without parentheses). A chain is one node, however long, so that nothing that
// walks a condition recurses once per term.
type Logical struct {
	Op    string // "AND" or "OR"
	Terms []Expr // two or more
}

// Not is NOT X.
type Not struct {
	Pos Pos
	X   Expr
}

// Comparison is Field Op Value, with Op one of = != < > <= >= LIKE (<> is reported as !=).
type Comparison struct {
	Pos   Pos
	Field *FieldRef
	Op    string
	Value *Literal
}

// SetComparison is Field IN (...), NOT IN (...), INCLUDES (...) or EXCLUDES (...). Either
// Values or (for IN and NOT IN) Subquery is set.
type SetComparison struct {
	Pos      Pos
	Field    *FieldRef
	Op       string // "IN", "NOT IN", "INCLUDES", "EXCLUDES"
	Values   []*Literal
	Subquery *Query
}

func (*Logical) expr()       {}
func (*Not) expr()           {}
func (*Comparison) expr()    {}
func (*SetComparison) expr() {}

// LiteralKind says what a literal is.
type LiteralKind int

// The kinds of literal.
const (
	String      LiteralKind = iota + 1 // Value is the unescaped text; Raw the text between the quotes
	Number                             // Value is the number as written
	Boolean                            // Value is "true" or "false"
	Null                               // Value is ""
	Date                               // Value is YYYY-MM-DD
	DateTime                           // Value is the datetime as written
	DateLiteral                        // Value is the upper-case name (TODAY, LAST_N_DAYS); N its argument
)

func (k LiteralKind) String() string {
	switch k {
	case String:
		return "string"
	case Number:
		return "number"
	case Boolean:
		return "boolean"
	case Null:
		return "null"
	case Date:
		return "date"
	case DateTime:
		return "datetime"
	case DateLiteral:
		return "date literal"
	}
	return "unknown"
}

// Literal is a value in a condition.
type Literal struct {
	Pos   Pos
	Kind  LiteralKind
	Value string
	Raw   string // the source text (for strings: between the quotes, escapes intact)
	N     int    // the n of LAST_N_DAYS:n and similar
}

// Walk calls fn for e and, while fn returns true, for every expression inside it, depth first.
// It does not descend into the WHERE clause of a semi-join's subquery (SetComparison.Subquery).
// Its recursion is as deep as the condition's nesting, which the parser bounds (MaxDepth).
func Walk(e Expr, fn func(Expr) bool) {
	if e == nil || !fn(e) {
		return
	}
	switch x := e.(type) {
	case *Logical:
		for _, t := range x.Terms {
			Walk(t, fn)
		}
	case *Not:
		Walk(x.X, fn)
	}
}
