package graphiteweb

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"metricsd/internal/protocol"
)

// JSON is written by hand, by appending, in graphite-web's exact layout
// (Python's json.dumps: ", " and ": " separators, non-ASCII escaped), so
// that a render streams without building the answer and without
// reflection.

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string, escaped as Python's
// json.dumps does by default (ensure_ascii): quotes, backslashes and
// control characters, and every non-ASCII character as \uXXXX (a surrogate
// pair past U+FFFF). Invalid UTF-8 becomes U+FFFD.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c < utf8.RuneSelf && c != '"' && c != '\\' {
			dst = append(dst, c)
			i++
			continue
		}
		if c < utf8.RuneSelf {
			dst = appendEscapedASCII(dst, c)
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		i += n
		if r >= 0x10000 {
			r -= 0x10000
			dst = appendUnicodeEscape(dst, 0xd800+(r>>10))
			r = 0xdc00 + (r & 0x3ff)
		}
		dst = appendUnicodeEscape(dst, r)
	}
	return append(dst, '"')
}

func appendEscapedASCII(dst []byte, c byte) []byte {
	switch c {
	case '"', '\\':
		return append(dst, '\\', c)
	case '\n':
		return append(dst, '\\', 'n')
	case '\r':
		return append(dst, '\\', 'r')
	case '\t':
		return append(dst, '\\', 't')
	case '\b':
		return append(dst, '\\', 'b')
	case '\f':
		return append(dst, '\\', 'f')
	}
	return appendUnicodeEscape(dst, rune(c))
}

func appendUnicodeEscape(dst []byte, r rune) []byte {
	return append(dst, '\\', 'u', hexDigits[r>>12&15], hexDigits[r>>8&15], hexDigits[r>>4&15], hexDigits[r&15])
}

// appendJSONValue appends a datapoint value: Python's repr of the float,
// or null for NaN and ±Inf, which JSON can't hold (graphite-web writes
// Infinity as 1e9999; metricsd writes null so that no client chokes).
func appendJSONValue(dst []byte, v float64) []byte {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return append(dst, "null"...)
	}
	return protocol.AppendFloat(dst, v)
}

// AppendTreeJSON appends the answer of /metrics/find in graphite-web's
// default "treejson" format: one object per distinct node name, branches
// first, then leaves, each sorted by name:
//
//	[{"text": "cpu", "id": "palm.cpu", "allowChildren": 0, "expandable": 0, "leaf": 1}]
//
// The id is the query up to its last dot followed by the name, as in
// graphite-web (so it keeps the query's wildcards). A name that is both a
// leaf and a branch somewhere is listed once, as a branch: Grafana can
// still select it, and can also expand it. wildcards adds graphite-web's
// "*" entry first when more than one node matched; leavesOnly keeps only
// leaves.
func AppendTreeJSON(dst []byte, nodes []Node, query string, wildcards, leavesOnly bool) []byte {
	base := ""
	if i := strings.LastIndexByte(query, '.'); i >= 0 {
		base = query[:i+1]
	}
	byName := make(map[string]bool) // name → is a branch
	var names []string
	matches, anyBranch := 0, false
	for _, n := range nodes {
		if leavesOnly && !n.Leaf {
			continue
		}
		branch := n.Branch && !leavesOnly
		matches += boolInt(n.Leaf) + boolInt(branch)
		anyBranch = anyBranch || branch
		if old, seen := byName[n.Name]; !seen {
			names = append(names, n.Name)
			byName[n.Name] = branch
		} else {
			byName[n.Name] = old || branch
		}
	}
	sortBranchesFirst(names, byName)
	dst = append(dst, '[')
	sep := ""
	if wildcards && matches > 1 {
		dst = appendTreeNode(dst, "*", base+"*", anyBranch)
		sep = ", "
	}
	for _, name := range names {
		dst = appendTreeNode(append(dst, sep...), name, base+name, byName[name])
		sep = ", "
	}
	return append(dst, ']')
}

// sortBranchesFirst orders names as graphite-web lists them.
func sortBranchesFirst(names []string, branch map[string]bool) {
	slices.SortFunc(names, func(a, b string) int {
		if branch[a] != branch[b] {
			if branch[a] {
				return -1
			}
			return 1
		}
		return strings.Compare(a, b)
	})
}

func appendTreeNode(dst []byte, text, id string, branch bool) []byte {
	dst = append(dst, `{"text": `...)
	dst = appendJSONString(dst, text)
	dst = append(dst, `, "id": `...)
	dst = appendJSONString(dst, id)
	flag := strconv.Itoa(boolInt(branch))
	dst = append(dst, `, "allowChildren": `+flag+`, "expandable": `+flag+`, "leaf": `+strconv.Itoa(1-boolInt(branch))+`}`...)
	return dst
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// AppendIndexJSON appends /metrics/index.json's answer: a JSON list of
// strings.
func AppendIndexJSON(dst []byte, keys []string) []byte {
	dst = append(dst, '[')
	for i, k := range keys {
		if i > 0 {
			dst = append(dst, ", "...)
		}
		dst = appendJSONString(dst, k)
	}
	return append(dst, ']')
}
