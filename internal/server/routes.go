package server

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"sluice/internal/awsproto"
	"sluice/internal/lambdaapi"
	"sluice/internal/storage"
)

// routes is the one port's mux: Sluice's own endpoints under /_sluice/ (a
// bucket name cannot start with '_'), and every other request to the
// service DESIGN's rules pick for it.
func (s *Server) routes(s3, sqs http.Handler) http.Handler {
	metrics := promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{Registry: s.registry})
	return s.withRequestID(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/_sluice/") {
			switch r.URL.Path {
			case "/_sluice/metrics":
				metrics.ServeHTTP(w, r)
			case "/_sluice/health":
				s.health(w, r)
			default:
				if strings.HasPrefix(r.URL.Path, requestsPrefix) || r.URL.Path == deliveriesPath {
					s.serveNotifications(w, r)
					return
				}
				if strings.HasPrefix(r.URL.Path, lambdaapi.SluicePrefix) {
					s.lambda.ServeSluice(w, r)
					return
				}
				http.NotFound(w, r)
			}
			return
		}
		switch svc := awsproto.Detect(r); svc {
		case awsproto.S3:
			s3.ServeHTTP(w, r)
		case awsproto.SQS:
			sqs.ServeHTTP(w, r)
		case awsproto.Lambda:
			s.lambda.ServeHTTP(w, r)
		case awsproto.IAM, awsproto.STS:
			s.iam.ServeHTTP(w, r)
		default:
			awsproto.NotServed(w, r, svc)
		}
	}))
}

// withRequestID gives every request its ids once, so that handlers, error
// bodies and the access log all carry the same ones.
func (s *Server) withRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, hostID := awsproto.NewRequestIDs()
		r = r.WithContext(awsproto.WithRequestID(r.Context(), id, hostID))
		// The access log is at debug level: when that is off, skip the
		// status recorder, the clock and the boxed log arguments, which
		// every request would otherwise pay for.
		if !s.logger.Enabled(r.Context(), slog.LevelDebug) {
			next.ServeHTTP(w, r)
			return
		}
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		start := time.Now()
		next.ServeHTTP(rec, r)
		s.logger.Debug("request", "id", id, "method", r.Method, "path", r.URL.Path,
			"status", rec.status, "duration", time.Since(start), "remote", r.RemoteAddr)
	})
}

// health answers whether the server can read its metadata store.
func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	status, code := "ok", http.StatusOK
	if err := s.store.View(r.Context(), func(storage.ReadTx) error { return nil }); err != nil {
		status, code = "unavailable: "+err.Error(), http.StatusServiceUnavailable
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]string{"status": status, "region": s.cfg.Region})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the real writer (flushes,
// deadlines for long downloads).
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
