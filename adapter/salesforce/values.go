package salesforce

import (
	"context"
	"fmt"

	"github.com/idverify/idverify/flows"
	"github.com/idverify/idverify/sfdc"
)

// Values implements flows.CRM: the values the phone lookup, the search or the representation
// check read ahead for this record, when they are still fresh (no API call); otherwise one
// SOQL query, SELECT fields FROM r.Object WHERE Id = :id (relationship paths such as
// Account.Name allowed). A record that does not exist, or not as r.Object, is
// flows.ErrRecordNotFound.
func (a *Adapter) Values(ctx context.Context, r flows.Ref, fields []string) (map[string]string, error) {
	op := "values of " + r.Object
	id, err := checkRef(op, r)
	if err != nil {
		return nil, err
	}
	if v, ok := a.ahead.takeValues(r.Object, string(id), fields); ok {
		return v, nil
	}
	q := sfdc.Select(appendNew([]string{"Id"}, fields...)...).From(r.Object).Where(sfdc.Eq("Id", id)).Limit(1)
	recs, err := a.queryAll(ctx, q)
	if err != nil {
		return nil, fail(op, err)
	}
	if len(recs) == 0 {
		return nil, &Error{Op: op, Kind: flows.ErrRecordNotFound, Err: fmt.Errorf("no %s with that id", r.Object)}
	}
	out := make(map[string]string, len(fields))
	for _, f := range fields {
		if v := text(recs[0], f); v != "" {
			out[f] = v
		}
	}
	return out, nil
}
