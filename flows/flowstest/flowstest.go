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

// Store is an in-memory flows.SessionStore. The zero value is ready to use. One mutex makes
// every Commit atomic and serialisable.
type Store struct {
	mu       sync.Mutex
	sessions map[string]stored
	failures map[string][]failure // by person, oldest first
	keys     map[string]bool      // the keys of the failures held
	verified map[flows.VerifiedKey]flows.VerifiedMark
	resets   map[string][]flows.Reset
}

type stored struct {
	data    []byte
	version uint64
}

type failure struct {
	at  time.Time
	key string
}

var _ flows.SessionStore = (*Store)(nil)

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
	if s.sessions == nil {
		s.sessions = map[string]stored{}
	}
	s.sessions[c.Session] = stored{data: c.Data, version: e.version + 1}
	return e.version + 1, nil
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
	s.resets[r.Person] = append(s.resets[r.Person], r)
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
	initiating  map[string]flows.Ref
	upserted    map[string]flows.Engagement // engagement id → its last upsert
	writebacks  []flows.Writeback
	written     map[string]int // session → index in writebacks
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
	c := &CRM{people: map[string]*person{}, relations: relations,
		engagements: map[string]string{}, initiating: map[string]flows.Ref{}}
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

// OpenEngagement implements flows.Recorder.
func (c *CRM) OpenEngagement(ctx context.Context, e flows.Engagement) (flows.OpenedEngagement, error) {
	if err := c.check(ctx); err != nil {
		return flows.OpenedEngagement{}, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e.ID != "" {
		for _, id := range c.engagements {
			if id == caseSafe(e.ID) {
				return flows.OpenedEngagement{ID: id, Initiating: c.initiating[id]}, nil
			}
		}
		return flows.OpenedEngagement{}, fmt.Errorf("flowstest: no such engagement: %w", flows.ErrRecordNotFound)
	}
	id, ok := c.engagements[e.ExternalID]
	if !ok {
		c.next++
		id = caseSafe(fmt.Sprintf("0ZJ000%09d", c.next))
		c.engagements[e.ExternalID] = id
	}
	if !e.Initiating.IsZero() {
		c.initiating[id] = e.Initiating
	}
	if c.upserted == nil {
		c.upserted = map[string]flows.Engagement{}
	}
	c.upserted[id] = e
	return flows.OpenedEngagement{ID: id, Initiating: c.initiating[id]}, nil
}

// Engagement returns what the last upsert of engagement id wrote.
func (c *CRM) Engagement(id string) (flows.Engagement, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.upserted[id]
	return e, ok
}

// WriteOutcome implements flows.Recorder; a repeated write of a session replaces the first. It
// refuses a write whose rows lack distinct idempotency keys, as the contract demands them.
func (c *CRM) WriteOutcome(ctx context.Context, w flows.Writeback) error {
	if err := c.check(ctx); err != nil {
		return err
	}
	ok := w.Topic.Key != ""
	for i, a := range w.Attendees {
		ok = ok && a.Key != "" && a.Key != w.Topic.Key &&
			!slices.ContainsFunc(w.Attendees[:i], func(b flows.Attendee) bool { return b.Key == a.Key })
	}
	if !ok {
		return errors.New("flowstest: every row of a write-back needs its own idempotency key")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if i, ok := c.written[w.Session]; ok {
		c.writebacks[i] = w
		return nil
	}
	if c.written == nil {
		c.written = map[string]int{}
	}
	c.written[w.Session] = len(c.writebacks)
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
