// Package events holds Graphite events, the annotations Grafana draws
// (graphite-web's POST /events/ and GET /events/get_data, issue #12.4).
//
// An event is a time, a "what", free "data" text and tags. Events are kept
// in memory, sorted by time, and, when the server has a data directory, in
// an append-only file there ("events.jsonl"): one JSON object per line,
//
//	{"id":1,"when_us":1500000000000000,"what":"deploy","data":"v1","tags":"web prod"}
//
// written and fsynced before POST /events/ answers, and read back by Open,
// which the server calls once its data directory is recovered (NewFile
// itself does no I/O; until Open, Add and Find answer ErrNotOpen).
// A last line cut short by a crash (no "\n": a line is appended in one
// write) is a torn write: it is truncated away, and the bytes dropped are
// reported. Any complete line that is not an event stops the start with
// the file and offset (ErrCorrupt), as data there was acknowledged. The file is locked (flock) while open, so two
// servers never append to one file.
//
// Tag matching follows graphite-web 1.1.8 and django-tagging, which it uses:
// a tag string is split into tag names by django-tagging's parse_tag_input
// (spaces, or commas when there are any, double quotes grouping), while the
// "tags" list of an answer is the string split on whitespace, as
// graphite-web's Event.as_dict does; see Store.Find for the queries.
//
// The store is bounded: at most MaxEvents events (a POST past it is refused
// with ErrFull) and MaxEventBytes per event.
package events
