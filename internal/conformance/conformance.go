package conformance

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// Status is a check's verdict.
type Status int

// The verdicts.
const (
	Pass Status = iota // answered exactly as metricsd does
	Diff               // answered as the course's reference server does, where metricsd differs
	Fail               // anything else
)

// String is the verdict as printed: PASS, DIFF or FAIL.
func (s Status) String() string {
	switch s {
	case Pass:
		return "PASS"
	case Diff:
		return "DIFF"
	default:
		return "FAIL"
	}
}

// Result is one check's outcome. Expected and Received are the bytes of the
// exchange that decided it: for a PASS the last one, for a DIFF or FAIL the
// first that was not metricsd's answer.
type Result struct {
	Check    string // group/name, e.g. "replies/float-10"
	About    string // what the check verifies, one line
	Status   Status
	Expected []byte // metricsd's answer
	Received []byte // the server's
	Note     string // DIFF: the reference's quirk; FAIL: what went wrong
	Elapsed  time.Duration
}

// Config says which server to check and how.
type Config struct {
	// Addrs are the host:port of the server, or of several nodes of one
	// cluster: a check's sessions go to them in turn, each check starting
	// at the next one, so that a check's puts and gets cross nodes.
	Addrs   []string
	Prefix  string        // every key a check stores starts with it
	Timeout time.Duration // bound on each check
	// Quiet is how long silence must last to count as an answer: where
	// the reference server answers nothing, or after an answer that a
	// longer acceptable one would extend. A correct server never waits it.
	Quiet time.Duration
	// Only, when not empty, runs just the checks with these names.
	Only []string
}

// Defaults of Config.
const (
	DefaultPrefix  = "metricsd-check."
	DefaultTimeout = 5 * time.Second
	DefaultQuiet   = time.Second
)

// validate checks cfg once, where Run consumes it.
func (c Config) validate() error {
	if len(c.Addrs) == 0 || slices.Contains(c.Addrs, "") {
		return errors.New("conformance: no server address")
	}
	if c.Timeout <= 0 {
		return fmt.Errorf("conformance: timeout %v must be positive", c.Timeout)
	}
	if c.Quiet <= 0 || c.Quiet >= c.Timeout {
		return fmt.Errorf("conformance: quiet time %v must be positive and under the timeout %v", c.Quiet, c.Timeout)
	}
	if c.Prefix == "" {
		return errors.New("conformance: the key prefix must not be empty")
	}
	for _, r := range c.Prefix {
		if unicode.IsSpace(r) || !unicode.IsPrint(r) || r >= 0x80 {
			return fmt.Errorf("conformance: key prefix %q must be printable ASCII without spaces", c.Prefix)
		}
	}
	names := map[string]bool{}
	for _, ch := range checks() {
		names[ch.name] = true
	}
	for _, n := range c.Only {
		if !names[n] {
			return fmt.Errorf("conformance: no check named %q", n)
		}
	}
	return nil
}

// Names lists every check, in the order Run runs them.
func Names() []string {
	var out []string
	for _, ch := range checks() {
		out = append(out, ch.name)
	}
	return out
}

// Run runs the checks one after another and returns their results; it
// stops early, with the results so far, when ctx ends. The error is for a
// wrong Config only: a server that fails is a Result.
func Run(ctx context.Context, cfg Config) ([]Result, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	only := map[string]bool{}
	for _, n := range cfg.Only {
		only[n] = true
	}
	var results []Result
	for _, ch := range checks() {
		if len(only) > 0 && !only[ch.name] {
			continue
		}
		if ctx.Err() != nil {
			break
		}
		results = append(results, runOne(ctx, cfg, run, ch, len(results)))
	}
	return results, nil
}

// runOne runs one check under its own timeout; its first session goes to
// address number first (modulo their number).
func runOne(ctx context.Context, cfg Config, run string, ch check, first int) Result {
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	p := &probe{
		ctx:    ctx,
		cfg:    cfg,
		next:   first,
		keyTag: cfg.Prefix + run + "." + strings.ReplaceAll(ch.name, "/", "."),
	}
	start := time.Now()
	ch.run(p)
	for _, s := range p.sessions {
		if err := s.close(); err != nil && p.status != Fail {
			p.fail(nil, nil, fmt.Sprintf("close: %v", err))
		}
	}
	return Result{
		Check: ch.name, About: ch.about, Status: p.status,
		Expected: p.expected, Received: p.received, Note: p.note,
		Elapsed: time.Since(start),
	}
}

// probe is one running check: its sessions, and the verdict so far.
type probe struct {
	ctx      context.Context
	cfg      Config
	keyTag   string
	sessions []*session
	next     int // the address of the next session, modulo len(cfg.Addrs)

	status             Status
	expected, received []byte
	note               string
}

// key is a key of this check and run: prefix, run token, check, name.
func (p *probe) key(name string) string { return p.keyTag + "." + name }

// dial opens a session, closed when the check ends; nil after a failure.
func (p *probe) dial() *session {
	addr := p.cfg.Addrs[p.next%len(p.cfg.Addrs)]
	p.next++
	s, err := dial(p.ctx, addr, p.cfg.Quiet)
	if err != nil {
		p.fail(nil, nil, err.Error())
		return nil
	}
	p.sessions = append(p.sessions, s)
	return s
}

// fail records a failure unless one is recorded already.
func (p *probe) fail(expected, received []byte, note string) {
	if p.status == Fail {
		return
	}
	p.status, p.expected, p.received, p.note = Fail, expected, received, note
}

// step sends req on s (byte by byte when bytewise) and waits for one of
// answers, answers[0] being metricsd's. It returns the index of the answer
// received, or -1 after recording the failure.
func (p *probe) step(s *session, req []byte, bytewise bool, answers ...answer) int {
	send := s.send
	if bytewise {
		send = s.sendBytewise
	}
	if err := send(p.ctx, req); err != nil {
		p.fail(answers[0].want, nil, err.Error())
		return -1
	}
	return p.expect(s, answers...)
}

// expect is step without sending.
func (p *probe) expect(s *session, answers ...answer) int {
	i, got, err := s.await(p.ctx, answers)
	if err != nil {
		p.fail(answers[0].want, got, mismatchNote(err))
		return -1
	}
	a := answers[i]
	switch {
	case a.status == Diff && p.status == Pass:
		p.status, p.expected, p.received, p.note = Diff, answers[0].want, got, a.note
	case p.status == Pass:
		p.expected, p.received = a.want, got
	}
	return i
}

// mismatchNote says why a reply matched nothing.
func mismatchNote(err error) string {
	switch {
	case errors.Is(err, errMismatch):
		return "unexpected reply"
	case errors.Is(err, context.DeadlineExceeded), isTimeout(err):
		return "no (complete) reply before the check's timeout"
	default:
		return err.Error()
	}
}
