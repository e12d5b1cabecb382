package salesforce

import (
	"context"
	"errors"
	"strings"
	"sync"

	"github.com/idverify/idverify/flows"
	"github.com/idverify/idverify/sfdc"
)

// CreateLead implements flows.Recorder. Salesforce gives Lead no external id of its own, so
// there are two ways to make a repeated call (a caller's retry after a lost answer) create no
// second Lead:
//
//   - With Options.LeadKeyField (an External ID text field the org adds to Lead, e.g.
//     IdvKey__c, which holds the caller's key): one upsert by it,
//     PATCH sobjects/Lead/IdvKey__c/{key} — one API call, idempotent wherever it runs.
//   - Without: a query for an open Lead (IsConverted = false) with the same last name, company
//     and e-mail (or phone when there is no e-mail, else both empty), and a create when there is
//     none — one or two calls. Calls with the same key on one replica are made one at a time;
//     two replicas racing on the same new caller may still create two Leads, which the key field
//     rules out. A caller who already has an open Lead with the same details gets that Lead:
//     one prospect, one Lead.
//
// The Lead's fields are FirstName, LastName, Company, Phone and Email as given (its Status is
// the org's default).
func (a *Adapter) CreateLead(ctx context.Context, key string, lead flows.Lead) (flows.Ref, error) {
	const op = "create Lead"
	if key == "" {
		return flows.Ref{}, &Error{Op: op, Kind: flows.ErrInvalidInput, Err: errors.New("no idempotency key")}
	}
	fields := map[string]any{"LastName": lead.LastName, "Company": lead.Company}
	for name, v := range map[string]string{"FirstName": lead.FirstName, "Phone": lead.Phone, "Email": lead.Email} {
		if v != "" {
			fields[name] = v
		}
	}
	if a.opts.LeadKeyField != "" {
		res, _, err := a.c.Upsert(ctx, "Lead", a.opts.LeadKeyField, key, fields)
		if err != nil {
			return flows.Ref{}, fail(op, err)
		}
		return flows.Ref{Object: "Lead", ID: string(res.ID)}, nil
	}
	done, err := a.leadFlies.start(ctx, key)
	if err != nil {
		return flows.Ref{}, fail(op, err)
	}
	defer done()
	conds := []sfdc.Cond{sfdc.Eq("IsConverted", false), sfdc.Eq("LastName", lead.LastName), sfdc.Eq("Company", lead.Company)}
	switch {
	case lead.Email != "":
		conds = append(conds, sfdc.Eq("Email", lead.Email))
	case lead.Phone != "":
		conds = append(conds, sfdc.Eq("Phone", lead.Phone))
	default:
		conds = append(conds, sfdc.IsNull("Email"), sfdc.IsNull("Phone"))
	}
	recs, err := a.queryAll(ctx, sfdc.Select("Id").From("Lead").Where(conds...).OrderBy("CreatedDate", false).Limit(1))
	if err != nil {
		return flows.Ref{}, fail(op+": look for the Lead", err)
	}
	if len(recs) == 1 {
		return flows.Ref{Object: "Lead", ID: string(recs[0].ID())}, nil
	}
	id, _, err := a.c.Create(ctx, "Lead", fields)
	if err != nil {
		return flows.Ref{}, fail(op, err)
	}
	return flows.Ref{Object: "Lead", ID: string(id)}, nil
}

// flights runs calls with the same key one at a time.
type flights struct {
	mu   sync.Mutex
	busy map[string]chan struct{}
}

// start waits until no call holds key (or ctx ends), holds it and returns the function that
// releases it.
func (f *flights) start(ctx context.Context, key string) (done func(), err error) {
	key = strings.Clone(key)
	for {
		f.mu.Lock()
		wait, busy := f.busy[key]
		if !busy {
			if f.busy == nil {
				f.busy = map[string]chan struct{}{}
			}
			ch := make(chan struct{})
			f.busy[key] = ch
			f.mu.Unlock()
			return func() {
				f.mu.Lock()
				delete(f.busy, key)
				f.mu.Unlock()
				close(ch)
			}, nil
		}
		f.mu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}
