package conformance

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
)

// The replies every server gives.
const (
	ok    = "ok\n\n"
	wrong = "error\nwrong command\n\n"
)

// The reference server's quirks, as docs/protocol.md lists them under
// "Differences from the reference server".
const (
	noteBatch      = "the reference answers the lines of one segment with one combined reply"
	noteBatchError = "the reference answers a segment holding a bad line with one error and stores none of its lines"
	noteGetArgs    = "the reference takes everything after \"get \" as the key"
	noteSeparator  = "the reference needs exactly one space after the command"
	noteEmptyLine  = "the reference answers an empty line ok"
	noteUTF8       = "the reference never answers again after invalid UTF-8"
	noteTimestamp  = "the reference accepts any integer timestamp"
	noteLongLine   = "the reference has no line-length limit"
)

// check is one named conformance check.
type check struct {
	name  string
	about string
	run   func(p *probe)
}

// checks is every check, in the order they run: the course's acceptance
// flow first, then framing, replies, semantics and robustness.
func checks() []check {
	cs := []check{
		{"course/acceptance", "the course grader's flow: two clients, malformed commands, six puts, gets", checkAcceptance},
		{"framing/byte-by-byte", "requests sent one byte per segment", checkBytewise},
		{"framing/pipelined", "three requests in one segment get three replies, in order", checkPipelined},
		{"framing/pipelined-error", "a bad line among pipelined requests gets its own error; the others are carried out", checkPipelinedError},
		{"framing/crlf", "requests ending in \\r\\n", checkCRLF},
		{"framing/tab-separators", "tabs separate tokens, as in Python's str.split()", checkTabs},
		{"framing/get-double-space", "two spaces after get still name the key", checkGetDoubleSpace},
		{"framing/long-line", "a line over 64 KiB gets one error and the session goes on", checkLongLine},
		{"replies/empty-get", "a get of a key with no points is ok\\n\\n", checkEmptyGet},
	}
	for _, e := range errorCases() {
		cs = append(cs, check{"replies/error-" + e.name, fmt.Sprintf("%s is an error; nothing is stored; the session goes on", e.about), e.run})
	}
	for _, f := range []struct{ name, lit, repr string }{
		{"10", "10", "10.0"}, {"1e-05", "0.00001", "1e-05"}, {"4200000", "4200000", "4200000.0"},
		{"1e16", "1e16", "1e+16"}, {"nan", "nan", "nan"},
	} {
		cs = append(cs, check{"replies/float-" + f.name, fmt.Sprintf("a value put as %s is printed %s (Python's repr)", f.lit, f.repr), floatCheck(f.lit, f.repr)})
	}
	return append(cs,
		check{"semantics/last-write-wins", "a put to a stored (key, timestamp) replaces its value", checkLastWriteWins},
		check{"semantics/sorted-points", "a key's points come back in ascending timestamp order", checkSortedPoints},
		check{"semantics/key-order", "get * lists keys in first-insertion order", checkKeyOrder},
		check{"semantics/visibility", "a put answered ok is seen by a get on another connection", checkVisibility},
		check{"robustness/session-survives", "every kind of bad line is answered and the session goes on", checkSessionSurvives},
		check{"robustness/invalid-utf8", "invalid UTF-8 is an error and the session goes on", checkInvalidUTF8},
		check{"robustness/close-mid-line", "a client closing mid-line stores nothing of that line; the server goes on", checkCloseMidLine},
		check{"robustness/concurrent-clients", "50 clients at once, each putting and getting its own key", checkConcurrent},
	)
}

// put is a put request line.
func put(key, value, ts string) []byte { return []byte("put " + key + " " + value + " " + ts + "\n") }

// get is a get request line.
func get(key string) []byte { return []byte("get " + key + "\n") }

// points is an ok reply holding the lines "key value ts" of kvts triples.
func points(key string, vts ...string) string {
	var b strings.Builder
	b.WriteString("ok\n")
	for i := 0; i+1 < len(vts); i += 2 {
		b.WriteString(key + " " + vts[i] + " " + vts[i+1] + "\n")
	}
	b.WriteString("\n")
	return b.String()
}

func checkAcceptance(p *probe) {
	c1, c2 := p.dial(), p.dial()
	if c1 == nil || c2 == nil {
		return
	}
	k1, k2, k3 := p.key("k1"), p.key("k2"), p.key("k3")
	steps := []struct {
		s   *session
		req []byte
		ans string
	}{
		{c1, []byte("put " + k1 + " value\n"), wrong},
		{c2, []byte("get\n"), wrong},
		{c1, []byte("malformed command test\n"), wrong},
		{c1, put(k1, "0.25", "1"), ok},
		{c2, put(k1, "2.156", "2"), ok},
		{c1, put(k1, "0.35", "3"), ok},
		{c2, put(k2, "30", "4"), ok},
		{c1, put(k2, "40", "5"), ok},
		{c1, put(k2, "40", "5"), ok},
		{c1, get(k1), points(k1, "0.25", "1", "2.156", "2", "0.35", "3")},
		{c2, get(k2), points(k2, "30.0", "4", "40.0", "5")},
		{c2, get(k3), ok},
	}
	for _, st := range steps {
		if p.step(st.s, st.req, false, is(st.ans)) < 0 {
			return
		}
	}
	want := "ok\n" + k1 + " 0.25 1\n" + k1 + " 2.156 2\n" + k1 + " 0.35 3\n" +
		k2 + " 30.0 4\n" + k2 + " 40.0 5\n\n"
	p.getAll(c1, p.keyTag+".", want)
}

// getAll sends get * on s and checks that the reply is ok and that its
// lines of keys starting with prefix are exactly want's (other keys are
// the checked server's own data, or other runs').
func (p *probe) getAll(s *session, prefix, want string) {
	if err := s.send(p.ctx, get("*")); err != nil {
		p.fail([]byte(want), nil, err.Error())
		return
	}
	reply, err := s.reply(p.ctx)
	if err != nil {
		p.fail([]byte(want), reply, mismatchNote(err))
		return
	}
	mine, found := ownLines(reply, prefix)
	if !found || string(mine) != want {
		p.fail([]byte(want), mine, "get * (only this check's keys shown)")
		return
	}
	if p.status == Pass {
		p.expected, p.received = []byte(want), mine
	}
}

// ownLines is the reply to a get * cut down to the lines of keys that
// start with prefix: "ok\n", those lines, "\n". ok says whether the reply
// began with "ok\n".
func ownLines(reply []byte, prefix string) (mine []byte, ok bool) {
	rest, ok := bytes.CutPrefix(reply, []byte("ok\n"))
	mine = append(mine, "ok\n"...)
	for _, line := range bytes.SplitAfter(rest, []byte("\n")) {
		if bytes.HasPrefix(line, []byte(prefix)) && bytes.HasSuffix(line, []byte("\n")) {
			mine = append(mine, line...)
		}
	}
	return append(mine, '\n'), ok
}

func checkBytewise(p *probe) {
	s := p.dial()
	if s == nil {
		return
	}
	k := p.key("k")
	if p.step(s, put(k, "1.5", "10"), true, is(ok)) < 0 {
		return
	}
	p.step(s, get(k), true, is(points(k, "1.5", "10")))
}

func checkPipelined(p *probe) {
	s := p.dial()
	if s == nil {
		return
	}
	k := p.key("k")
	req := append(append(put(k, "1", "1"), put(k, "2", "2")...), get(k)...)
	p.step(s, req, false,
		is(ok+ok+points(k, "1.0", "1", "2.0", "2")),
		quirk(points(k, "1.0", "1", "2.0", "2"), noteBatch))
}

func checkPipelinedError(p *probe) {
	s := p.dial()
	if s == nil {
		return
	}
	k := p.key("k")
	req := append(append(put(k, "1", "1"), "bogus "+k+"\n"...), get(k)...)
	switch p.step(s, req, false, is(ok+wrong+points(k, "1.0", "1")), quirk(wrong, noteBatchError)) {
	case 0:
		p.step(s, get(k), false, is(points(k, "1.0", "1")))
	case 1:
		p.step(s, get(k), false, quirk(ok, noteBatchError))
	}
}

func checkCRLF(p *probe) {
	s := p.dial()
	if s == nil {
		return
	}
	k := p.key("k")
	if p.step(s, []byte("put "+k+" 2.5 3\r\n"), false, is(ok)) < 0 {
		return
	}
	p.step(s, []byte("get "+k+"\r\n"), false, is(points(k, "2.5", "3")))
}

func checkTabs(p *probe) {
	s := p.dial()
	if s == nil {
		return
	}
	k := p.key("k")
	switch p.step(s, []byte("put\t"+k+"\t1\t1\n"), false, is(ok), quirk(wrong, noteSeparator)) {
	case 0:
		p.step(s, get(k), false, is(points(k, "1.0", "1")))
	case 1:
		p.step(s, get(k), false, quirk(ok, noteSeparator))
	}
}

func checkGetDoubleSpace(p *probe) {
	s := p.dial()
	if s == nil {
		return
	}
	k := p.key("k")
	if p.step(s, put(k, "1", "1"), false, is(ok)) < 0 {
		return
	}
	p.step(s, []byte("get  "+k+"\n"), false, is(points(k, "1.0", "1")), quirk(ok, noteGetArgs))
}

func checkLongLine(p *probe) {
	s := p.dial()
	if s == nil {
		return
	}
	k := p.key("k")
	long := put(k+strings.Repeat("y", 70<<10), "1", "1")
	if p.step(s, long, false, is(wrong), quirk(ok, noteLongLine)) < 0 {
		return
	}
	if p.step(s, put(k, "1", "1"), false, is(ok)) < 0 {
		return
	}
	p.step(s, get(k), false, is(points(k, "1.0", "1")))
}

func checkEmptyGet(p *probe) {
	if s := p.dial(); s != nil {
		p.step(s, get(p.key("missing")), false, is(ok))
	}
}

// errorCase is one kind of malformed line.
type errorCase struct {
	name, about string
	run         func(p *probe)
}

// errorCases is every kind of malformed line: each must be answered
// wrong command, store nothing, and leave the session usable.
func errorCases() []errorCase {
	type bad struct {
		name, about string
		line        func(k string) string
		refAnswer   string // the reference's answer where it differs
		refStored   string // what the reference then returns for get k
		note        string
	}
	cases := []bad{
		{name: "unknown-command", about: "an unknown command (got k)", line: func(k string) string { return "got " + k + "\n" }},
		{name: "uppercase", about: "an upper-case command (PUT)", line: func(k string) string { return "PUT " + k + " 1 1\n" }},
		{name: "bare-get", about: "a bare get", line: func(string) string { return "get\n" }},
		{name: "get-two-keys", about: "a get with two keys", line: func(k string) string { return "get " + k + " other\n" },
			refAnswer: ok, note: noteGetArgs},
		{name: "put-too-few", about: "a put without a timestamp", line: func(k string) string { return "put " + k + " 1\n" }},
		{name: "put-too-many", about: "a put with 4 arguments", line: func(k string) string { return "put " + k + " 1 2 3\n" }},
		{name: "value", about: "a value that is not a number", line: func(k string) string { return "put " + k + " abc 1\n" }},
		{name: "value-hex", about: "a hexadecimal value (0x10)", line: func(k string) string { return "put " + k + " 0x10 1\n" }},
		{name: "timestamp-float", about: "a timestamp with a fraction (1.5)", line: func(k string) string { return "put " + k + " 1 1.5\n" }},
		{name: "timestamp-range", about: "a timestamp beyond 64 bits", line: func(k string) string { return "put " + k + " 1 9223372036854775808\n" },
			refAnswer: ok, refStored: "9223372036854775808", note: noteTimestamp},
		{name: "empty-line", about: "an empty line", line: func(string) string { return "\n" }, refAnswer: ok, note: noteEmptyLine},
		{name: "blank-line", about: "a line of whitespace", line: func(string) string { return " \t\r\n" }},
	}
	out := make([]errorCase, 0, len(cases))
	for _, c := range cases {
		out = append(out, errorCase{name: c.name, about: c.about, run: func(p *probe) {
			s := p.dial()
			if s == nil {
				return
			}
			k := p.key("k")
			answers := []answer{is(wrong)}
			if c.refAnswer != "" {
				answers = append(answers, quirk(c.refAnswer, c.note))
			}
			i := p.step(s, []byte(c.line(k)), false, answers...)
			switch {
			case i < 0:
			case i == 1 && c.refStored != "":
				p.step(s, get(k), false, quirk(points(k, "1.0", c.refStored), c.note))
			default:
				p.step(s, get(k), false, is(ok))
			}
		}})
	}
	return out
}

// sharedBadLines are malformed lines about key k that the reference
// server and metricsd both answer wrong command, one at a time.
func sharedBadLines(k string) []string {
	return []string{
		"got " + k + "\n", "PUT " + k + " 1 1\n", "get\n", "put " + k + " 1\n", "put " + k + " 1 2 3\n",
		"put " + k + " abc 1\n", "put " + k + " 0x10 1\n", "put " + k + " 1 1.5\n", " \t\r\n", "\r\n",
	}
}

// floatCheck puts lit and expects it printed as repr.
func floatCheck(lit, repr string) func(p *probe) {
	return func(p *probe) {
		s := p.dial()
		if s == nil {
			return
		}
		k := p.key("k")
		if p.step(s, put(k, lit, "1"), false, is(ok)) < 0 {
			return
		}
		p.step(s, get(k), false, is(points(k, repr, "1")))
	}
}

func checkLastWriteWins(p *probe) {
	s := p.dial()
	if s == nil {
		return
	}
	k := p.key("k")
	for _, req := range [][]byte{put(k, "1", "5"), put(k, "2", "5"), put(k, "3", "4")} {
		if p.step(s, req, false, is(ok)) < 0 {
			return
		}
	}
	p.step(s, get(k), false, is(points(k, "3.0", "4", "2.0", "5")))
}

func checkSortedPoints(p *probe) {
	s := p.dial()
	if s == nil {
		return
	}
	k := p.key("k")
	for _, req := range [][]byte{put(k, "3", "30"), put(k, "1", "10"), put(k, "2", "20")} {
		if p.step(s, req, false, is(ok)) < 0 {
			return
		}
	}
	p.step(s, get(k), false, is(points(k, "1.0", "10", "2.0", "20", "3.0", "30")))
}

func checkKeyOrder(p *probe) {
	s := p.dial()
	if s == nil {
		return
	}
	kb, ka, kc := p.key("b"), p.key("a"), p.key("c")
	for _, req := range [][]byte{put(kb, "1", "1"), put(ka, "1", "1"), put(kc, "1", "1"), put(kb, "2", "2")} {
		if p.step(s, req, false, is(ok)) < 0 {
			return
		}
	}
	want := "ok\n" + kb + " 1.0 1\n" + kb + " 2.0 2\n" + ka + " 1.0 1\n" + kc + " 1.0 1\n\n"
	p.getAll(s, p.keyTag+".", want)
}

func checkVisibility(p *probe) {
	s1, s2 := p.dial(), p.dial()
	if s1 == nil || s2 == nil {
		return
	}
	k := p.key("k")
	_ = p.step(s1, put(k, "7", "7"), false, is(ok)) >= 0 &&
		p.step(s2, get(k), false, is(points(k, "7.0", "7"))) >= 0 &&
		p.step(s2, put(k, "8", "8"), false, is(ok)) >= 0 &&
		p.step(s1, get(k), false, is(points(k, "7.0", "7", "8.0", "8"))) >= 0
}

func checkSessionSurvives(p *probe) {
	s := p.dial()
	if s == nil {
		return
	}
	k := p.key("k")
	for _, line := range sharedBadLines(k) {
		if p.step(s, []byte(line), false, is(wrong)) < 0 {
			return
		}
	}
	if p.step(s, put(k, "1", "1"), false, is(ok)) < 0 {
		return
	}
	p.step(s, get(k), false, is(points(k, "1.0", "1")))
}

func checkInvalidUTF8(p *probe) {
	s := p.dial()
	if s == nil {
		return
	}
	k := p.key("k")
	if p.step(s, put(k+"\xff\xfe", "1", "1"), false, is(wrong), quirk("", noteUTF8)) != 0 {
		return
	}
	if p.step(s, []byte("get "+k+"\xc3\n"), false, is(wrong)) < 0 {
		return
	}
	if p.step(s, put(k, "1", "1"), false, is(ok)) < 0 {
		return
	}
	p.step(s, get(k), false, is(points(k, "1.0", "1")))
}

func checkCloseMidLine(p *probe) {
	s1, s2 := p.dial(), p.dial()
	if s1 == nil || s2 == nil {
		return
	}
	k := p.key("k")
	if p.step(s1, put(k, "1", "1"), false, is(ok)) < 0 {
		return
	}
	partial := put(k, "2", "2")
	if err := s1.send(p.ctx, partial[:len(partial)-1]); err != nil {
		p.fail(nil, nil, err.Error())
		return
	}
	if err := s1.close(); err != nil {
		p.fail(nil, nil, fmt.Sprintf("close: %v", err))
		return
	}
	p.sessions = p.sessions[1:]
	if p.step(s2, get(k), false, is(points(k, "1.0", "1"))) < 0 {
		return
	}
	if s3 := p.dial(); s3 != nil {
		p.step(s3, get(k), false, is(points(k, "1.0", "1")))
	}
}

// concurrentClients and pointsPerClient size robustness/concurrent-clients.
const (
	concurrentClients = 50
	pointsPerClient   = 10
)

func checkConcurrent(p *probe) {
	var (
		mu    sync.Mutex
		first *probe // the first client that failed
		wg    sync.WaitGroup
	)
	for i := range concurrentClients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &probe{ctx: p.ctx, cfg: p.cfg, keyTag: p.keyTag}
			clientCheck(c, p.key(fmt.Sprintf("c%02d", i)))
			for _, s := range c.sessions {
				_ = s.close() // a failed close changes nothing for this check
			}
			mu.Lock()
			defer mu.Unlock()
			if c.status == Fail && first == nil {
				first = c
			}
		}()
	}
	wg.Wait()
	if first != nil {
		p.fail(first.expected, first.received, first.note)
		return
	}
	p.expected, p.received = nil, nil
}

// clientCheck is one client of robustness/concurrent-clients.
func clientCheck(p *probe, k string) {
	s := p.dial()
	if s == nil {
		return
	}
	vts := make([]string, 0, 2*pointsPerClient)
	for j := 1; j <= pointsPerClient; j++ {
		v, ts := fmt.Sprintf("%d.5", j), fmt.Sprint(j)
		if p.step(s, put(k, v, ts), false, is(ok)) < 0 {
			return
		}
		vts = append(vts, v, ts)
	}
	p.step(s, get(k), false, is(points(k, vts...)))
}
