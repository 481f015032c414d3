package graphiteweb

import (
	"strconv"
	"strings"

	"metricsd/internal/protocol"
)

// MaxDataPointsLimit caps maxDataPoints; Grafana asks for about one
// point per horizontal pixel.
const MaxDataPointsLimit = 1 << 20

func appendInt(dst []byte, i int64) []byte { return strconv.AppendInt(dst, i, 10) }

// appendCSVField appends s as Python's csv writer does (QUOTE_MINIMAL):
// quoted, with quotes doubled, only when it holds a comma, a quote or a
// line break.
func appendCSVField(dst []byte, s string) []byte {
	if !strings.ContainsAny(s, ",\"\r\n") {
		return append(dst, s...)
	}
	dst = append(dst, '"')
	dst = append(dst, strings.ReplaceAll(s, `"`, `""`)...)
	return append(dst, '"')
}

// appendCSVValue appends a value as Python's str(float): "nan" and "inf"
// stay as they are.
func appendCSVValue(dst []byte, v float64) []byte { return protocol.AppendFloat(dst, v) }
