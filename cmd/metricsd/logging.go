package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
)

// Values of the serve command's --log-format and --log-level.
var (
	logFormats = []string{"text", "json"}
	logLevels  = map[string]slog.Level{
		"debug": slog.LevelDebug,
		"info":  slog.LevelInfo,
		"warn":  slog.LevelWarn,
		"error": slog.LevelError,
	}
)

// addLogFlags adds --log-format and --log-level to fs. They are not Config
// fields: together they build Config.Logger (see newLogger).
func addLogFlags(fs *flag.FlagSet) {
	fs.String("log-format", "text", "log `format`: text (key=value) or json (one object a line)")
	fs.String("log-level", "info", "least `level` logged: debug, info, warn or error; "+
		"info logs start, stop and listen lines and warnings, never a line per request")
}

// newLogger builds the logger that fs's log flags ask for, writing to w.
func newLogger(fs *flag.FlagSet, w io.Writer) (*slog.Logger, error) {
	format := fs.Lookup("log-format").Value.String()
	level, ok := logLevels[fs.Lookup("log-level").Value.String()]
	if !ok {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", fs.Lookup("log-level").Value)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch format {
	case logFormats[0]:
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case logFormats[1]:
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want text or json", format)
}
