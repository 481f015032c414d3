package tags

import (
	"fmt"
	"testing"
)

// benchNames returns n normalized names shaped like a fleet: 20 metrics
// over n/20 hosts in 10 dcs.
func benchNames(n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = fmt.Appendf(nil, "metric%02d;dc=dc%d;host=host%05d;rack=r%d", i%20, i%10, i/20, i%7)
	}
	return out
}

func namesFrom(list [][]byte) Names {
	return func(fn func([]byte) error) error {
		for _, n := range list {
			if err := fn(n); err != nil {
				return err
			}
		}
		return nil
	}
}

// BenchmarkTagScan measures what a tag request costs per stored key: the
// scan behind /tags/autoComplete/* and /tags/findSeries (docs/graphite.md).
func BenchmarkTagScan(b *testing.B) {
	const n = 100_000
	names := namesFrom(benchNames(n))
	for _, bc := range []struct {
		name string
		run  func() error
	}{
		{"AutoCompleteTags/no_expr", func() error { _, err := AutoCompleteTags(names, nil, "", DefaultAutoCompleteLimit); return err }},
		{"AutoCompleteValues/expr", func() error {
			_, err := AutoCompleteValues(names, []string{"name=metric03"}, "host", "", DefaultAutoCompleteLimit)
			return err
		}},
		{"FindSeries/regex", func() error { _, err := FindSeries(names, []string{"name=metric03", "host=~host0001"}); return err }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := bc.run(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/key")
		})
	}
}
