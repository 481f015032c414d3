package graphiteweb

import (
	"strconv"
	"strings"
	"time"

	"metricsd/internal/target"
)

// Bounds of the times ParseTime returns: Python's datetime, which
// graphite-web computes with, spans years 1 to 9999; past them graphite
// fails, and so does ParseTime.
var (
	minTime = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)
	maxTime = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)
)

// ParseTime parses a from/until value of Graphite's render API, relative
// to now, as graphite-web's parseATTime does, in UTC (graphite-web uses its
// TIME_ZONE setting or a tz parameter; metricsd has neither):
//
//   - "now", or "" (which graphite-web also reads as now);
//   - Unix seconds: "1500000000" (an 8-digit number that reads as a date,
//     such as "20240101", is the date instead, as in graphite-web);
//   - an offset from now: "-1h", "-15min", "-7d", "+1w", "-1h30min";
//     units s, min, h, d, w, mon (30 days), y (365 days), and any longer
//     spelling ("seconds", "minutes", "hours", ...);
//   - a reference, optionally followed by an offset ("now-1h",
//     "yesterday+3h"): today, yesterday, tomorrow, midnight, noon, teatime,
//     "HH:MM" (with am/pm), "Xam"/"Xpm", YYYYMMDD, MM/DD/YY[YY], a month
//     name and day ("jan5", "march 15"), a weekday name (the last one, or
//     today), or a time of day and a date ("04:00_20240101", Graphite's
//     HH:MM_YYYYMMDD).
//
// Case, spaces, commas and underscores are ignored. The error is a
// *QueryError.
func ParseTime(s string, now time.Time) (time.Time, error) {
	now = now.UTC()
	t, err := parseTime(s, now)
	if err != nil {
		return time.Time{}, queryErrorf("invalid time %q: %v", s, err)
	}
	if t.Before(minTime) || t.After(maxTime) {
		return time.Time{}, queryErrorf("invalid time %q: out of range", s)
	}
	return t, nil
}

// timeError is a reason a time can't be parsed; ParseTime wraps it with
// the input.
type timeError string

// Error returns the reason.
func (e timeError) Error() string { return string(e) }

func parseTime(s string, now time.Time) (time.Time, error) {
	s = strings.NewReplacer("_", "", ",", "", " ", "").Replace(strings.ToLower(strings.TrimSpace(s)))
	if isDigits(s) && !looksLikeDate(s) {
		secs, err := strconv.ParseInt(s, 10, 64)
		if err != nil || secs > maxTime.Unix() {
			return time.Time{}, timeError("timestamp out of range")
		}
		return time.Unix(secs, 0).UTC(), nil
	}
	ref, offset := s, ""
	if i := strings.IndexByte(s, '+'); i >= 0 {
		ref, offset = s[:i], s[i:]
	} else if i := strings.IndexByte(s, '-'); i >= 0 {
		ref, offset = s[:i], s[i:]
	}
	t, err := parseReference(ref, now)
	if err != nil {
		return time.Time{}, err
	}
	secs, err := parseOffset(offset)
	if err != nil {
		return time.Time{}, err
	}
	return time.Unix(t.Unix()+secs, 0).UTC(), nil
}

// looksLikeDate reports whether an all-digit s is a YYYYMMDD date rather
// than Unix seconds, by graphite-web's rule.
func looksLikeDate(s string) bool {
	if len(s) != 8 {
		return false
	}
	y, _ := strconv.Atoi(s[:4])
	m, _ := strconv.Atoi(s[4:6])
	d, _ := strconv.Atoi(s[6:])
	return y > 1900 && m < 13 && d < 32
}

func isDigits(s string) bool {
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// parseReference parses the part of a time before its offset.
func parseReference(ref string, now time.Time) (time.Time, error) {
	if ref == "" || ref == "now" {
		return now, nil
	}
	hour, minute, rest, err := parseTimeOfDay(ref)
	if err != nil {
		return time.Time{}, err
	}
	y, m, d := now.Date()
	date := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	if rest != "" {
		if date, err = parseDay(rest, date); err != nil {
			return time.Time{}, err
		}
	}
	return date.Add(time.Duration(hour)*time.Hour + time.Duration(minute)*time.Minute), nil
}

// parseTimeOfDay takes a leading time of day off ref: "HH:MM" (with am or
// pm), "Xam", "Xpm", noon, midnight or teatime. Without one, the time is
// 00:00.
func parseTimeOfDay(ref string) (hour, minute int, rest string, err error) {
	if i := strings.IndexByte(ref, ':'); i > 0 && i < 3 {
		if hour, err = atoiRange(ref[:i], 0, 23); err != nil {
			return 0, 0, "", err
		}
		if minute, err = atoiRange(ref[i+1:min(i+3, len(ref))], 0, 59); err != nil {
			return 0, 0, "", err
		}
		ref = ref[min(i+3, len(ref)):]
		if strings.HasPrefix(ref, "am") {
			ref = ref[2:]
		} else if strings.HasPrefix(ref, "pm") {
			hour, ref = (hour+12)%24, ref[2:]
		}
	}
	for _, suffix := range []string{"am", "pm"} {
		if i := strings.Index(ref, suffix); i > 0 && i < 3 {
			if hour, err = atoiRange(ref[:i], 0, 23); err != nil {
				return 0, 0, "", err
			}
			if suffix == "pm" {
				hour = (hour + 12) % 24
			}
			ref = ref[i+2:]
		}
	}
	for _, named := range []struct {
		name string
		hour int
	}{{"noon", 12}, {"midnight", 0}, {"teatime", 16}} {
		if strings.HasPrefix(ref, named.name) {
			return named.hour, 0, ref[len(named.name):], nil
		}
	}
	return hour, minute, ref, nil
}

var (
	monthNames   = []string{"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}
	weekdayNames = []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"} // time.Weekday order
)

// parseDay parses the day part of a reference, relative to today's date.
func parseDay(ref string, today time.Time) (time.Time, error) {
	switch {
	case ref == "today":
		return today, nil
	case ref == "yesterday":
		return today.AddDate(0, 0, -1), nil
	case ref == "tomorrow":
		return today.AddDate(0, 0, 1), nil
	case strings.Count(ref, "/") == 2:
		return parseSlashDate(ref)
	case len(ref) == 8 && isDigits(ref):
		return makeDate(ref[:4], ref[4:6], ref[6:])
	}
	if len(ref) >= 3 {
		if i := indexOf(monthNames, ref[:3]); i >= 0 {
			return parseMonthDay(ref, i+1, today.Year())
		}
		if i := indexOf(weekdayNames, ref[:3]); i >= 0 {
			back := (int(today.Weekday()) - i + 7) % 7
			return today.AddDate(0, 0, -back), nil
		}
	}
	return time.Time{}, timeError("unknown day reference " + strconv.Quote(ref))
}

// parseSlashDate parses MM/DD/YY or MM/DD/YYYY; two-digit years are 1970
// to 2069, as in graphite-web.
func parseSlashDate(ref string) (time.Time, error) {
	parts := strings.Split(ref, "/")
	y, err := atoiRange(parts[2], 0, 9999)
	if err != nil {
		return time.Time{}, err
	}
	if y < 1900 {
		y += 1900
	}
	if y < 1970 {
		y += 100
	}
	return makeDate(strconv.Itoa(y), parts[0], parts[1])
}

// parseMonthDay parses "jan5", "january15": a month name and the day in
// its last one or two characters.
func parseMonthDay(ref string, month, year int) (time.Time, error) {
	day := ""
	switch {
	case isDigits(ref[len(ref)-2:]):
		day = ref[len(ref)-2:]
	case isDigits(ref[len(ref)-1:]):
		day = ref[len(ref)-1:]
	default:
		return time.Time{}, timeError("day of month required after month name")
	}
	return makeDate(strconv.Itoa(year), strconv.Itoa(month), day)
}

// makeDate checks and builds a date at 00:00 UTC.
func makeDate(year, month, day string) (time.Time, error) {
	y, err := atoiRange(year, 1, 9999)
	if err != nil {
		return time.Time{}, err
	}
	m, err := atoiRange(month, 1, 12)
	if err != nil {
		return time.Time{}, err
	}
	last := time.Date(y, time.Month(m)+1, 0, 0, 0, 0, 0, time.UTC).Day()
	d, err := atoiRange(day, 1, last)
	if err != nil {
		return time.Time{}, err
	}
	return time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC), nil
}

// atoiRange parses a decimal number between lo and hi.
func atoiRange(s string, lo, hi int) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || !isDigits(s) || n < lo || n > hi {
		return 0, timeError("bad number " + strconv.Quote(s))
	}
	return n, nil
}

func indexOf(list []string, s string) int {
	for i, x := range list {
		if x == s {
			return i
		}
	}
	return -1
}

// parseOffset parses a time offset ("-1h", "+2d", "1h30min") into
// seconds, with the engine's interval parser, so that render times and
// function intervals (summarize, timeShift) read units alike.
func parseOffset(s string) (int64, error) {
	n, err := target.ParseInterval(s)
	if err != nil {
		return 0, timeError(err.Error())
	}
	return n, nil
}
