package metricsd

import (
	"time"

	"metricsd/internal/durable"
)

// RepairReport is what Repair did to a data directory: the records, points
// and bytes it dropped, where it moved them, and one line per action.
type RepairReport = durable.RepairReport

// Repair makes a data directory that a Server refused to start on (a
// damaged log record, a missing segment or snapshot, a damaged snapshot)
// start again. It runs offline: it takes the directory's lock and fails
// while a server holds it. Everything it drops is first copied into
// DIR/repair-<time>/; on a healthy directory it changes nothing
// (docs/operations.md has the advice for each startup error).
func Repair(dataDir string) (RepairReport, error) {
	return durable.Repair(dataDir, time.Now())
}
