// Package lambdaapi is the Lambda control plane edge: the REST-JSON API
// (aws-wire section 2: paths under /2015-03-31, /2017-10-31, /2019-09-30,
// /2017-03-31, /2016-08-19 and /2024-08-31) as the AWS CLI, boto3 and
// aws-sdk-go-v2 call it, mapped onto internal/function. It also serves
// Sluice's own function endpoints under /_sluice/functions/ (the code
// download GetFunction points at, and the log stream `sluice logs`
// reads), which take the root credentials only.
package lambdaapi

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"sluice/internal/auth"
	"sluice/internal/awsproto"
	"sluice/internal/clock"
	"sluice/internal/event"
	"sluice/internal/eventsource"
	"sluice/internal/function"
)

// ObjectReader reads a function package from Sluice's own S3 (CreateFunction
// and UpdateFunctionCode with S3Bucket/S3Key). It returns ErrNoSuchBucket or
// ErrNoSuchKey (possibly wrapped) when the object is not there, and at most
// max bytes (more is ErrObjectTooLarge).
type ObjectReader interface {
	ReadObject(ctx context.Context, bucket, key string, max int64) ([]byte, error)
}

// Errors an ObjectReader returns.
var (
	ErrNoSuchBucket   = errors.New("no such bucket")
	ErrNoSuchKey      = errors.New("no such key")
	ErrObjectTooLarge = errors.New("object too large")
)

// Config is what New needs.
type Config struct {
	Functions *function.Service
	// Mappings serves the event source mapping operations; nil answers
	// them NotImplemented.
	Mappings *eventsource.Service
	Verifier *auth.Verifier
	// Objects reads packages named by S3Bucket/S3Key; nil refuses them.
	Objects ObjectReader
	// Root are the root credentials: only they may use /_sluice/functions/,
	// and GetFunction's Code.Location is presigned with them.
	Root auth.Credentials
	// PublicURL is the base of Code.Location (SLUICE_PUBLIC_URL or the
	// listener's http://127.0.0.1:PORT).
	PublicURL string
	Clock     clock.Clock // presigning; nil = wall clock
	Logger    *slog.Logger
	// Registerer receives the handler's metrics; nil registers nothing.
	Registerer prometheus.Registerer
	// Lineage tells which invocation chain an access key's request belongs
	// to (a function instance's credentials); nil when no caller is a
	// function. An Invoke a function makes continues its chain, so a loop
	// through Invoke is stopped as Lambda stops it (DESIGN, Functions).
	Lineage event.LineageSource
}

// Handler serves the Lambda API and /_sluice/functions/.
type Handler struct {
	fn       *function.Service
	mappings *eventsource.Service
	verify   *auth.Verifier
	objects  ObjectReader
	root     auth.Credentials
	base     string
	clock    clock.Clock
	log      *slog.Logger
	metrics  *awsproto.RequestMetrics
	lineage  event.LineageSource // nil: no caller is a function
}

// New returns the Lambda handler.
func New(cfg Config) *Handler {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	return &Handler{fn: cfg.Functions, mappings: cfg.Mappings, verify: cfg.Verifier, objects: cfg.Objects, root: cfg.Root,
		base: strings.TrimRight(cfg.PublicURL, "/"), clock: cfg.Clock, log: cfg.Logger, metrics: newMetrics(cfg.Registerer),
		lineage: cfg.Lineage}
}

// call is one request as the operations see it.
type call struct {
	w         http.ResponseWriter
	r         *http.Request
	ctx       context.Context
	op        string
	segs      []string // path segments, unescaped
	requestID string
	caller    auth.Credentials
	status    int
}

// ServeHTTP implements http.Handler for the Lambda API.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	id, _ := awsproto.RequestID(r.Context())
	if id == "" || len(id) != 36 {
		id = awsproto.NewUUID() // Lambda's request ids are UUIDs
	}
	c := &call{w: w, r: r, ctx: r.Context(), requestID: id}
	c.segs = splitPath(r.URL.EscapedPath())
	op, handle := route(r.Method, c.segs)
	c.op = op
	code := "OK"
	err := func() error {
		res, err := h.verify.Verify(r)
		if err != nil {
			return err
		}
		c.caller = res.Credentials
		return handle(h, c)
	}()
	if err != nil {
		e := toAPIError(err)
		code = e.Code
		h.writeError(c, e)
	}
	h.metrics.Observe(op, code, time.Since(start))
}

func splitPath(escaped string) []string {
	parts := strings.Split(strings.Trim(escaped, "/"), "/")
	for i, p := range parts {
		if u, err := url.PathUnescape(p); err == nil {
			parts[i] = u
		}
	}
	return parts
}

type op func(h *Handler, c *call) error

// route picks the operation for a method and path (aws-wire 2.1). Each
// operation has its own date prefix; the SDKs send exactly these.
func route(method string, s []string) (string, op) {
	n := len(s)
	at := func(date string, parts ...string) bool {
		if n != len(parts)+1 || s[0] != date {
			return false
		}
		for i, p := range parts {
			if p != "*" && s[i+1] != p {
				return false
			}
		}
		return true
	}
	switch {
	case at("2015-03-31", "functions"):
		switch method {
		case http.MethodPost:
			return "CreateFunction", (*Handler).createFunction
		case http.MethodGet:
			return "ListFunctions", (*Handler).listFunctions
		}
	case at("2015-03-31", "functions", "*"):
		switch method {
		case http.MethodGet:
			return "GetFunction", (*Handler).getFunction
		case http.MethodDelete:
			return "DeleteFunction", (*Handler).deleteFunction
		}
	case at("2015-03-31", "functions", "*", "configuration"):
		switch method {
		case http.MethodGet:
			return "GetFunctionConfiguration", (*Handler).getFunctionConfiguration
		case http.MethodPut:
			return "UpdateFunctionConfiguration", (*Handler).updateFunctionConfiguration
		}
	case at("2015-03-31", "functions", "*", "code"):
		if method == http.MethodPut {
			return "UpdateFunctionCode", (*Handler).updateFunctionCode
		}
	case at("2015-03-31", "functions", "*", "invocations"):
		if method == http.MethodPost {
			return "Invoke", (*Handler).invoke
		}
	case at("2015-03-31", "functions", "*", "policy"):
		switch method {
		case http.MethodPost:
			return "AddPermission", (*Handler).addPermission
		case http.MethodGet:
			return "GetPolicy", (*Handler).getPolicy
		}
	case at("2015-03-31", "functions", "*", "policy", "*"):
		if method == http.MethodDelete {
			return "RemovePermission", (*Handler).removePermission
		}
	case at("2017-10-31", "functions", "*", "concurrency"):
		switch method {
		case http.MethodPut:
			return "PutFunctionConcurrency", (*Handler).putConcurrency
		case http.MethodDelete:
			return "DeleteFunctionConcurrency", (*Handler).deleteConcurrency
		}
	case at("2019-09-30", "functions", "*", "concurrency"):
		if method == http.MethodGet {
			return "GetFunctionConcurrency", (*Handler).getConcurrency
		}
	case at("2017-03-31", "tags", "*"):
		switch method {
		case http.MethodPost:
			return "TagResource", (*Handler).tagResource
		case http.MethodDelete:
			return "UntagResource", (*Handler).untagResource
		case http.MethodGet:
			return "ListTags", (*Handler).listTags
		}
	case at("2016-08-19", "account-settings"):
		if method == http.MethodGet {
			return "GetAccountSettings", (*Handler).getAccountSettings
		}
	case at("2014-11-13", "functions", "*", "invoke-async"):
		if method == http.MethodPost {
			return "InvokeAsync", (*Handler).invokeAsyncLegacy
		}
	case at("2019-09-25", "functions", "*", "event-invoke-config"):
		switch method {
		case http.MethodPut:
			return "PutFunctionEventInvokeConfig", (*Handler).putEventInvokeConfig
		case http.MethodPost:
			return "UpdateFunctionEventInvokeConfig", (*Handler).updateEventInvokeConfig
		case http.MethodGet:
			return "GetFunctionEventInvokeConfig", (*Handler).getEventInvokeConfig
		case http.MethodDelete:
			return "DeleteFunctionEventInvokeConfig", (*Handler).deleteEventInvokeConfig
		}
	case at("2019-09-25", "functions", "*", "event-invoke-config", "list"):
		if method == http.MethodGet {
			return "ListFunctionEventInvokeConfigs", (*Handler).listEventInvokeConfigs
		}
	case at("2024-08-31", "functions", "*", "recursion-config"):
		switch method {
		case http.MethodPut:
			return "PutFunctionRecursionConfig", (*Handler).putRecursionConfig
		case http.MethodGet:
			return "GetFunctionRecursionConfig", (*Handler).getRecursionConfig
		}
	case at("2015-03-31", "functions", "*", "versions"):
		switch method {
		case http.MethodPost:
			return "PublishVersion", (*Handler).publishVersion
		case http.MethodGet:
			return "ListVersionsByFunction", (*Handler).listVersions
		}
	case at("2015-03-31", "functions", "*", "aliases"):
		switch method {
		case http.MethodPost:
			return "CreateAlias", (*Handler).createAlias
		case http.MethodGet:
			return "ListAliases", (*Handler).listAliases
		}
	case at("2015-03-31", "functions", "*", "aliases", "*"):
		switch method {
		case http.MethodGet:
			return "GetAlias", (*Handler).getAlias
		case http.MethodPut:
			return "UpdateAlias", (*Handler).updateAlias
		case http.MethodDelete:
			return "DeleteAlias", (*Handler).deleteAlias
		}
	case n == 2 && s[0] == "2015-03-31" && s[1] == "event-source-mappings", n == 3 && s[0] == "2015-03-31" && s[1] == "event-source-mappings" && s[2] == "":
		switch method {
		case http.MethodPost:
			return "CreateEventSourceMapping", (*Handler).createMapping
		case http.MethodGet:
			return "ListEventSourceMappings", (*Handler).listMappings
		}
	case at("2015-03-31", "event-source-mappings", "*"):
		switch method {
		case http.MethodGet:
			return "GetEventSourceMapping", (*Handler).getMapping
		case http.MethodPut:
			return "UpdateEventSourceMapping", (*Handler).updateMapping
		case http.MethodDelete:
			return "DeleteEventSourceMapping", (*Handler).deleteMapping
		}
	case n >= 2 && s[0] == "2018-10-31" && s[1] == "layers":
		return "Layers", notYet("layers")
	case n >= 4 && s[0] == "2021-10-31" && s[1] == "functions" && s[3] == "url":
		return "FunctionUrl", notYet("function URLs")
	}
	return "Unknown", func(*Handler, *call) error {
		return newErr("UnknownOperationException", "Unknown operation %s %s", method, "/"+strings.Join(s, "/"))
	}
}

// notYet answers an operation Sluice knows but does not serve, clearly
// and in Lambda's error shape, so a tool that calls it reports why.
func notYet(what string) op {
	return func(*Handler, *call) error {
		return newErr("NotImplemented", "Sluice does not serve Lambda %s yet", what)
	}
}

// decode reads the JSON body into v. An empty body is an empty document.
func (c *call) decode(v any) error {
	body, err := io.ReadAll(io.LimitReader(c.r.Body, maxJSONBody+1))
	if err != nil {
		return newErr("InvalidRequestContentException", "Could not read request body: %s", err)
	}
	if len(body) > maxJSONBody {
		return newErr("RequestTooLargeException", "Request must be smaller than %d bytes for the %s operation", maxJSONBody, c.op)
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		return nil
	}
	if err := json.Unmarshal(body, v); err != nil {
		return newErr("InvalidRequestContentException", "Could not parse request body into json: %s", err)
	}
	return nil
}

// maxJSONBody bounds a control-plane body: CreateFunction with a 50 MB zip
// in base64 (4/3 larger) and its configuration.
const maxJSONBody = function.MaxZipSize/3*4 + 1<<20

// writeJSON answers status with v as JSON.
func (c *call) writeJSON(status int, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return err
	}
	h := c.w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Amzn-RequestId", c.requestID)
	c.status = status
	c.w.WriteHeader(status)
	c.w.Write(body)
	return nil
}

// writeEmpty answers status (204) with no body.
func (c *call) writeEmpty(status int) error {
	c.w.Header().Set("X-Amzn-RequestId", c.requestID)
	c.status = status
	c.w.WriteHeader(status)
	return nil
}

func (h *Handler) writeError(c *call, e *apiError) {
	if e.Status >= 500 && e.Code != "NotImplemented" {
		h.log.Error("lambda request failed", "op", c.op, "code", e.Code, "message", e.Message, "cause", e.cause)
	}
	hd := c.w.Header()
	hd.Set("Content-Type", "application/json")
	hd.Set("X-Amzn-RequestId", c.requestID)
	hd.Set("X-Amzn-ErrorType", e.Code)
	if e.Code == "TooManyRequestsException" {
		hd.Set("Retry-After", "1")
	}
	typ := "User"
	if e.Status >= 500 {
		typ = "Service"
	}
	body := map[string]string{"Type": typ, "Message": e.Message}
	if e.Reason != "" {
		body["Reason"] = e.Reason
	}
	raw, _ := json.Marshal(body)
	c.w.WriteHeader(e.Status)
	c.w.Write(raw)
}
