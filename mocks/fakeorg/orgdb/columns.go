package orgdb

import (
	"strconv"
	"strings"
)

// QueryColumns describes the columns of a query's select list, as the query resource answers
// GET query?q=…&columns=true. Salesforce does not document that parameter; the Salesforce CLI's
// `sf data query` asks for it to lay out its table, and its tests
// (github.com/salesforcecli/plugin-data, test/test-files/queryFields.exemplars.ts) record real
// answers, which this follows.
type QueryColumns struct {
	Entity     string   `json:"entityName"`
	GroupBy    bool     `json:"groupBy"`
	IDSelected bool     `json:"idSelected"`
	KeyPrefix  string   `json:"keyPrefix"`
	Columns    []Column `json:"columnMetadata"`
}

// Column is one column: a field, a parent relationship (its fields in Join), a child subquery
// (aggregate, its fields in Join) or an aggregate function.
type Column struct {
	Aggregate      bool     `json:"aggregate"`
	ApexType       *string  `json:"apexType"`
	BooleanType    bool     `json:"booleanType"`
	Name           string   `json:"columnName"`
	Custom         bool     `json:"custom"`
	DisplayName    string   `json:"displayName"`
	ForeignKeyName *string  `json:"foreignKeyName"`
	Insertable     bool     `json:"insertable"`
	Join           []Column `json:"joinColumns"`
	NumberType     bool     `json:"numberType"`
	TextType       bool     `json:"textType"`
	Updatable      bool     `json:"updatable"`
}

// Columns compiles a query as Query does (with its errors) and describes its select list
// without running it.
func (tx *Tx) Columns(src string) (*QueryColumns, *Error) {
	_, p, e := tx.compileQuery(src, false)
	if e != nil {
		return nil, e
	}
	out := &QueryColumns{Entity: p.obj.name, KeyPrefix: p.obj.keyPrefix, Columns: nodeColumns(p.out)}
	for _, col := range out.Columns {
		out.IDSelected = out.IDSelected || col.Name == "Id"
	}
	for i, a := range p.aggs {
		if a.p == nil { // COUNT(): no column
			continue
		}
		name := a.alias
		if name == "" {
			name = "expr" + strconv.Itoa(i)
		}
		arg := a.p.kind.Name
		if len(a.p.hops) > 0 {
			var segs []string
			for _, h := range a.p.hops {
				segs = append(segs, h.RelationshipName)
			}
			arg = strings.Join(append(segs, arg), ".")
		}
		out.Columns = append(out.Columns, Column{Aggregate: true, Name: name,
			DisplayName: strings.ToLower(a.fn) + "(" + arg + ")", Join: []Column{},
			NumberType: a.fn == "COUNT" || a.fn == "COUNT_DISTINCT" || a.p.kind.isNumber()})
	}
	return out, nil
}

func nodeColumns(n *outNode) []Column {
	cols := []Column{}
	for _, e := range n.entries {
		switch {
		case e.child != nil:
			cols = append(cols, Column{Aggregate: true, Name: e.name, DisplayName: e.name, Join: nodeColumns(e.child.out)})
		case e.rel != nil:
			fk := e.rel.Name
			cols = append(cols, Column{Name: e.name, DisplayName: e.name, ForeignKeyName: &fk, Join: nodeColumns(e.sub)})
		case e.leaf != nil:
			cols = append(cols, fieldColumn(e.leaf))
		default: // a field of whatever object a polymorphic reference points at
			cols = append(cols, Column{Name: e.name, DisplayName: e.name, Join: []Column{}})
		}
	}
	return cols
}

func fieldColumn(f *FieldDef) Column {
	c := Column{Name: f.Name, DisplayName: f.Name, Custom: f.Custom, Insertable: f.Createable,
		Updatable: f.Updateable, Join: []Column{}, BooleanType: f.Type == "boolean",
		NumberType: f.isNumber(), TextType: f.isText()}
	if t := apexTypes[f.Type]; t != "" {
		c.ApexType = &t
	}
	return c
}

// apexTypes is the Apex type of each field type.
var apexTypes = map[string]string{
	"id": "Id", "reference": "Id", "string": "String", "textarea": "String", "phone": "String",
	"email": "String", "url": "String", "picklist": "String", "multipicklist": "String",
	"boolean": "Boolean", "int": "Integer", "double": "Double", "percent": "Double",
	"currency": "Decimal", "date": "Date", "datetime": "Datetime",
}
