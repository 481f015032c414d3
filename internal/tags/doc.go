// Package tags holds carbon 1.1's tagged series names and graphite-web
// 1.1.8's tag expressions (issue #12, steps 4 and 5).
//
// A tagged name is "name;tag1=value1;tag2=value2" (carbon's own form) or
// "name{tag1=\"value1\",tag2=\"value2\"}" (the OpenMetrics form carbon also
// accepts). Carbon stores a tagged series under its normalized path: the
// metric name with leading "~" removed, then ";tag=value" for every tag
// other than "name", sorted as strings, the last of duplicated tags winning.
// Normalize computes that path, so two tag orders are one series.
//
// The rules are read from carbon/util.py (TaggedSeries.parse,
// validateTagAndValue, format) and graphite-web's graphite/tags/utils.py,
// base.py (parse_tagspec, auto-completion) and localdatabase.py (how
// seriesByTag's expressions select series). Where metricsd has to differ,
// the difference is named in the doc comment of the function that makes it,
// and in docs/graphite.md.
//
// The package is pure: no I/O, no state; the store owns the series and this
// package only reads their names.
package tags
