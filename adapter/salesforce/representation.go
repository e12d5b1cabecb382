package salesforce

import (
	"context"
	"strconv"
	"strings"

	"github.com/idverify/idverify/flows"
	"github.com/idverify/idverify/sfdc"
)

// MayRepresent implements flows.CRM: a row of rule.Object must name the representative in
// rule.RepresentativeField and the customer in rule.CustomerField, be active (IsActive) when
// rule.RequireActive, and, when rule.Roles is set, have one of them selected in its Roles
// multi-select picklist (Roles INCLUDES (…)). By default that is an AccountContactRelation
// ("AccountContactRelation", Object Reference): a Contact related to the customer's Account.
// A representative that is a person account is represented by its person contact
// (PersonContactId): the rows whose contact's AccountId is the person account and whose
// IsPersonAccount is true.
//
// It makes at most one API call, and none when a representative's object search read the
// answer ahead (see Search). Otherwise it reads the customer with its matching rows as a child
// subquery, and the customer's verifier values with them for the questions that follow in the
// same step (kept for handoffTTL, read-ahead on or off):
//
//	SELECT Id, PersonBirthdate, …, (SELECT Id FROM AccountContactRelations WHERE ContactId = :rep
//	  AND IsActive = true AND Roles INCLUDES (…) LIMIT 1) FROM Account WHERE Id = :customer
//
// or, when the relationship's name is unknown (describe failed), the rows alone. A customer
// that does not exist is flows.ErrRecordNotFound.
func (a *Adapter) MayRepresent(ctx context.Context, rule flows.RepresentationRule, representative, customer flows.Ref) (bool, error) {
	const op = "representation check"
	repID, err := checkRef(op, representative)
	if err != nil {
		return false, err
	}
	custID, err := checkRef(op, customer)
	if err != nil {
		return false, err
	}
	key := ruleKey(rule)
	if ok, known := a.ahead.mayRepresent(representative.Object, string(repID), key, string(custID)); known {
		return ok, nil
	}
	rows := sfdc.Select("Id").Where(a.ruleConds(ctx, rule, representative.Object, repID)...)
	if rel := a.childRelationship(ctx, customer.Object, rule.Object, rule.CustomerField); rel != "" {
		fields := appendNew([]string{"Id"}, a.aheadBy[customer.Object]...)
		q := sfdc.Select(fields...).Children(rows.From(rel).Limit(1)).From(customer.Object).Where(sfdc.Eq("Id", custID))
		recs, err := a.queryAll(ctx, q)
		if err != nil {
			return false, fail(op, err)
		}
		if len(recs) == 0 {
			return false, &Error{Op: op + ": the customer", Kind: flows.ErrRecordNotFound, Err: sfdc.ErrNotFound}
		}
		a.keepValues(recs[0], customer.Object, string(custID), handoffTTL)
		return len(recs[0].Children(rel)) > 0, nil
	}
	conds := append(a.ruleConds(ctx, rule, representative.Object, repID), sfdc.Eq(rule.CustomerField, custID))
	recs, err := a.queryAll(ctx, sfdc.Select("Id").From(rule.Object).Where(conds...).Limit(1))
	if err != nil {
		return false, fail(op, err)
	}
	return len(recs) > 0, nil
}

// ruleConds are the conditions a row of rule.Object must meet to let the representative (of
// object repObject) speak for someone: it names them, is active, has one of the roles.
func (a *Adapter) ruleConds(ctx context.Context, rule flows.RepresentationRule, repObject string, rep sfdc.ID) []sfdc.Cond {
	var conds []sfdc.Cond
	if repObject == "Account" && a.referenceTo(ctx, rule.Object, rule.RepresentativeField) == "Contact" {
		rel := relationshipName(rule.RepresentativeField)
		conds = append(conds, sfdc.Eq(rel+".AccountId", rep), sfdc.Eq(rel+".IsPersonAccount", true))
	} else {
		conds = append(conds, sfdc.Eq(rule.RepresentativeField, rep))
	}
	return append(conds, a.rowConds(rule)...)
}

// rowConds are the conditions on a row of the rule's object itself: active, one of the roles.
func (a *Adapter) rowConds(rule flows.RepresentationRule) []sfdc.Cond {
	var conds []sfdc.Cond
	if rule.RequireActive {
		conds = append(conds, sfdc.Eq("IsActive", true))
	}
	if len(rule.Roles) > 0 {
		conds = append(conds, sfdc.Includes("Roles", rule.Roles))
	}
	return conds
}

// repsQuery reads, with each row of a representative's search, the customers that row may
// represent: the rule's rows as a child subquery, e.g.
//
//	(SELECT AccountId FROM AccountContactRelations WHERE IsActive = true AND Roles INCLUDES (…))
type repsQuery struct {
	rel, customerField, rule string
	sub                      *sfdc.Query
}

// repsQuery returns the subquery for a representative search on object, or nil when the
// representation rule is off or object has no child relationship to the rule's object (then
// MayRepresent asks when it is needed).
func (a *Adapter) repsQuery(ctx context.Context, object string) *repsQuery {
	rule := a.opts.Policy.Representation
	if !a.readsAhead() || !rule.Enabled() {
		return nil
	}
	rel := a.childRelationship(ctx, object, rule.Object, rule.RepresentativeField)
	if rel == "" {
		return nil
	}
	conds := a.rowConds(rule)
	sub := sfdc.Select(rule.CustomerField).From(rel)
	if len(conds) > 0 {
		sub = sub.Where(conds...)
	}
	return &repsQuery{rel: rel, customerField: rule.CustomerField, rule: ruleKey(rule), sub: sub}
}

// keep reads ahead what representative (object, id), read as rec, may represent. A child
// subquery inlines at most one page of rows: a full page may not be all of them, and is not
// kept.
func (r *repsQuery) keep(a *Adapter, object, id string, rec sfdc.Record) {
	v, _ := rec.Get(r.rel)
	rows, ok := v.([]sfdc.Record)
	if !ok && v != nil {
		return
	}
	if len(rows) >= 200 {
		return
	}
	customers := make(map[string]bool, len(rows))
	for _, row := range rows {
		if c, err := sfdc.ParseID(text(row, r.customerField)); err == nil {
			customers[string(c)] = true
		}
	}
	a.ahead.putReps(object, id, r.rule, customers, a.opts.ReadAheadTTL)
}

// ruleKey identifies a rule, so that an answer read ahead under one is not taken for another.
func ruleKey(r flows.RepresentationRule) string {
	return strings.Join([]string{r.Object, r.RepresentativeField, r.CustomerField, strconv.FormatBool(r.RequireActive),
		strings.Join(r.Roles, "\x00")}, "\x01")
}

// childRelationship returns the name of parent's child relationship to child through field
// (e.g. Account's AccountContactRelations through AccountContactRelation.AccountId), from
// parent's describe (cached for the client's life), or "" when it has none or describe failed.
func (a *Adapter) childRelationship(ctx context.Context, parent, child, field string) string {
	d, _, err := a.c.Describe(ctx, parent)
	if err != nil {
		return ""
	}
	for _, r := range d.ChildRelationships {
		if strings.EqualFold(r.ChildSObject, child) && strings.EqualFold(r.Field, field) {
			return r.RelationshipName
		}
	}
	return ""
}

// referenceTo returns the object field of object refers to (the first, for a polymorphic
// field), from describe; when describe fails, the object its name suggests (ContactId:
// Contact).
func (a *Adapter) referenceTo(ctx context.Context, object, field string) string {
	if d, _, err := a.c.Describe(ctx, object); err == nil {
		if f, ok := d.Field(field); ok && len(f.ReferenceTo) > 0 {
			return f.ReferenceTo[0]
		}
	}
	return relationshipName(field)
}
