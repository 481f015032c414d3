package tags

import (
	"errors"
	"fmt"
	"testing"
)

// namesOf visits list as the store's key scan would, reusing one buffer so
// that a function keeping a name without copying it is caught.
func namesOf(list ...string) Names {
	return func(fn func([]byte) error) error {
		buf := make([]byte, 0, 64)
		for _, n := range list {
			buf = append(buf[:0], n...)
			if err := fn(buf); err != nil {
				return err
			}
			for i := range buf {
				buf[i] = '#' // clobber: what the callee kept must be a copy
			}
		}
		return nil
	}
}

var catalogNames = namesOf(
	"cpu;dc=eu;host=web01",
	"cpu;dc=us;host=web02",
	"disk;dc=eu;host=web01;mount=/",
	"plain.metric",
	"cpu;host=b;dc=eu", // not normalized: not in the tag database
	"",
)

func TestCatalog(t *testing.T) {
	check := func(name string, got any, err error, want string) {
		t.Helper()
		if err != nil || fmt.Sprint(got) != want {
			t.Errorf("%s = %v, %v; want %s", name, got, err, want)
		}
	}
	got, err := ListTags(catalogNames, "", NoLimit)
	check("ListTags", got, err, "[dc host mount name]")
	got, err = ListTags(catalogNames, "h|m", NoLimit)
	check("ListTags(h|m)", got, err, "[host mount]")
	got, err = ListTags(catalogNames, "", 2)
	check("ListTags(limit 2)", got, err, "[dc host]")
	vals, found, err := TagValues(catalogNames, "host", "", NoLimit)
	check("TagValues(host)", fmt.Sprint(vals, found), err, "[{web01 2} {web02 1}] true")
	vals, found, err = TagValues(catalogNames, "host", "x", NoLimit)
	check("TagValues(host, x)", fmt.Sprint(vals, found), err, "[] true")
	vals, found, err = TagValues(catalogNames, "rack", "", NoLimit)
	check("TagValues(rack)", fmt.Sprint(vals, found), err, "[] false")
	got, err = FindSeries(catalogNames, []string{"dc=eu"})
	check("FindSeries(dc=eu)", got, err, "[cpu;dc=eu;host=web01 disk;dc=eu;host=web01;mount=/]")
	got, err = AutoCompleteTags(catalogNames, []string{"name=cpu"}, "", DefaultAutoCompleteLimit)
	check("AutoCompleteTags(name=cpu)", got, err, "[dc host]")
	got, err = AutoCompleteTags(catalogNames, nil, "m", DefaultAutoCompleteLimit)
	check("AutoCompleteTags(m)", got, err, "[mount]")
	got, err = AutoCompleteValues(catalogNames, []string{"dc=eu"}, "name", "", DefaultAutoCompleteLimit)
	check("AutoCompleteValues(name; dc=eu)", got, err, "[cpu disk]")
	got, err = AutoCompleteValues(catalogNames, nil, "host", "web0", 1)
	check("AutoCompleteValues(host web0 limit 1)", got, err, "[web01]")
	got, err = AutoCompleteValues(catalogNames, []string{"name=cpu"}, "mount", "", 0)
	check("AutoCompleteValues(limit 0)", got, err, "[]")

	if _, err := FindSeries(catalogNames, []string{"dc!=eu"}); !errors.Is(err, ErrOnlyEmpty) {
		t.Errorf("FindSeries(dc!=eu): %v, want ErrOnlyEmpty", err)
	}
	if _, err := ListTags(catalogNames, "(", NoLimit); !errors.Is(err, ErrRegexp) {
		t.Errorf("ListTags((): %v, want ErrRegexp", err)
	}
	stop := errors.New("scan stopped")
	failing := func(fn func([]byte) error) error { return stop }
	for name, f := range map[string]func() error{
		"ListTags":           func() error { _, err := ListTags(failing, "", NoLimit); return err },
		"TagValues":          func() error { _, _, err := TagValues(failing, "a", "", NoLimit); return err },
		"FindSeries":         func() error { _, err := FindSeries(failing, []string{"a=b"}); return err },
		"AutoCompleteTags":   func() error { _, err := AutoCompleteTags(failing, nil, "", 1); return err },
		"AutoCompleteValues": func() error { _, err := AutoCompleteValues(failing, nil, "a", "", 1); return err },
	} {
		if err := f(); !errors.Is(err, stop) {
			t.Errorf("%s: %v, want the scan's error", name, err)
		}
	}
}
