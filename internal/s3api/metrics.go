package s3api

import (
	"github.com/prometheus/client_golang/prometheus"

	"sluice/internal/awsproto"
)

// newMetrics is the handler's request series, on the server's own
// registry: by operation (as AWS names it) and HTTP status.
func newMetrics(reg prometheus.Registerer) *awsproto.RequestMetrics {
	return awsproto.NewRequestMetrics(reg, awsproto.RequestMetricsOpts{
		Service:      "s3",
		OpLabel:      "operation",
		CodeLabel:    "status",
		RequestsHelp: "S3 requests by operation (as AWS names it) and HTTP status.",
		DurationHelp: "Time to answer an S3 request, by operation.",
	})
}
