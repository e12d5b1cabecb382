package main

import (
	"io"
	"log/slog"
	"os"

	"golang.org/x/term"

	"github.com/idverify/idverify/config"
)

// newLogger returns the logger log.level and log.format ask for, writing to w: format auto is
// text when w is a terminal and JSON otherwise (a file, a pipe, a container's log collector).
func newLogger(c config.Log, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(c.Level)) // config.Validate allows only debug, info, warn and error
	opts := &slog.HandlerOptions{Level: level}
	text := c.Format == "text"
	if c.Format == "auto" || c.Format == "" {
		f, ok := w.(*os.File)
		text = ok && term.IsTerminal(int(f.Fd()))
	}
	if text {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}
