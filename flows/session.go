package flows

import (
	"encoding/binary"
	"errors"
	"math/bits"
	"slices"
)

// session is a verification session as the engine persists it: record ids, field names,
// verdicts, counters and, for check-mode questions, keyed hashes of the normalised expected
// values. It holds no name, phone number, birth date or answer.
type session struct {
	id string
	// engagement is the Salesforce id of the engagement the session attached to; empty for one
	// the write-back creates.
	engagement string
	// externalID is the engagement's upsert key (ExternalIdentifier): the one the write-back
	// creates, or the one the attached engagement has (if any).
	externalID    string
	channel       string
	agent         string // the User id of the agent who started the session (an internal attendee), or empty
	authenticated bool   // pre-authenticated by an IVR or app (carried to the write-back only)
	initiating    Ref
	preselected   bool // the initiating attendee is known (phone match, named or new): no search for self
	newLead       bool // the initiating attendee is the Lead Start created
	phoneMatch    PhoneMatch
	// candidates are the records the phone lookup found when none was preselected (several,
	// or one untrusted match): rows among them are flagged in the caller's search results.
	candidates  []string
	reason      string
	subject     Subject
	state       State
	level       Level
	outcome     Outcome
	cause       Cause
	retries     int   // failed levels retried so far
	started     int64 // unix nanoseconds
	updated     int64
	lockedUntil int64
	levels      [2]level
}

// level is the caller's or the customer's part of a session.
type level struct {
	searchType  string
	results     []string // ids of the last search's rows (of the search type's object)
	record      Ref      // the selected person
	passed      bool
	verifiedAt  int64
	optionalMin int
	questions   []question
}

type question struct {
	field    string
	mac      [32]byte
	digits   uint16
	required bool
	hasMAC   bool // false when the expected value is empty: nothing can match it
	verdict  Verdict
	// The question's mode, match rule and reveal setting, as indexes into modes, matchRules
	// and reveals (a question is kept small: a session holds many).
	modeIdx, matchIdx, revealIdx uint8
}

func (q *question) mode() Mode           { return modes[q.modeIdx] }
func (q *question) match() MatchRule     { return matchRules[q.matchIdx] }
func (q *question) reveal() Reveal       { return reveals[q.revealIdx] }
func (q *question) setMode(m Mode)       { q.modeIdx = enumIndex(modes, m) }
func (q *question) setMatch(r MatchRule) { q.matchIdx = enumIndex(matchRules, r) }
func (q *question) setReveal(r Reveal)   { q.revealIdx = enumIndex(reveals, r) }

const (
	sessionMagic   = 'S'
	sessionVersion = 3
	// sessionVersion2 is the encoding before the agent: read as one with no agent.
	sessionVersion2 = 2
	// maxResults caps the results a session remembers (and shows): the agent refines a search
	// that finds more.
	maxResults = 50
)

var (
	modes   = []Mode{ModeAttest, ModeCheck}
	reveals = []Reveal{RevealNone, RevealMasked, RevealFull}
)

func enumIndex[T comparable](all []T, v T) byte {
	if i := slices.Index(all, v); i > 0 {
		return byte(i)
	}
	return 0
}

// reset empties s for a new session, keeping its arrays for reuse.
func (s *session) reset() {
	old := s.levels
	candidates := s.candidates[:0]
	*s = session{candidates: candidates}
	for i := range old {
		s.levels[i].results, s.levels[i].questions = old[i].results[:0], old[i].questions[:0]
	}
}

// encode appends the session's persisted form to b.
func (s *session) encode(b []byte) []byte {
	b = append(b, sessionMagic, sessionVersion)
	b = appendString(b, s.id)
	b = appendString(b, s.engagement)
	b = appendString(b, s.externalID)
	b = appendString(b, s.channel)
	b = appendString(b, s.agent)
	b = appendString(b, s.initiating.Object)
	b = appendString(b, s.initiating.ID)
	b = append(b, boolByte(s.preselected)|boolByte(s.newLead)<<1|boolByte(s.authenticated)<<2, byte(s.phoneMatch))
	b = binary.AppendUvarint(b, uint64(len(s.candidates)))
	for _, id := range s.candidates {
		b = appendString(b, id)
	}
	b = appendString(b, s.reason)
	b = append(b, byte(s.subject), byte(s.state), byte(s.level), byte(s.outcome), byte(s.cause))
	b = binary.AppendUvarint(b, uint64(s.retries))
	b = binary.AppendVarint(b, s.started)
	b = binary.AppendVarint(b, s.updated)
	b = binary.AppendVarint(b, s.lockedUntil)
	for i := range s.levels {
		l := &s.levels[i]
		b = appendString(b, l.searchType)
		b = binary.AppendUvarint(b, uint64(len(l.results)))
		for _, id := range l.results {
			b = appendString(b, id)
		}
		b = appendString(b, l.record.Object)
		b = appendString(b, l.record.ID)
		b = append(b, boolByte(l.passed))
		b = binary.AppendVarint(b, l.verifiedAt)
		b = binary.AppendUvarint(b, uint64(l.optionalMin))
		b = binary.AppendUvarint(b, uint64(len(l.questions)))
		for j := range l.questions {
			q := &l.questions[j]
			b = appendString(b, q.field)
			b = append(b, boolByte(q.required)|boolByte(q.hasMAC)<<1,
				q.modeIdx, q.matchIdx, q.revealIdx,
				byte(q.verdict))
			b = binary.AppendUvarint(b, uint64(q.digits))
			if q.hasMAC {
				b = append(b, q.mac[:]...)
			}
		}
	}
	return b
}

// encodedSize is the exact length of the session's encoding, so that a store holds no slack.
func (s *session) encodedSize() int {
	n := 2 + stringSize(s.id) + stringSize(s.engagement) + stringSize(s.externalID) + stringSize(s.channel) +
		stringSize(s.agent) + stringSize(s.initiating.Object) + stringSize(s.initiating.ID) + 2 + uvarintSize(uint64(len(s.candidates))) +
		stringSize(s.reason) + 5 + uvarintSize(uint64(s.retries)) +
		varintSize(s.started) + varintSize(s.updated) + varintSize(s.lockedUntil)
	for _, id := range s.candidates {
		n += stringSize(id)
	}
	for i := range s.levels {
		l := &s.levels[i]
		n += stringSize(l.searchType) + uvarintSize(uint64(len(l.results)))
		for _, id := range l.results {
			n += stringSize(id)
		}
		n += stringSize(l.record.Object) + stringSize(l.record.ID) + 1 + varintSize(l.verifiedAt) +
			uvarintSize(uint64(l.optionalMin)) + uvarintSize(uint64(len(l.questions)))
		for j := range l.questions {
			q := &l.questions[j]
			n += stringSize(q.field) + 5 + uvarintSize(uint64(q.digits))
			if q.hasMAC {
				n += len(q.mac)
			}
		}
	}
	return n
}

func uvarintSize(x uint64) int { return (bits.Len64(x|1) + 6) / 7 }
func varintSize(x int64) int   { return uvarintSize(uint64(x<<1) ^ uint64(x>>63)) }
func stringSize(s string) int  { return uvarintSize(uint64(len(s))) + len(s) }

var errCorrupt = errors.New("flows: corrupt session data")

// decodeSession reads a session encoded by encode. Its strings share one copy of data.
func decodeSession(data []byte) (*session, error) {
	s := &session{}
	if err := s.decode(data); err != nil {
		return nil, err
	}
	return s, nil
}

// decode replaces s with the session encoded in data, reusing s's slices. A string equal to
// the one it replaces (the same session loaded again, as every step does) keeps the old
// string; the others share one copy of data, made only when one is needed. So reloading a
// session copies nothing unless it changed.
func (s *session) decode(data []byte) error {
	d := decoder{b: data}
	if d.byte() != sessionMagic {
		return errCorrupt
	}
	encoding := d.byte()
	if encoding != sessionVersion && encoding != sessionVersion2 {
		return errCorrupt
	}
	old := *s
	*s = session{candidates: old.candidates[:0]}
	for i := range old.levels {
		s.levels[i].results, s.levels[i].questions = old.levels[i].results[:0], old.levels[i].questions[:0]
	}
	s.id = d.string(old.id)
	s.engagement = d.string(old.engagement)
	s.externalID = d.string(old.externalID)
	s.channel = d.string(old.channel)
	if encoding >= sessionVersion {
		s.agent = d.string(old.agent)
	}
	s.initiating = Ref{Object: d.string(old.initiating.Object), ID: d.string(old.initiating.ID)}
	flags := d.byte()
	s.preselected, s.newLead, s.authenticated = flags&1 != 0, flags&2 != 0, flags&4 != 0
	s.phoneMatch = PhoneMatch(d.byte())
	if n := d.count(); n > 0 {
		s.candidates = slices.Grow(s.candidates, n)[:n]
		for j := range s.candidates {
			s.candidates[j] = d.string(s.candidates[j])
		}
	}
	s.reason = d.string(old.reason)
	s.subject, s.state, s.level = Subject(d.byte()), State(d.byte()), Level(d.byte())
	s.outcome, s.cause = Outcome(d.byte()), Cause(d.byte())
	s.retries = int(d.uvarint())
	s.started, s.updated, s.lockedUntil = d.varint(), d.varint(), d.varint()
	for i := range s.levels {
		l, was := &s.levels[i], &old.levels[i]
		l.searchType = d.string(was.searchType)
		if n := d.count(); n > 0 {
			// Grow keeps the old elements within the capacity: each is compared with the
			// string that replaces it.
			l.results = slices.Grow(l.results, n)[:n]
			for j := range l.results {
				l.results[j] = d.string(l.results[j])
			}
		}
		l.record = Ref{Object: d.string(was.record.Object), ID: d.string(was.record.ID)}
		l.passed = d.byte() == 1
		l.verifiedAt = d.varint()
		l.optionalMin = int(d.uvarint())
		if n := d.count(); n > 0 {
			l.questions = slices.Grow(l.questions, n)[:n]
			for j := range l.questions {
				q := &l.questions[j]
				field := q.field
				*q = question{}
				q.field = d.string(field)
				flags := d.byte()
				q.required, q.hasMAC = flags&1 != 0, flags&2 != 0
				q.modeIdx, q.matchIdx, q.revealIdx = d.byte(), d.byte(), d.byte()
				q.verdict = Verdict(d.byte())
				q.digits = uint16(min(d.uvarint(), 1<<16-1))
				if q.hasMAC {
					copy(q.mac[:], d.bytes(32))
				}
				if int(q.modeIdx) >= len(modes) || int(q.matchIdx) >= len(matchRules) ||
					int(q.revealIdx) >= len(reveals) || q.verdict > VerdictIncorrect {
					d.bad = true
				}
			}
		}
	}
	if d.bad || d.off != len(d.b) || s.phoneMatch > PhoneMatchSeveral || s.state < StateReason || s.state > StateDone || s.level > LevelCustomer {
		return errCorrupt
	}
	return nil
}

func boolByte(v bool) byte {
	if v {
		return 1
	}
	return 0
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// decoder reads an encoded session; after the first malformed read it returns zero values
// and sets bad.
type decoder struct {
	b   []byte
	off int
	bad bool
	// copied is b as a string, made the first time a string read differs from the one it
	// replaces; the strings read share it.
	copied string
}

func (d *decoder) byte() byte {
	if d.off >= len(d.b) {
		d.bad = true
		return 0
	}
	d.off++
	return d.b[d.off-1]
}

func (d *decoder) uvarint() uint64 {
	var v uint64
	for shift := 0; shift < 64; shift += 7 {
		c := d.byte()
		v |= uint64(c&0x7f) << shift
		if c < 0x80 {
			return v
		}
	}
	d.bad = true
	return 0
}

func (d *decoder) varint() int64 {
	u := d.uvarint()
	return int64(u>>1) ^ -int64(u&1)
}

func (d *decoder) count() int {
	n := d.uvarint()
	if n > uint64(len(d.b)-d.off) { // every element takes at least one byte
		d.bad = true
		return 0
	}
	return int(n)
}

// bytes returns the next n bytes, which alias the data.
func (d *decoder) bytes(n int) []byte {
	if n < 0 || n > len(d.b)-d.off {
		d.bad = true
		return nil
	}
	d.off += n
	return d.b[d.off-n : d.off]
}

// string reads a length-prefixed string: old when it has the same bytes, else a part of the
// data's copy.
func (d *decoder) string(old string) string {
	n := int(min(d.uvarint(), uint64(len(d.b))))
	b := d.bytes(n)
	switch {
	case len(b) == 0:
		return ""
	case string(b) == old:
		return old
	}
	if d.copied == "" {
		d.copied = string(d.b)
	}
	return d.copied[d.off-n : d.off]
}
