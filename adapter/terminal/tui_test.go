package terminal

import (
	"bytes"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
	"charm.land/huh/v2"
	"github.com/charmbracelet/x/ansi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The TUI's forms are driven as bubbletea models, key by key, without a terminal.

// press sends msgs to f; after Enter it runs the commands the form returns (a field's submit
// moves the form on through a command) until there are none or they fan out. Other keys' commands
// (a cursor's blink) are left alone.
func press(f *huh.Form, msgs ...tea.Msg) {
	for _, msg := range msgs {
		if keys, ok := msg.([]tea.Msg); ok {
			press(f, keys...)
			continue
		}
		_, cmd := f.Update(msg)
		if k, ok := msg.(tea.KeyPressMsg); !ok || k.Code != tea.KeyEnter {
			continue
		}
		for range 4 {
			if cmd == nil {
				break
			}
			next := cmd()
			if _, batch := next.(tea.BatchMsg); batch || next == nil {
				break
			}
			_, cmd = f.Update(next)
		}
	}
}

// typed is s typed key by key.
func typed(s string) tea.Msg {
	var keys []tea.Msg
	for _, r := range s {
		keys = append(keys, tea.KeyPressMsg{Code: r, Text: string(r)})
	}
	return keys
}

var (
	enter = tea.KeyPressMsg{Code: tea.KeyEnter}
	down  = tea.KeyPressMsg{Code: tea.KeyDown}
	ctrlC = tea.KeyPressMsg{Code: 'c', Mod: tea.ModCtrl}
)

func newTestTUI() *TUI { return NewTUI(&bytes.Buffer{}, &bytes.Buffer{}) }

func TestChooseForm(t *testing.T) {
	c := Choice{Title: "Who is the call about?", Note: "pick one", Options: []Option{
		{"The caller themself", "self"}, {"Someone else", "other"}, {"Cancel the verification", optCancel}}}
	var v string
	f := newTestTUI().chooseForm(c, &v)
	f.Update(f.Init())
	view := ansi.Strip(f.View())
	for _, s := range []string{"Who is the call about?", "pick one", "The caller themself", "Someone else", "Cancel the verification"} {
		assert.Contains(t, view, s)
	}
	press(f, down, enter)
	assert.Equal(t, "other", v)
	assert.Equal(t, huh.StateCompleted, f.State)
}

// A check-mode answer is masked on the screen, and still sent as typed.
func TestAskFormMasksSecrets(t *testing.T) {
	var v string
	f := newTestTUI().askForm(Question{Title: "Date of birth", Secret: true}, &v)
	f.Update(f.Init())
	press(f, typed("14/03/1980"))
	view := ansi.Strip(f.View())
	assert.Contains(t, view, "Date of birth")
	assert.NotContains(t, view, "14/03/1980")
	assert.NotContains(t, view, "1980")
	assert.Contains(t, view, "**********", "one mask character a typed one")
	press(f, enter)
	assert.Equal(t, "14/03/1980", v)
	assert.Equal(t, huh.StateCompleted, f.State)

	var plain string
	f = newTestTUI().askForm(Question{Title: "Search", Note: "keywords in Name"}, &plain)
	f.Update(f.Init())
	press(f, typed("Jane"))
	assert.Contains(t, ansi.Strip(f.View()), "Jane", "what is not secret is shown as typed")
}

// A required question is not submitted empty; an optional one is, and takes its default.
func TestAskFormRequired(t *testing.T) {
	var v string
	f := newTestTUI().askForm(Question{Title: "Phone"}, &v)
	f.Update(f.Init())
	press(f, enter)
	assert.NotEqual(t, huh.StateCompleted, f.State)
	assert.Contains(t, ansi.Strip(f.View()), "type a value")
	press(f, typed("+44"), enter)
	assert.Equal(t, huh.StateCompleted, f.State)

	var opt string
	f = newTestTUI().askForm(Question{Title: "Channel", Optional: true, Default: "Voice Call"}, &opt)
	f.Update(f.Init())
	press(f, enter)
	assert.Equal(t, huh.StateCompleted, f.State)
}

// Ctrl+C aborts a form: the flow cancels the session.
func TestFormAbort(t *testing.T) {
	var v string
	f := newTestTUI().chooseForm(Choice{Title: "Reason", Options: []Option{{"A", "a"}}}, &v)
	f.Update(f.Init())
	press(f, ctrlC)
	assert.Equal(t, huh.StateAborted, f.State)
}

// A whole prompt run as a program on keys read from a pipe: the secret answer is returned as
// typed, and neither the screen nor the trail shows it.
func TestAskRunsMasked(t *testing.T) {
	var out bytes.Buffer
	tui := NewTUI(strings.NewReader("14/03/1980\r"), &out)
	v, err := tui.Ask(t.Context(), Question{Title: "Date of birth", Secret: true})
	require.NoError(t, err)
	assert.Equal(t, "14/03/1980", v)
	assert.NotContains(t, out.String(), "1980")
	assert.Contains(t, ansi.Strip(out.String()), "› Date of birth ••••")
}

// A value from the server (a CRM field, a label) reaches the terminal without control
// characters or bidirectional overrides, and bounded.
func TestServerTextIsPrintable(t *testing.T) {
	hostile := "Jane\x1b]0;pwned\x07 Smith\x1b[2J\u202eevil\r\nnext\x9b31m"
	assert.Equal(t, "Jane]0;pwned Smith[2Jevil next31m", printable(hostile))
	assert.Equal(t, "plain · text ✓", printable("plain · text ✓"))
	long := printable(strings.Repeat("é", 2*maxShown))
	assert.Equal(t, maxShown+1, len([]rune(long)))

	var out bytes.Buffer
	s := NewScript(strings.NewReader("1\n"), &out)
	v, err := s.Choose(t.Context(), Choice{Title: hostile, Note: hostile, Options: []Option{{hostile, "id"}}})
	require.NoError(t, err)
	assert.Equal(t, "id", v)
	s.Say(SayInfo, hostile)
	assert.NotContains(t, out.String(), "\x1b")
	assert.NotContains(t, out.String(), "\u202e")

	var picked string
	f := newTestTUI().chooseForm(Choice{Title: hostile, Options: []Option{{hostile, "id"}}}, &picked)
	f.Update(f.Init())
	assert.NotContains(t, f.View(), "\x1b]0;pwned", "the view has the form's own escapes only")
	assert.NotContains(t, f.View(), "\u202e")
}
