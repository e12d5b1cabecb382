package terminal

import (
	"context"
	"errors"
	"io"
	"strings"

	"charm.land/huh/v2"
	"charm.land/lipgloss/v2"
)

// TUI is a Prompter for an agent at a terminal: each prompt is a huh form (a select to move
// through with the arrow keys or to filter by typing "/", an input masked for check-mode
// answers), and each answered prompt leaves one line behind, so the screen keeps the session's
// trail. Ctrl+C cancels the session.
type TUI struct {
	in  io.Reader
	out io.Writer
}

// The styles of the lines Say writes, by kind, and of the trail; written through
// lipgloss.Fprintln, which fits them to out's colour profile.
var (
	sayStyles = map[SayKind]lipgloss.Style{
		SayInfo:    lipgloss.NewStyle(),
		SayHeading: lipgloss.NewStyle().Bold(true).MarginTop(1),
		SayGood:    lipgloss.NewStyle().Bold(true).Foreground(lipgloss.Color("2")),
		SayBad:     lipgloss.NewStyle().Bold(true).Foreground(lipgloss.Color("1")),
	}
	trailStyle = lipgloss.NewStyle().Faint(true)
)

// NewTUI returns a TUI reading keys from in (a terminal) and drawing on out.
func NewTUI(in io.Reader, out io.Writer) *TUI { return &TUI{in: in, out: out} }

// chooseForm is the form of a Choice, writing the picked option's value to value.
func (t *TUI) chooseForm(c Choice, value *string) *huh.Form {
	opts := make([]huh.Option[string], len(c.Options))
	for i, o := range c.Options {
		opts[i] = huh.NewOption(printable(o.Label), o.Value)
	}
	return t.form(huh.NewSelect[string]().Title(printable(c.Title)).Description(printable(c.Note)).Options(opts...).Value(value))
}

// askForm is the form of a Question, writing what is typed to value: masked when the question
// is secret, refused empty unless it is optional.
func (t *TUI) askForm(q Question, value *string) *huh.Form {
	in := huh.NewInput().Title(printable(q.Title)).Description(printable(q.Note)).CharLimit(MaxScriptLine).Value(value)
	if q.Secret {
		in.EchoMode(huh.EchoModePassword)
	}
	in.Validate(func(s string) error {
		switch {
		case strings.TrimSpace(s) == "" && !q.Optional:
			return errors.New("type a value")
		case strings.TrimSpace(s) != "" && q.Validate != nil:
			return q.Validate(s)
		}
		return nil
	})
	return t.form(in)
}

func (t *TUI) form(field huh.Field) *huh.Form {
	return huh.NewForm(huh.NewGroup(field)).WithInput(t.in).WithOutput(t.out).WithShowHelp(true).WithTheme(formTheme)
}

// formTheme is huh's Base16 theme: the terminal's own 16 ANSI colours, which its palette fits
// to its background, light or dark. A theme for one background would need the terminal asked
// for its colour (OSC 11), and an answer read outside Bubble Tea's input loop; no form or
// command asks the terminal anything of the sort.
var formTheme = huh.ThemeFunc(huh.ThemeBase16)

// run runs f until it is submitted; Ctrl+C is ErrAborted.
func run(ctx context.Context, f *huh.Form) error {
	err := f.RunWithContext(ctx)
	if errors.Is(err, huh.ErrUserAborted) {
		return ErrAborted
	}
	return err
}

// Choose implements Prompter.
func (t *TUI) Choose(ctx context.Context, c Choice) (string, error) {
	var v string
	if err := run(ctx, t.chooseForm(c, &v)); err != nil {
		return "", err
	}
	for _, o := range c.Options {
		if o.Value == v {
			_, _ = lipgloss.Fprintln(t.out, trailStyle.Render("› "+printable(c.Title+": "+o.Label)))
		}
	}
	return v, nil
}

// Ask implements Prompter. A secret answer leaves a fixed mask in the trail, not its length.
func (t *TUI) Ask(ctx context.Context, q Question) (string, error) {
	var v string
	if err := run(ctx, t.askForm(q, &v)); err != nil {
		return "", err
	}
	if strings.TrimSpace(v) == "" {
		v = q.Default
	}
	shown := v
	if q.Secret {
		shown = "••••"
	}
	_, _ = lipgloss.Fprintln(t.out, trailStyle.Render("› "+printable(q.Title+" "+shown)))
	return v, nil
}

// Say implements Prompter.
func (t *TUI) Say(kind SayKind, text string) {
	_, _ = lipgloss.Fprintln(t.out, sayStyles[kind].Render(printable(text)))
}
