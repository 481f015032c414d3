package events

import (
	"slices"
	"strings"
	"unicode"
)

// parseTagInput is django-tagging's parse_tag_input (tagging/utils.py):
// the sorted, unique tag names of a tag string. Without commas or double
// quotes the string is split on spaces; otherwise double quotes group a
// name (which may hold commas and spaces), and the rest is split on commas
// if any comma is outside quotes, else on spaces. Each name is trimmed of
// whitespace; empty ones are dropped.
func parseTagInput(input string) []string {
	if input == "" {
		return nil
	}
	if !strings.ContainsAny(input, `,"`) {
		return uniqueSorted(splitStrip(input, " "))
	}
	var (
		words      []string
		buf        strings.Builder
		toSplit    []string
		looseComma bool
		openQuote  bool
	)
	rs := []rune(input)
	for i := 0; i < len(rs); i++ {
		c := rs[i]
		if c != '"' {
			if c == ',' {
				looseComma = true
			}
			buf.WriteRune(c)
			continue
		}
		if buf.Len() > 0 {
			toSplit = append(toSplit, buf.String())
			buf.Reset()
		}
		openQuote = true
		closed := false
		for i++; i < len(rs); i++ {
			if rs[i] == '"' {
				closed = true
				break
			}
			buf.WriteRune(rs[i])
		}
		if !closed {
			break // the input ended inside the quotes
		}
		if w := strings.TrimFunc(buf.String(), unicode.IsSpace); w != "" {
			words = append(words, w)
		}
		buf.Reset()
		openQuote = false
	}
	if buf.Len() > 0 {
		// An unclosed quote's text counts as unquoted.
		if openQuote && strings.Contains(buf.String(), ",") {
			looseComma = true
		}
		toSplit = append(toSplit, buf.String())
	}
	delim := " "
	if looseComma {
		delim = ","
	}
	for _, chunk := range toSplit {
		words = append(words, splitStrip(chunk, delim)...)
	}
	return uniqueSorted(words)
}

// splitStrip is django-tagging's split_strip: split on delim, trim
// whitespace, drop empty names.
func splitStrip(s, delim string) []string {
	var out []string
	for _, w := range strings.Split(s, delim) {
		if w = strings.TrimFunc(w, unicode.IsSpace); w != "" {
			out = append(out, w)
		}
	}
	return out
}

func uniqueSorted(words []string) []string {
	slices.Sort(words)
	return slices.Compact(words)
}
