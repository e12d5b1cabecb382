package terminal

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// MaxScriptLine bounds one line of a script.
const MaxScriptLine = 4096

// Script is a Prompter that reads the answers from r, one a line, in the order the prompts
// come, and writes plain prompts and information to w. A choice is answered by an option's
// value, its label (either case-insensitively) or its number; "#" starts a comment line, which
// is skipped. Nothing read is ever written back: a wrong line is reported by its number only.
type Script struct {
	in   *bufio.Scanner
	out  io.Writer
	line int
}

// NewScript returns a Script reading r and writing w.
func NewScript(r io.Reader, w io.Writer) *Script {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 256), MaxScriptLine)
	return &Script{in: sc, out: w}
}

// next returns the next line that is not a comment.
func (s *Script) next(ctx context.Context) (string, error) {
	for {
		if err := ctx.Err(); err != nil {
			return "", err
		}
		if !s.in.Scan() {
			if err := s.in.Err(); err != nil {
				return "", fmt.Errorf("reading the script after line %d: %w", s.line, err)
			}
			fmt.Fprintln(s.out, "(the script ended)")
			return "", ErrAborted
		}
		s.line++
		line := strings.TrimSpace(strings.TrimSuffix(s.in.Text(), "\r"))
		if !strings.HasPrefix(line, "#") {
			return line, nil
		}
	}
}

// Choose implements Prompter.
func (s *Script) Choose(ctx context.Context, c Choice) (string, error) {
	fmt.Fprintln(s.out, printable(c.Title))
	if c.Note != "" {
		fmt.Fprintln(s.out, "  "+printable(c.Note))
	}
	for i, o := range c.Options {
		fmt.Fprintf(s.out, "  %d. %s [%s]\n", i+1, printable(o.Label), printable(o.Value))
	}
	line, err := s.next(ctx)
	if err != nil {
		return "", err
	}
	for i, o := range c.Options {
		if strings.EqualFold(line, o.Value) || strings.EqualFold(line, o.Label) || line == strconv.Itoa(i+1) {
			fmt.Fprintf(s.out, "> %s\n", printable(o.Label))
			return o.Value, nil
		}
	}
	return "", fmt.Errorf("script line %d is none of the %d choices of %q", s.line, len(c.Options), c.Title)
}

// Ask implements Prompter. What is typed is not written back.
func (s *Script) Ask(ctx context.Context, q Question) (string, error) {
	title := printable(q.Title)
	if !strings.HasSuffix(title, "?") && !strings.HasSuffix(title, ":") {
		title += ":"
	}
	fmt.Fprintln(s.out, title)
	if q.Note != "" {
		fmt.Fprintln(s.out, "  "+printable(q.Note))
	}
	line, err := s.next(ctx)
	if err != nil {
		return "", err
	}
	if line == "" {
		if !q.Optional {
			return "", fmt.Errorf("script line %d is empty: %q needs a value", s.line, q.Title)
		}
		return q.Default, nil
	}
	if q.Validate != nil {
		if err := q.Validate(line); err != nil {
			return "", fmt.Errorf("script line %d does not answer %q: %w", s.line, q.Title, err)
		}
	}
	return line, nil
}

// Say implements Prompter.
func (s *Script) Say(_ SayKind, text string) { fmt.Fprintln(s.out, printable(text)) }
