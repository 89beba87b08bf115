package sqsapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"sluice/internal/auth"
	"sluice/internal/awsproto"
	"sluice/internal/event"
	"sluice/internal/queue"
)

// Config is what New needs.
type Config struct {
	Queues   *queue.Service
	Verifier *auth.Verifier
	// PublicURL is the base of the QueueUrls handed out
	// (SLUICE_PUBLIC_URL, or the listener's http://127.0.0.1:PORT).
	PublicURL string
	Logger    *slog.Logger
	// Registerer receives the handler's metrics (the server's registry).
	// Nil registers nothing.
	Registerer prometheus.Registerer
	// Lineage tells which invocation chain an access key's request belongs
	// to (a function instance's credentials); nil when there are no
	// functions. Messages a function sends carry it (loop detection).
	Lineage event.LineageSource
}

// Handler serves every request the server routes to SQS.
type Handler struct {
	q       *queue.Service
	verify  *auth.Verifier
	base    string // PublicURL without a trailing slash
	log     *slog.Logger
	metrics *awsproto.RequestMetrics
	lineage event.LineageSource // nil: no functions
}

// New returns the SQS handler.
func New(cfg Config) *Handler {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Handler{
		q: cfg.Queues, verify: cfg.Verifier, base: strings.TrimRight(cfg.PublicURL, "/"),
		log: cfg.Logger, metrics: newMetrics(cfg.Registerer), lineage: cfg.Lineage,
	}
}

// maxBody bounds a request body: a SendMessageBatch of ten 1 MiB
// messages is refused by the batch size check long before this, and the
// JSON and base64 forms of a 1 MiB message stay well under it.
const maxBody = 8 << 20

// call is one SQS request as the actions see it.
type call struct {
	r         *http.Request
	action    string
	json      bool   // AWS JSON 1.0; else the query protocol
	body      []byte // JSON document (for the query protocol, converted)
	pathQueue string // queue name from a query request's path, if any
	principal string // the caller, for SenderId
	accessKey string // the key that signed the request
	// lineage is the invocation chain of the function that made the
	// request, set by the send actions (withLineage); empty otherwise.
	lineage   event.Lineage
	requestID string
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	c := &call{r: r, requestID: awsproto.NewUUID()}
	rec := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	out, err := h.serve(rec, c)
	if err == nil && out != nil {
		err = h.writeOK(rec, c, out)
	}
	if err != nil {
		if !errors.Is(err, errWritten) {
			h.writeError(rec, c, toAPIError(err))
		}
	}
	action := c.action
	if _, ok := actions[action]; !ok {
		action = "Unknown" // bounded label values
	}
	code := rec.code
	if code == "" {
		code = "OK"
	}
	h.metrics.Observe(action, code, time.Since(start))
}

// readBody reads at most maxBody+1 bytes of the request body. With a
// Content-Length (every SDK sends one) it reads into one buffer of that
// size plus one byte, instead of io.ReadAll's doubling from 512 bytes.
func readBody(r *http.Request) ([]byte, error) {
	lr := io.LimitReader(r.Body, maxBody+1)
	if n := r.ContentLength; n > 0 && n <= maxBody {
		buf := make([]byte, 0, n+1)
		for {
			m, err := lr.Read(buf[len(buf):cap(buf)])
			buf = buf[:len(buf)+m]
			if err == io.EOF {
				return buf, nil
			}
			if err != nil {
				return nil, err
			}
			if len(buf) == cap(buf) { // longer than declared: read the rest
				rest, err := io.ReadAll(lr)
				return append(buf, rest...), err
			}
		}
	}
	return io.ReadAll(lr)
}

// errWritten: the action wrote its response itself (ReceiveMessage).
var errWritten = errors.New("response written")

func (h *Handler) serve(w *statusWriter, c *call) (any, error) {
	r := c.r
	if target := r.Header.Get("X-Amz-Target"); target != "" {
		c.json = true
		prefix, action, _ := strings.Cut(target, ".")
		if prefix != "AmazonSQS" {
			return nil, newErr("InvalidAction", "The action %s is not valid for this endpoint.", target)
		}
		c.action = action
	}
	res, err := h.verify.Verify(r)
	if err != nil {
		if !c.json {
			c.action = queryAction(r)
		}
		return nil, err
	}
	c.principal = res.Principal
	c.accessKey = res.AccessKeyID
	if c.principal == "" {
		c.principal = res.AccessKeyID
	}
	body, err := readBody(r)
	if err != nil {
		return nil, newErr("InvalidParameterValue", "The request body could not be read.")
	}
	if len(body) > maxBody {
		return nil, newErr("RequestEntityTooLarge", "The request body is too large.")
	}
	if c.json {
		if len(bytes.TrimSpace(body)) == 0 {
			body = []byte("{}")
		}
		c.body = body
	} else {
		form, err := url.ParseQuery(r.URL.RawQuery)
		if err != nil {
			return nil, invalidParam("The query string could not be parsed.")
		}
		if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "application/x-www-form-urlencoded" {
			bodyForm, err := url.ParseQuery(string(body))
			if err != nil {
				return nil, invalidParam("The request body could not be parsed.")
			}
			for k, v := range bodyForm {
				form[k] = append(form[k], v...)
			}
		}
		c.action = form.Get("Action")
		if c.action == "" {
			return nil, missing("Action")
		}
		if c.body, err = formToJSON(form); err != nil {
			return nil, err
		}
		// Old clients POST to the queue's URL and may leave QueueUrl out.
		if parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/"); len(parts) == 2 {
			c.pathQueue = strings.Join(parts, "/")
		}
	}
	act, ok := actions[c.action]
	if !ok {
		return nil, newErr("InvalidAction", "The action %s is not valid for this endpoint.", c.action)
	}
	return act(h, w, c)
}

// withLineage sets c.lineage when a function instance made the request.
// Only the send actions ask: it takes the function service's lock, which
// the receive path has no reason to pay for.
func (h *Handler) withLineage(c *call) {
	if h.lineage == nil || c.accessKey == "" {
		return
	}
	if l, ok := h.lineage.Lineage(c.accessKey); ok {
		c.lineage = l
	}
}

func queryAction(r *http.Request) string {
	if a := r.URL.Query().Get("Action"); a != "" {
		return a
	}
	return ""
}

// decode reads the call's JSON document into v.
func (c *call) decode(v any) error {
	if err := json.Unmarshal(c.body, v); err != nil {
		var ue *json.UnmarshalTypeError
		if errors.As(err, &ue) {
			return invalidParam("Value for parameter %s is invalid.", ue.Field)
		}
		return invalidParam("The request body could not be parsed: %s", err.Error())
	}
	return nil
}

// queueName resolves a QueueUrl: the last two path segments are
// <account>/<name>; the host is ignored (clients put any host there).
func (h *Handler) queueName(c *call, queueURL string) (string, error) {
	if queueURL == "" {
		if c.pathQueue == "" {
			return "", missing("QueueUrl")
		}
		queueURL = "/" + c.pathQueue
	}
	path := queueURL
	if u, err := url.Parse(queueURL); err == nil {
		path = u.Path
	}
	parts := strings.Split(strings.Trim(path, "/"), "/")
	if len(parts) < 2 {
		return "", errNoSuchQueue()
	}
	acct, name := parts[len(parts)-2], parts[len(parts)-1]
	if acct != h.q.AccountID() || !queue.ValidName(name) {
		return "", errNoSuchQueue()
	}
	return name, nil
}

// queueURL is the URL of the queue called name.
func (h *Handler) queueURL(name string) string {
	return h.base + "/" + h.q.AccountID() + "/" + name
}

func (h *Handler) writeOK(w http.ResponseWriter, c *call, out any) error {
	hd := w.Header()
	hd.Set("x-amzn-RequestId", c.requestID)
	if c.json {
		var body []byte
		if f, ok := out.(jsonAppender); ok {
			body = f.appendJSON(make([]byte, 0, 128))
		} else {
			var err error
			if body, err = json.Marshal(out); err != nil {
				return err
			}
		}
		hd.Set("Content-Type", "application/x-amz-json-1.0")
		w.WriteHeader(http.StatusOK)
		if _, err := w.Write(body); err != nil {
			return errors.Join(errWritten, err)
		}
		return nil
	}
	var buf bytes.Buffer
	if err := renderQuery(&buf, c.action, out, c.requestID); err != nil {
		return err
	}
	hd.Set("Content-Type", "text/xml")
	w.WriteHeader(http.StatusOK)
	if _, err := w.Write(buf.Bytes()); err != nil {
		return errors.Join(errWritten, err)
	}
	return nil
}

func (h *Handler) writeError(w *statusWriter, c *call, e *apiError) {
	if e.Status >= 500 {
		h.log.Error("sqs request failed", "action", c.action, "code", e.Code, "message", e.Message)
	}
	hd := w.Header()
	hd.Set("x-amzn-RequestId", c.requestID)
	w.code = e.Code
	if c.json {
		hd.Set("Content-Type", "application/x-amz-json-1.0")
		fault := "Sender"
		if e.Receiver {
			fault = "Receiver"
		}
		hd.Set("x-amzn-query-error", e.Code+";"+fault)
		w.WriteHeader(e.Status)
		body, _ := json.Marshal(struct {
			Type    string `json:"__type"`
			Message string `json:"message"`
		}{e.jsonType(), e.Message})
		w.Write(body)
		return
	}
	hd.Set("Content-Type", "text/xml")
	w.WriteHeader(e.Status)
	renderQueryError(w, e, c.requestID)
}

// statusWriter remembers the status and the error code for metrics.
type statusWriter struct {
	http.ResponseWriter
	status int
	code   string
}

func (s *statusWriter) WriteHeader(code int) {
	s.status = code
	if s.code == "" && code < 300 {
		s.code = "OK"
	}
	s.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the connection.
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// clientGone reports whether the request's client went away.
func clientGone(ctx context.Context) bool { return ctx.Err() != nil }
