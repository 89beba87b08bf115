package sqsapi

import (
	"github.com/prometheus/client_golang/prometheus"

	"sluice/internal/awsproto"
)

// newMetrics is the handler's request series, on the server's own
// registry: by action and result code (OK or the SQS error code).
func newMetrics(reg prometheus.Registerer) *awsproto.RequestMetrics {
	return awsproto.NewRequestMetrics(reg, awsproto.RequestMetricsOpts{
		Service:      "sqs",
		OpLabel:      "action",
		RequestsHelp: "SQS requests by action and result code (OK or the SQS error code).",
		DurationHelp: "Time to answer an SQS request, by action (long polls included).",
	})
}
