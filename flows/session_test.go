package flows

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func fullSession() *session {
	s := &session{id: "SESSIONID", engagement: "0ZJ000000000001AAA", agent: "005000000000001AAA", initiating: Ref{Object: "Contact", ID: "003000000000001AAA"},
		preselected: true, newLead: true, reason: "Change of address", subject: SubjectOther, state: StateQuestions, level: LevelCustomer,
		cause: CauseRequiredIncorrect, retries: 1, started: -5, updated: 1 << 60, lockedUntil: 42}
	s.levels[0] = level{searchType: "representative", results: []string{"003000000000001AAA", "003000000000002AAA"},
		record: Ref{Object: "Contact", ID: "003000000000001AAA"}, passed: true, verifiedAt: 7, optionalMin: 1,
		questions: []question{{field: "Name", required: true, modeIdx: 1, matchIdx: 2, hasMAC: true,
			mac: [32]byte{1, 2, 3}, verdict: VerdictCorrect}}}
	s.levels[1] = level{searchType: "customer", record: Ref{Object: "Account", ID: "001000000000001AAA"},
		questions: []question{
			{field: "PersonBirthdate", required: true, matchIdx: 3, revealIdx: 1},
			{field: "Phone", modeIdx: 1, matchIdx: 4, digits: 6, hasMAC: true, mac: [32]byte{31: 9}, verdict: VerdictIncorrect},
		}}
	return s
}

func TestSessionRoundTrip(t *testing.T) {
	long := fullSession()
	long.reason = strings.Repeat("r", 300)
	long.retries = 1 << 40
	long.levels[1].questions[1].digits = 300
	for _, s := range []*session{fullSession(), long, {id: "x", state: StateReason}} {
		data := s.encode(nil)
		got, err := decodeSession(data)
		require.NoError(t, err)
		assert.Equal(t, s, got)
		assert.Equal(t, data, got.encode(nil))
		assert.Equal(t, len(data), s.encodedSize())
	}
}

// A session stored before the agent was kept (encoding 2) reads as one with no agent.
func TestDecodeEncodingTwo(t *testing.T) {
	s := fullSession()
	s.agent = ""
	data := s.encode(nil)
	// Encoding 2 is encoding 3 without the agent's string (one zero-length byte after the channel).
	at := 2 + stringSize(s.id) + stringSize(s.engagement) + stringSize(s.externalID) + stringSize(s.channel)
	require.Equal(t, byte(0), data[at])
	old := append([]byte{sessionMagic, sessionVersion2}, data[2:at]...)
	old = append(old, data[at+1:]...)
	got, err := decodeSession(old)
	require.NoError(t, err)
	assert.Equal(t, s, got)
}

func TestDecodeRejectsCorruptData(t *testing.T) {
	data := fullSession().encode(nil)
	for n := range len(data) {
		_, err := decodeSession(data[:n])
		require.ErrorIs(t, err, errCorrupt, "a session cut at %d bytes", n)
	}
	_, err := decodeSession(append(data, 0))
	require.ErrorIs(t, err, errCorrupt, "trailing bytes")
	r := rand.New(rand.NewPCG(1, 1))
	for range 20000 {
		mutated := append([]byte(nil), data...)
		for range 1 + r.IntN(4) {
			mutated[r.IntN(len(mutated))] = byte(r.IntN(256))
		}
		s, err := decodeSession(mutated) // must not panic
		if err == nil {
			assert.NotNil(t, s)
		}
	}
}

// A pooled session is decoded over whatever it held before: the result must be the same as a
// fresh decode, whichever strings were kept from the previous contents.
func TestDecodeOverPreviousSession(t *testing.T) {
	full := fullSession()
	other := fullSession()
	other.id, other.reason = "OTHERID", "Opening hours"
	other.levels[0].results = []string{"003000000000009AAA", "003000000000001AAA", "003000000000003AAA"}
	other.levels[1].questions = other.levels[1].questions[:1]
	other.levels[1].questions[0].field = "Name"
	sessions := []*session{full, {id: "x", state: StateReason}, other, full, full, other, long(), full}
	reused := &session{}
	for i, want := range sessions {
		data := want.encode(nil)
		require.NoError(t, reused.decode(data), "session %d", i)
		fresh, err := decodeSession(data)
		require.NoError(t, err)
		assert.Equal(t, fresh.encode(nil), reused.encode(nil), "session %d", i)
		assert.Equal(t, want.encode(nil), reused.encode(nil), "session %d", i)
		// Every field is encoded, so equal encodings are equal sessions (an empty slice where
		// a fresh decode has nil is the reuse, and encodes the same).
		assert.Equal(t, fresh.id, reused.id)
	}
}

func long() *session {
	s := fullSession()
	s.reason = strings.Repeat("r", 300)
	return s
}
