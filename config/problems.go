package config

import (
	"fmt"
	"strings"
)

// Problem is one thing wrong with a configuration: the key path (as written in the file, e.g.
// "search_types[1].optional_min") and what is wrong and what to do. Messages never contain a
// secret's value.
type Problem struct {
	Path    string
	Message string
}

// String returns "path: message".
func (p Problem) String() string {
	if p.Path == "" {
		return p.Message
	}
	return p.Path + ": " + p.Message
}

// Problems is every problem found in a configuration, in the order of the keys. It is the
// error Load, Validate and Policy return, so callers can inspect each problem with errors.As.
type Problems []Problem

// Error lists every problem, one a line.
func (ps Problems) Error() string {
	var b strings.Builder
	if len(ps) == 1 {
		b.WriteString("1 problem in the configuration:")
	} else {
		fmt.Fprintf(&b, "%d problems in the configuration:", len(ps))
	}
	for _, p := range ps {
		b.WriteString("\n  ")
		b.WriteString(p.String())
	}
	return b.String()
}

// err returns ps as an error, or nil when there is no problem.
func (ps Problems) err() error {
	if len(ps) == 0 {
		return nil
	}
	return ps
}

// add appends a problem at path with a formatted message.
func (ps *Problems) add(path, format string, args ...any) {
	*ps = append(*ps, Problem{Path: path, Message: fmt.Sprintf(format, args...)})
}
