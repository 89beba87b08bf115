package s3api

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"sluice/internal/auth"
	"sluice/internal/awsproto"
	"sluice/internal/clock"
	"sluice/internal/event"
	"sluice/internal/object"
)

// Owner is the account that owns every bucket (Sluice has one account).
type Owner struct {
	ID          string // canonical id
	DisplayName string
}

// Config is what New needs.
type Config struct {
	Objects *object.Service
	// Notifications serves ?notification; nil answers NotImplemented.
	Notifications Notifications
	// Lineage tells which invocation chain an access key's request belongs
	// to (a function's session while it serves an invocation); nil: none.
	Lineage  event.LineageSource
	Verifier *auth.Verifier
	// Region is the one region this server serves (SLUICE_REGION); empty
	// means us-east-1.
	Region string
	// Domains are the base hosts for virtual-hosted style: Host
	// "<bucket>.<base>[:port]" names the bucket; any other Host is path
	// style.
	Domains []string
	Owner   Owner
	Clock   clock.Clock // nil means the wall clock
	Logger  *slog.Logger
	// Registerer receives the handler's metrics: the server's own registry,
	// never the global default. Nil registers nothing.
	Registerer prometheus.Registerer
}

// Handler serves every request the server routes to S3.
type Handler struct {
	cfg     Config
	domains []string // lower-cased base hosts
	metrics *awsproto.RequestMetrics
	log     *slog.Logger
	// copyBufs holds *[]byte buffers for copying blob bodies to clients.
	copyBufs sync.Pool
}

// New returns the S3 handler.
func New(cfg Config) *Handler {
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	h := &Handler{cfg: cfg, log: cfg.Logger, metrics: newMetrics(cfg.Registerer)}
	h.copyBufs.New = func() any {
		b := make([]byte, 32<<10)
		return &b
	}
	for _, d := range cfg.Domains {
		if d = strings.ToLower(strings.TrimSpace(d)); d != "" {
			h.domains = append(h.domains, d)
		}
	}
	return h
}

// request is one S3 request as the handlers see it.
type request struct {
	*http.Request
	bucket, key string
	hasKey      bool // the path names an object (even the key "" is not one)
	// hostBucket is the bucket a virtual-hosted style Host names, or ""
	// (path style): found once, since authentication needs it too.
	hostBucket string
	query      url.Values
	// body is the request body, wrapped with the payload verifier when the
	// client signed a hex x-amz-content-sha256.
	body      io.Reader
	requestID string
	hostID    string
	// ctx is the request's context with what the handler adds (the
	// origin of its object changes): kept here instead of in a copy of
	// the *http.Request that WithContext would allocate.
	ctx context.Context
}

// Context is the request's context; it shadows the embedded Request's.
func (r *request) Context() context.Context {
	if r.ctx == nil { // a request built by hand (tests)
		return r.Request.Context()
	}
	return r.ctx
}

func (r *request) target() target { return target{Bucket: r.bucket, Key: r.key} }

// ServeHTTP authenticates the request, picks the operation and answers.
func (h *Handler) ServeHTTP(w http.ResponseWriter, hr *http.Request) {
	start := h.cfg.Clock.Now()
	ctx := hr.Context()
	id, hostID := awsproto.RequestID(ctx)
	// The recorder, the request and both id header values in one
	// allocation: every request needs all of them.
	st := &served{
		rec: statusRecorder{ResponseWriter: w, status: http.StatusOK},
		req: request{Request: hr, body: hr.Body, requestID: id, hostID: hostID, ctx: ctx},
		ids: [2]string{id, hostID},
	}
	rec, req := &st.rec, &st.req
	// Canonical keys assigned directly: Header.Set would canonicalise the
	// lower-case names into a new string on every request.
	hd := rec.Header()
	hd["X-Amz-Request-Id"] = st.ids[0:1:1]
	hd["X-Amz-Id-2"] = st.ids[1:2:2]

	// Most requests (PUT and GET of an object) have no query: a nil
	// url.Values reads as empty and costs no map.
	if hr.URL.RawQuery != "" {
		req.query = hr.URL.Query()
	}
	req.hostBucket = h.hostBucket(hr.Host)
	req.bucket, req.key, req.hasKey = address(hr, req.hostBucket)
	op := route(req)
	defer func() {
		elapsed := h.cfg.Clock.Now().Sub(start)
		h.metrics.Observe(op.name, awsproto.StatusCode(rec.status), elapsed)
		// Checked first: building the arguments costs allocations on
		// every request even when the handler drops the record.
		if h.log.Enabled(hr.Context(), slog.LevelDebug) {
			h.log.Debug("s3", "operation", op.name, "bucket", req.bucket, "key", req.key,
				"status", rec.status, "request_id", id, "duration", elapsed)
		}
	}()

	if err := h.serve(rec, req, op); err != nil {
		apiErr, clientFault := toAPIError(err, req.target())
		if !clientFault {
			h.log.Error("s3 request failed", "operation", op.name, "bucket", req.bucket, "key", req.key,
				"request_id", id, "err", err)
		}
		if rec.wrote {
			// The status line is gone (a GET whose body failed mid-stream):
			// all that is left is to cut the response short.
			panic(http.ErrAbortHandler)
		}
		writeError(rec, hr, apiErr, id, hostID)
	}
}

// serve runs authentication, the payload checks and the operation.
func (h *Handler) serve(w http.ResponseWriter, r *request, op operation) error {
	if err := checkHeaderSection(r.Request); err != nil {
		return err
	}
	if !op.formAuth {
		if err := h.authenticate(w, r, op); err != nil {
			return err
		}
	}
	if op.err != nil {
		return op.err
	}
	return op.serve(h, w, r)
}

// address finds the bucket and key of a request: hostBucket (what
// Handler.hostBucket found in the Host) when the request is
// virtual-hosted style, else the first path segment (path style). The key
// is the rest of the decoded path, byte for byte.
func address(r *http.Request, hostBucket string) (bucket, key string, hasKey bool) {
	path := r.URL.Path
	if hostBucket != "" {
		key = strings.TrimPrefix(path, "/")
		return hostBucket, key, key != ""
	}
	rest := strings.TrimPrefix(path, "/")
	bucket, key, hasKey = strings.Cut(rest, "/")
	// "/bucket/" is the bucket itself, as on S3.
	return bucket, key, hasKey && key != ""
}

// hostBucket returns the bucket named by a virtual-hosted style Host, or "".
func (h *Handler) hostBucket(host string) string {
	if hn, _, err := net.SplitHostPort(host); err == nil {
		host = hn
	}
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	for _, d := range h.domains {
		if b, ok := strings.CutSuffix(host, "."+d); ok && b != "" {
			return b
		}
	}
	return ""
}

// headerGet is hd.Get(name) for a name already in canonical form (a
// literal; TestHeaderLookupsCanonical checks them all): Header.Get
// canonicalises its argument on every call, a scan of the name that a
// small PUT paid a dozen times.
func headerGet(hd http.Header, name string) string {
	if v := hd[name]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// served is what ServeHTTP allocates for one request.
type served struct {
	rec statusRecorder
	req request
	ids [2]string // the x-amz-request-id and x-amz-id-2 header values
}

// statusRecorder remembers the status for metrics and whether the header
// was sent (an error after that cannot be reported in the body).
type statusRecorder struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (s *statusRecorder) WriteHeader(code int) {
	if !s.wrote {
		s.status, s.wrote = code, true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(p []byte) (int, error) {
	s.wrote = true
	return s.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the connection.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }
