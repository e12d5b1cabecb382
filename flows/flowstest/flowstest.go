// Package flowstest holds in-memory implementations of the flows ports (SessionStore, CRM,
// Recorder, Clock) for tests of the engine and of the packages built on it, such as the HTTP
// API, and the ports' contract tests. The implementations follow the contracts exactly but are
// not meant for production. A store proves it keeps the SessionStore contract with
//
//	func TestContract(t *testing.T) {
//		flowstest.TestSessionStore(t, func(t *testing.T) flows.SessionStore { return newStore(t) })
//	}
package flowstest

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/idverify/idverify/flows"
)

// Store is an in-memory flows.SessionStore, flows.Outbox and flows.AuditLog. The zero value
// is ready to use. One mutex makes every Commit atomic and serialisable.
type Store struct {
	mu       sync.Mutex
	sessions map[string]stored
	failures map[string][]failure // by person, oldest first
	keys     map[string]bool      // the keys of the failures held
	verified map[flows.VerifiedKey]flows.VerifiedMark
	resets   map[string][]flows.Reset
	outbox   []*flows.OutboxEntry // queued, in id order; delivered ones are dropped
	queued   map[string]bool      // the keys of every write ever queued
	lastID   int64
	audit    []flows.AuditEvent
}

type stored struct {
	data    []byte
	version uint64
	expires time.Time
}

type failure struct {
	at  time.Time
	key string
}

var (
	_ flows.SessionStore = (*Store)(nil)
	_ flows.Outbox       = (*Store)(nil)
	_ flows.AuditLog     = (*Store)(nil)
	_ flows.IdleSessions = (*Store)(nil)
)

// Get implements flows.SessionStore.
func (s *Store) Get(ctx context.Context, id string) ([]byte, uint64, error) {
	if err := ctx.Err(); err != nil {
		return nil, 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.sessions[id]
	if !ok {
		return nil, 0, flows.ErrNotFound
	}
	return e.data, e.version, nil
}

// Commit implements flows.SessionStore: every condition is checked before anything changes.
func (s *Store) Commit(ctx context.Context, c flows.Commit) (uint64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.sessions[c.Session]
	switch {
	case c.Version == 0 && ok:
		return 0, flows.ErrVersionConflict
	case c.Version != 0 && !ok:
		return 0, flows.ErrNotFound
	case ok && e.version != c.Version:
		return 0, flows.ErrVersionConflict
	}
	if g := c.Guard; g.Person != "" && len(s.after(g.Person, g.Since)) != g.Failures {
		return 0, flows.ErrFailuresChanged
	}
	for _, f := range c.Failures {
		if s.keys[f.Key] {
			continue
		}
		if s.failures == nil {
			s.failures, s.keys = map[string][]failure{}, map[string]bool{}
		}
		s.keys[f.Key] = true
		fs := s.failures[f.Person]
		i, _ := slices.BinarySearchFunc(fs, f.At, func(a failure, t time.Time) int {
			if a.at.After(t) {
				return 1
			}
			return -1 // equal times keep their order of arrival
		})
		s.failures[f.Person] = slices.Insert(fs, i, failure{at: f.At, key: f.Key})
	}
	for _, m := range c.Marks {
		if s.verified == nil {
			s.verified = map[flows.VerifiedKey]flows.VerifiedMark{}
		}
		s.verified[m.VerifiedKey] = m
	}
	s.queue(c.Outbox)
	s.audit = append(s.audit, c.Audit...)
	if s.sessions == nil {
		s.sessions = map[string]stored{}
	}
	s.sessions[c.Session] = stored{data: c.Data, version: e.version + 1, expires: c.Expires}
	return e.version + 1, nil
}

// queue queues ws, except a write whose key the store holds. The caller holds s.mu.
func (s *Store) queue(ws []flows.OutboxWrite) {
	for _, w := range ws {
		if s.queued[w.Key] {
			continue
		}
		if s.queued == nil {
			s.queued = map[string]bool{}
		}
		s.queued[w.Key] = true
		s.lastID++
		s.outbox = append(s.outbox, &flows.OutboxEntry{ID: s.lastID, OutboxWrite: w,
			Status: flows.OutboxPending, NextAttempt: w.At})
	}
}

// IdleSessions implements flows.IdleSessions.
func (s *Store) IdleSessions(ctx context.Context, now time.Time, max int) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []string
	for id, e := range s.sessions {
		if !e.expires.IsZero() && e.expires.Before(now) {
			ids = append(ids, id)
		}
	}
	slices.SortFunc(ids, func(a, b string) int { return s.sessions[a].expires.Compare(s.sessions[b].expires) })
	return ids[:min(len(ids), max)], nil
}

// after returns person's failures after since (not at it). The caller holds s.mu.
func (s *Store) after(person string, since time.Time) []failure {
	fs := s.failures[person]
	i, _ := slices.BinarySearchFunc(fs, since, func(a failure, t time.Time) int {
		if a.at.After(t) {
			return 1
		}
		return -1
	})
	return fs[i:]
}

// Failures implements flows.SessionStore.
func (s *Store) Failures(ctx context.Context, person string, since time.Time) ([]time.Time, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	fs := s.after(person, since)
	if len(fs) == 0 {
		return nil, nil
	}
	out := make([]time.Time, len(fs))
	for i, f := range fs {
		out[i] = f.at
	}
	return out, nil
}

// Verified implements flows.SessionStore.
func (s *Store) Verified(ctx context.Context, key flows.VerifiedKey, now time.Time) (flows.VerifiedMark, bool, error) {
	if err := ctx.Err(); err != nil {
		return flows.VerifiedMark{}, false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.verified[key]
	if !ok || !m.Until.After(now) {
		return flows.VerifiedMark{}, false, nil
	}
	return m, true, nil
}

// VerifiedByEngagement implements flows.SessionStore.
func (s *Store) VerifiedByEngagement(ctx context.Context, engagement string, now time.Time) ([]flows.VerifiedMark, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []flows.VerifiedMark
	for k, m := range s.verified {
		if k.Engagement == engagement && m.Until.After(now) {
			out = append(out, m)
		}
	}
	slices.SortFunc(out, compareMarks)
	return out, nil
}

// compareMarks orders marks as VerifiedByEngagement returns them.
func compareMarks(a, b flows.VerifiedMark) int {
	return cmp.Or(a.At.Compare(b.At), cmp.Compare(a.Role, b.Role), cmp.Compare(a.Person, b.Person))
}

// ResetFailures implements flows.SessionStore.
func (s *Store) ResetFailures(ctx context.Context, r flows.Reset) (flows.Reset, error) {
	if err := ctx.Err(); err != nil {
		return flows.Reset{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	fs := s.failures[r.Person]
	for _, f := range fs {
		delete(s.keys, f.key)
	}
	delete(s.failures, r.Person)
	r.Cleared = len(fs)
	if s.resets == nil {
		s.resets = map[string][]flows.Reset{}
	}
	s.queue(r.Outbox)
	kept := r
	kept.Outbox = nil
	s.resets[r.Person] = append(s.resets[r.Person], kept)
	return r, nil
}

// Resets implements flows.SessionStore.
func (s *Store) Resets(ctx context.Context, person string) ([]flows.Reset, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.resets[person]), nil
}

// ClaimOutbox implements flows.Outbox.
func (s *Store) ClaimOutbox(ctx context.Context, now time.Time, lease time.Duration, max int) ([]flows.OutboxEntry, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []flows.OutboxEntry
	held := map[string]bool{} // engagements with an earlier write pending or claimed
	for _, e := range s.outbox {
		if len(out) == max {
			break
		}
		if e.Status != flows.OutboxPending && e.Status != flows.OutboxClaimed {
			continue
		}
		if held[e.Engagement] {
			continue
		}
		held[e.Engagement] = true
		if e.NextAttempt.After(now) {
			continue // not due, or its lease holds
		}
		e.Status, e.NextAttempt = flows.OutboxClaimed, now.Add(lease)
		e.Attempts++
		out = append(out, *e)
	}
	return out, nil
}

// claimed returns the write c holds, or ErrClaimLost. The caller holds s.mu.
func (s *Store) claimed(c flows.OutboxClaim) (int, error) {
	i, ok := slices.BinarySearchFunc(s.outbox, c.ID, func(e *flows.OutboxEntry, id int64) int { return cmp.Compare(e.ID, id) })
	if !ok || s.outbox[i].Status != flows.OutboxClaimed || s.outbox[i].Attempts != c.Attempt {
		return 0, flows.ErrClaimLost
	}
	return i, nil
}

// settle applies fn to the write c holds.
func (s *Store) settle(ctx context.Context, c flows.OutboxClaim, fn func(i int)) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	i, err := s.claimed(c)
	if err != nil {
		return err
	}
	fn(i)
	return nil
}

// Delivered implements flows.Outbox: the write is forgotten, its key kept.
func (s *Store) Delivered(ctx context.Context, c flows.OutboxClaim, _ time.Time) error {
	return s.settle(ctx, c, func(i int) { s.outbox = slices.Delete(s.outbox, i, i+1) })
}

// Reschedule implements flows.Outbox.
func (s *Store) Reschedule(ctx context.Context, c flows.OutboxClaim, code string, next time.Time) error {
	return s.settle(ctx, c, func(i int) {
		e := s.outbox[i]
		e.Status, e.Code, e.NextAttempt = flows.OutboxPending, code, next
	})
}

// Park implements flows.Outbox.
func (s *Store) Park(ctx context.Context, c flows.OutboxClaim, code string) error {
	return s.settle(ctx, c, func(i int) {
		e := s.outbox[i]
		e.Status, e.Code, e.NextAttempt = flows.OutboxParked, code, time.Time{}
	})
}

// ListOutbox implements flows.Outbox.
func (s *Store) ListOutbox(ctx context.Context, after int64, max int) ([]flows.OutboxEntry, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []flows.OutboxEntry
	for _, e := range s.outbox {
		if e.ID > after && (max <= 0 || len(out) < max) {
			out = append(out, *e)
		}
	}
	return out, nil
}

// parked returns the index of parked write id, or ErrNotFound. The caller holds s.mu.
func (s *Store) parked(id int64) (int, error) {
	i, ok := slices.BinarySearchFunc(s.outbox, id, func(e *flows.OutboxEntry, id int64) int { return cmp.Compare(e.ID, id) })
	if !ok || s.outbox[i].Status != flows.OutboxParked {
		return 0, flows.ErrNotFound
	}
	return i, nil
}

// RetryParked implements flows.Outbox.
func (s *Store) RetryParked(ctx context.Context, id int64, now time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	i, err := s.parked(id)
	if err != nil {
		return err
	}
	s.outbox[i].Status, s.outbox[i].NextAttempt = flows.OutboxPending, now
	return nil
}

// DiscardParked implements flows.Outbox.
func (s *Store) DiscardParked(ctx context.Context, id int64) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	i, err := s.parked(id)
	if err != nil {
		return err
	}
	s.outbox = slices.Delete(s.outbox, i, i+1)
	return nil
}

// AuditByEngagement implements flows.AuditLog.
func (s *Store) AuditByEngagement(ctx context.Context, engagement string) ([]flows.AuditEvent, error) {
	return s.auditWhere(ctx, func(e *flows.AuditEvent) bool { return e.Engagement == engagement })
}

// AuditByPerson implements flows.AuditLog.
func (s *Store) AuditByPerson(ctx context.Context, person string) ([]flows.AuditEvent, error) {
	return s.auditWhere(ctx, func(e *flows.AuditEvent) bool { return e.Person == person })
}

func (s *Store) auditWhere(ctx context.Context, match func(*flows.AuditEvent) bool) ([]flows.AuditEvent, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []flows.AuditEvent
	for i := range s.audit {
		if match(&s.audit[i]) {
			out = append(out, s.audit[i])
		}
	}
	return out, nil
}

// Forget drops the audit events and the keys of delivered writes, as a store sweeping them
// after their retention would, so that a long benchmark keeps a steady size.
func (s *Store) Forget() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.audit = s.audit[:0]
	clear(s.queued)
	for _, e := range s.outbox {
		s.queued[e.Key] = true
	}
}

// Deliver delivers the writes of o that are due at now through rec, as the outbox worker would
// (one claim at a time, until none is due), and returns how many reached rec. A write rec
// refuses with an error wrapping flows.ErrUnavailable is rescheduled a minute later and stops
// the delivery; any other error parks it with the code "rejected" (or the error's
// ErrorCode()). An event (OutboxWrite.Event) goes to rec's Notify if rec is also a
// flows.Notifier, and is settled unsent otherwise. The first error is returned.
func Deliver(ctx context.Context, o flows.Outbox, rec flows.Recorder, now time.Time) (int, error) {
	delivered := 0
	var first error
	for {
		claimed, err := o.ClaimOutbox(ctx, now, time.Minute, 1)
		if err != nil || len(claimed) == 0 {
			return delivered, cmp.Or(first, err)
		}
		for _, e := range claimed {
			var err error
			switch n, ok := rec.(flows.Notifier); {
			case e.Event == nil:
				err = rec.WriteOutcome(ctx, e.Writeback)
			case ok:
				err = n.Notify(ctx, *e.Event)
			}
			var coded interface{ ErrorCode() string }
			code := "rejected"
			if errors.As(err, &coded) {
				code = coded.ErrorCode()
			}
			switch {
			case err == nil:
				err = o.Delivered(ctx, e.Claim(), now)
				delivered++
			case errors.Is(err, flows.ErrUnavailable):
				first = cmp.Or(first, err)
				if err := o.Reschedule(ctx, e.Claim(), code, now.Add(time.Minute)); err != nil {
					return delivered, err
				}
				return delivered, first
			default:
				first = cmp.Or(first, err)
				err = o.Park(ctx, e.Claim(), code)
			}
			if err != nil {
				return delivered, err
			}
		}
	}
}

// Raw returns a copy of the stored form of session id, or nil: what a real store would hold.
func (s *Store) Raw(id string) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.sessions[id].data)
}

// Delete forgets session id, as a store purging finished sessions would.
func (s *Store) Delete(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.sessions, id)
}

// Person is a record in the fake CRM.
type Person struct {
	flows.Ref
	// Fields holds the record's field values by API name.
	Fields map[string]string
}

// Relation lets Representative speak for Customer, as an AccountContactRelation row would.
type Relation struct {
	Representative, Customer string
	Roles                    []string
	Active                   bool
}

// CRM is an in-memory flows.CRM and flows.Recorder over a fixed set of people. Add people and
// relations before use; the recorded engagements, leads and write-backs can be inspected
// afterwards. Its methods are safe for concurrent use.
type CRM struct {
	mu          sync.Mutex
	people      map[string]*person
	order       []*person // in the order added
	relations   []Relation
	engagements map[string]string // external id → engagement id
	externalIDs map[string]string // engagement id → external id
	initiating  map[string]flows.Ref
	upserted    map[string]flows.EngagementUpdate // engagement id → its last write
	writebacks  []flows.Writeback
	written     map[string]int // write key → index in writebacks
	leads       []flows.Lead
	leadKeys    map[string]flows.Ref // idempotency key → the lead created with it
	next        int
	// PhoneFields are the fields FindByPhone searches; empty means every field whose name ends
	// in "Phone".
	PhoneFields []string
	// Fail, when set, makes every call fail with it.
	Fail error
}

var (
	_ flows.CRM      = (*CRM)(nil)
	_ flows.Recorder = (*CRM)(nil)
)

// caseSafe returns id in the 18-character form Salesforce's API returns, or id itself when it
// is no record id. Like Salesforce, the fake CRM takes a record's id in any of its forms.
func caseSafe(id string) string {
	if safe, ok := flows.CaseSafeID(id); ok {
		return safe
	}
	return id
}

// person is a record with its fields also in a slice, each with its last nine digits, so
// that FindByPhone walks no map and parses no number.
type person struct {
	Person
	fields []field
}

type field struct {
	name, value string
	last        lastNineDigits
}

// NewCRM returns a fake CRM holding people and relations. It keeps copies of the people's
// fields: later changes to the maps are not seen.
func NewCRM(people []Person, relations []Relation) *CRM {
	c := &CRM{people: map[string]*person{}, relations: relations, engagements: map[string]string{},
		externalIDs: map[string]string{}, initiating: map[string]flows.Ref{}, upserted: map[string]flows.EngagementUpdate{}}
	for _, p := range people {
		c.add(p)
	}
	return c
}

// add adds p, or replaces the person with p's id. The caller holds c.mu or owns c.
func (c *CRM) add(p Person) {
	p.ID = caseSafe(p.ID)
	p.Fields = maps.Clone(p.Fields)
	e := &person{Person: p}
	for _, name := range slices.Sorted(maps.Keys(p.Fields)) {
		if v := p.Fields[name]; v != "" {
			e.fields = append(e.fields, field{name: name, value: v, last: lastNine(v)})
		}
	}
	if old, ok := c.people[p.ID]; ok {
		*old = *e
		return
	}
	c.people[p.ID] = e
	c.order = append(c.order, e)
}

// Delete removes the person with id, as a record deleted in the CRM.
func (c *CRM) Delete(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	id = caseSafe(id)
	delete(c.people, id)
	c.order = slices.DeleteFunc(c.order, func(p *person) bool { return p.ID == id })
}

func (c *CRM) check(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return c.Fail
}

// FindByPhone implements flows.CRM: numbers match when their last nine digits agree, so national
// and international forms of one number match.
func (c *CRM) FindByPhone(ctx context.Context, phone string) ([]flows.Ref, error) {
	if err := c.check(ctx); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	want := lastNine(phone)
	var out []flows.Ref
	for _, p := range c.order {
		for _, f := range p.fields {
			isPhone := strings.HasSuffix(f.name, "Phone")
			if len(c.PhoneFields) > 0 {
				isPhone = slices.Contains(c.PhoneFields, f.name)
			}
			if isPhone && f.last == want {
				out = append(out, p.Ref)
				break
			}
		}
	}
	return out, nil
}

// lastNineDigits holds up to the last nine digits of a number, right-aligned, and how many.
type lastNineDigits struct {
	d [9]byte
	n int
}

func lastNine(s string) lastNineDigits {
	var l lastNineDigits
	for i := len(s) - 1; i >= 0 && l.n < len(l.d); i-- {
		if s[i] >= '0' && s[i] <= '9' {
			l.n++
			l.d[len(l.d)-l.n] = s[i]
		}
	}
	return l
}

// Search implements flows.CRM: a text search matches records with every keyword in one of
// the search fields (case-insensitively); an object search matches records whose fields equal
// the given values (case-insensitively). Filter is ignored; SortBy sorts.
func (c *CRM) Search(ctx context.Context, st flows.SearchType, q flows.Query) ([]flows.Row, error) {
	if err := c.check(ctx); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	keywords := strings.Fields(strings.ToLower(q.Keywords))
	var foundArr [16]*person
	found := foundArr[:0]
	for _, p := range c.order {
		if p.Object == st.Object && matches(p.Person, st, q, keywords) {
			found = append(found, p)
		}
	}
	if st.SortBy != "" {
		slices.SortStableFunc(found, func(a, b *person) int { return strings.Compare(a.Fields[st.SortBy], b.Fields[st.SortBy]) })
	}
	// One array holds every row's values; each row's slice is clipped to its own.
	n := len(st.ResultFields)
	rows, values := make([]flows.Row, len(found)), make([]string, len(found)*n)
	for i, p := range found {
		v := values[i*n : (i+1)*n : (i+1)*n]
		for j, f := range st.ResultFields {
			v[j] = p.Fields[f]
		}
		rows[i] = flows.Row{Ref: p.Ref, Values: v}
	}
	return rows, nil
}

func matches(p Person, st flows.SearchType, q flows.Query, keywords []string) bool {
	if st.Search == flows.SearchObject {
		for f, v := range q.Fields {
			if !strings.EqualFold(strings.TrimSpace(p.Fields[f]), strings.TrimSpace(v)) {
				return false
			}
		}
		return true
	}
	for _, kw := range keywords {
		hit := false
		for _, f := range st.SearchFields {
			hit = hit || containsLower(p.Fields[f], kw)
		}
		if !hit {
			return false
		}
	}
	return true
}

// containsLower reports whether strings.ToLower(s) contains the lower-case kw, without
// building the lower-case copy when s is ASCII.
func containsLower(s, kw string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return strings.Contains(strings.ToLower(s), kw)
		}
	}
	for i := 0; i+len(kw) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(kw)], kw) {
			return true
		}
	}
	return false
}

// Values implements flows.CRM.
func (c *CRM) Values(ctx context.Context, r flows.Ref, fields []string) (map[string]string, error) {
	if err := c.check(ctx); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	p, ok := c.people[caseSafe(r.ID)]
	if !ok || p.Object != r.Object {
		return nil, fmt.Errorf("flowstest: no %s with that id: %w", r.Object, flows.ErrRecordNotFound)
	}
	out := make(map[string]string, len(fields))
	for _, f := range fields {
		if v, ok := p.Fields[f]; ok {
			out[f] = v
		}
	}
	return out, nil
}

// MayRepresent implements flows.CRM over the relations.
func (c *CRM) MayRepresent(ctx context.Context, rule flows.RepresentationRule, rep, customer flows.Ref) (bool, error) {
	if err := c.check(ctx); err != nil {
		return false, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, r := range c.relations {
		if caseSafe(r.Representative) != caseSafe(rep.ID) || caseSafe(r.Customer) != caseSafe(customer.ID) ||
			(rule.RequireActive && !r.Active) {
			continue
		}
		if len(rule.Roles) == 0 || slices.ContainsFunc(r.Roles, func(role string) bool { return slices.Contains(rule.Roles, role) }) {
			return true, nil
		}
	}
	return false, nil
}

// CreateLead implements flows.Recorder: a second call with the same key returns the first
// call's Lead.
func (c *CRM) CreateLead(ctx context.Context, key string, lead flows.Lead) (flows.Ref, error) {
	if err := c.check(ctx); err != nil {
		return flows.Ref{}, err
	}
	if key == "" {
		return flows.Ref{}, errors.New("flowstest: CreateLead needs an idempotency key")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if ref, ok := c.leadKeys[key]; ok {
		return ref, nil
	}
	c.next++
	ref := flows.Ref{Object: "Lead", ID: caseSafe(fmt.Sprintf("00Q000%09d", c.next))}
	c.add(Person{Ref: ref, Fields: map[string]string{"LastName": lead.LastName, "Company": lead.Company}})
	c.leads = append(c.leads, lead)
	if c.leadKeys == nil {
		c.leadKeys = map[string]flows.Ref{}
	}
	c.leadKeys[key] = ref
	return ref, nil
}

// OpenEngagement implements flows.Recorder: the engagements are those the write-backs created
// and those AddEngagement added.
func (c *CRM) OpenEngagement(ctx context.Context, id string) (flows.OpenedEngagement, error) {
	if err := c.check(ctx); err != nil {
		return flows.OpenedEngagement{}, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	ext, ok := c.externalIDs[caseSafe(id)]
	if !ok {
		return flows.OpenedEngagement{}, fmt.Errorf("flowstest: no such engagement: %w", flows.ErrRecordNotFound)
	}
	return flows.OpenedEngagement{ID: caseSafe(id), ExternalID: ext, Initiating: c.initiating[id]}, nil
}

// AddEngagement adds an engagement that exists in the CRM (created elsewhere), with an
// external id (or none) and an initiating attendee (or none), and returns its id.
func (c *CRM) AddEngagement(externalID string, initiating flows.Ref) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.engagement(externalID, initiating)
}

// engagement creates an engagement. The caller holds c.mu.
func (c *CRM) engagement(externalID string, initiating flows.Ref) string {
	c.next++
	id := caseSafe(fmt.Sprintf("0ZJ000%09d", c.next))
	if externalID != "" {
		c.engagements[externalID] = id
	}
	c.externalIDs[id] = externalID
	if !initiating.IsZero() {
		c.initiating[id] = initiating
	}
	return id
}

// Engagement returns what the last write-back wrote to engagement id.
func (c *CRM) Engagement(id string) (flows.EngagementUpdate, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.upserted[id]
	return e, ok
}

// EngagementID returns the id of the engagement with externalID, once a write-back created it.
func (c *CRM) EngagementID(externalID string) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	id, ok := c.engagements[externalID]
	return id, ok
}

// WriteOutcome implements flows.Recorder: it upserts the engagement by its external id (or
// updates the one with its id, which must exist) and keeps the write; a repeated write (by its
// Key) replaces the first. It refuses a write whose rows lack distinct idempotency keys, as the
// contract demands them.
func (c *CRM) WriteOutcome(ctx context.Context, w flows.Writeback) error {
	if err := c.check(ctx); err != nil {
		return err
	}
	ok := w.Key != "" && w.Topic.Key != "" && (w.Engagement.ID == "") != (w.Engagement.ExternalID == "")
	for i, a := range w.Attendees {
		ok = ok && a.Key != "" && a.Key != w.Topic.Key &&
			!slices.ContainsFunc(w.Attendees[:i], func(b flows.Attendee) bool { return b.Key == a.Key })
	}
	if !ok {
		return errors.New("flowstest: a write-back needs its key, one of the engagement's id and external id, and rows with their own keys")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	id := w.Engagement.ID
	if id == "" {
		id, ok = c.engagements[w.Engagement.ExternalID]
		if !ok {
			id = c.engagement(w.Engagement.ExternalID, flows.Ref{})
		}
	} else if _, ok := c.externalIDs[id]; !ok {
		return fmt.Errorf("flowstest: no such engagement: %w", flows.ErrRecordNotFound)
	}
	if !w.Engagement.Initiating.IsZero() {
		c.initiating[id] = w.Engagement.Initiating
	}
	c.upserted[id] = w.Engagement
	if i, ok := c.written[w.Key]; ok {
		c.writebacks[i] = w
		return nil
	}
	if c.written == nil {
		c.written = map[string]int{}
	}
	c.written[w.Key] = len(c.writebacks)
	c.writebacks = append(c.writebacks, w)
	return nil
}

// Writebacks returns the outcomes written so far.
func (c *CRM) Writebacks() []flows.Writeback {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.writebacks)
}

// DrainWritebacks returns the outcomes written so far and forgets them, as an outbox worker
// that delivered them would.
func (c *CRM) DrainWritebacks() []flows.Writeback {
	c.mu.Lock()
	defer c.mu.Unlock()
	w := c.writebacks
	c.writebacks = nil
	clear(c.written)
	return w
}

// LeadKeys returns the idempotency keys CreateLead was called with, in no order.
func (c *CRM) LeadKeys() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Collect(maps.Keys(c.leadKeys))
}

// Leads returns the leads created so far.
func (c *CRM) Leads() []flows.Lead {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.leads)
}

// Clock is a flows.Clock that moves only when told. Its zero value reads the zero time.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock reading t.
func NewClock(t time.Time) *Clock { return &Clock{now: t} }

// Now implements flows.Clock.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}
