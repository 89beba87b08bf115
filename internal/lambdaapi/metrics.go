package lambdaapi

import (
	"github.com/prometheus/client_golang/prometheus"

	"sluice/internal/awsproto"
)

// newMetrics is the handler's request series, on the server's own
// registry: by operation and result code (OK or the error code).
func newMetrics(reg prometheus.Registerer) *awsproto.RequestMetrics {
	return awsproto.NewRequestMetrics(reg, awsproto.RequestMetricsOpts{
		Service:      "lambda",
		OpLabel:      "operation",
		RequestsHelp: "Lambda API requests by operation and result code (OK or the error code).",
		DurationHelp: "Time to answer a Lambda API request, by operation (Invoke includes the function run).",
	})
}
