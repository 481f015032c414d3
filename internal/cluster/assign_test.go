package cluster

import (
	"fmt"
	"slices"
	"testing"
)

func TestAssign(t *testing.T) {
	counts := func(plan []string) map[string]int {
		c := map[string]int{}
		for _, n := range plan {
			c[n]++
		}
		return c
	}
	f := func(name string, current, live []string, check func(plan []string) error) {
		t.Helper()
		plan := assign(current, live)
		if len(plan) != len(current) {
			t.Fatalf("%s: plan of %d partitions for %d", name, len(plan), len(current))
		}
		for p, n := range plan {
			if !slices.Contains(live, n) {
				t.Errorf("%s: partition %d planned for %q, not live", name, p, n)
			}
		}
		if err := check(plan); err != nil {
			t.Errorf("%s: %v (plan %v)", name, err, plan)
		}
	}
	even := func(parts int, live []string) func([]string) error {
		return func(plan []string) error {
			for n, c := range counts(plan) {
				if c < parts/len(live) || c > (parts+len(live)-1)/len(live) {
					return fmt.Errorf("%s has %d", n, c)
				}
			}
			return nil
		}
	}
	none := make([]string, 64)
	f("fresh, 3 nodes", none, []string{"a", "b", "c"}, even(64, []string{"a", "b", "c"}))
	f("fresh, 1 node", none, []string{"a"}, even(64, []string{"a"}))

	three := assign(none, []string{"a", "b", "c"})
	four := assign(three, []string{"a", "b", "c", "d"})
	f("join", three, []string{"a", "b", "c", "d"}, func(plan []string) error {
		moved := 0
		for p := range plan {
			if plan[p] != three[p] {
				moved++
				if plan[p] != "d" {
					return fmt.Errorf("partition %d moved to %s, not to the new node", p, plan[p])
				}
			}
		}
		if moved != 16 {
			return fmt.Errorf("%d partitions moved, want 16", moved)
		}
		return even(64, []string{"a", "b", "c", "d"})(plan)
	})
	f("leave", four, []string{"a", "b", "d"}, func(plan []string) error {
		for p := range plan {
			if four[p] != "c" && plan[p] != four[p] {
				return fmt.Errorf("partition %d moved from %s, which stayed", p, four[p])
			}
		}
		return even(64, []string{"a", "b", "d"})(plan)
	})
	dead := slices.Clone(three)
	f("owner not live", dead, []string{"a", "c"}, even(64, []string{"a", "c"}))
}
