package graphiteweb

import (
	"strings"
	"testing"
)

func TestParseSchemas(t *testing.T) {
	s := mustSchemas(t, `# carbon's own example, comments and all
[carbon]
pattern = ^carbon\.
retentions = 60:90d

; a second comment style
[course]
pattern = ^course\.
retentions = 1s:1d,1m:30d

[hourly]
pattern = \.hourly$
retentions = 1h:5y

[weekly]
pattern = weekly
retentions = 1w:10y

[default_1min_for_1day]
pattern = .*
retentions = 10seconds:1d
`)
	for key, want := range map[string]int64{
		"carbon.agents.a.cpu": 60, "course.x": 1, "web.load.hourly": 3600, "x.weekly.y": 7 * 86400, "anything": 10,
	} {
		if got, ok := s.Step(key); !ok || got != want {
			t.Errorf("Step(%q) = %d, %v; want %d", key, got, ok, want)
		}
	}
	none := mustSchemas(t, "[a]\npattern = ^a\\.\nretentions = 10s:1d\n")
	if _, ok := none.Step("b.c"); ok {
		t.Error("a key no rule matches got a step")
	}
	var nilSchemas *Schemas
	if _, ok := nilSchemas.Step("x"); ok {
		t.Error("nil schemas gave a step")
	}
	for _, bad := range []string{
		"[a]\npattern = (\nretentions = 10s:1d\n",
		"[a]\npattern = .*\n",
		"[a]\nretentions = 10s:1d\n",
		"[a]\npattern = .*\nretentions = 10x:1d\n",
		"[a]\npattern = .*\nretentions = 0:1d\n",
		"[a]\npattern = .*\nretentions = 10s\n",
		"pattern = .*\n",
		"[a\npattern = .*\n",
		"[a]\nnonsense\n",
	} {
		if _, err := ParseSchemas(strings.NewReader(bad)); err == nil {
			t.Errorf("ParseSchemas(%q) succeeded", bad)
		}
	}
}

func FuzzParseSchemas(f *testing.F) {
	f.Add("[a]\npattern = ^a\\.\nretentions = 10s:1d,1m:30d\n")
	f.Add("[b]\npattern = .*\nretentions = 60:1440\n")
	f.Fuzz(func(t *testing.T, text string) {
		s, err := ParseSchemas(strings.NewReader(text))
		if err != nil {
			return
		}
		for _, key := range []string{"a.b", "", "x"} {
			if step, ok := s.Step(key); ok && step <= 0 {
				t.Fatalf("Step(%q) = %d", key, step)
			}
		}
	})
}
