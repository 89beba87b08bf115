// Package iamapi is the IAM and STS edge: the query protocol (form
// requests with Action and Version 2010-05-08 for IAM, 2011-06-15 for STS;
// XML answers) for the parts of both that tools call before they use
// Lambda: roles with their attached and inline policies, and STS
// GetCallerIdentity. Roles are kept by internal/role; their policies are
// stored, not enforced.
package iamapi

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
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
	"sluice/internal/role"
)

// The XML namespaces of the two services' responses.
const (
	iamNS = "https://iam.amazonaws.com/doc/2010-05-08/"
	stsNS = "https://sts.amazonaws.com/doc/2011-06-15/"
)

// Sessions finds the assumed-role session of an access key (the
// function instances' credentials), for GetCallerIdentity.
type Sessions interface {
	Lookup(accessKeyID string) (role.Session, bool)
}

// Config is what New needs.
type Config struct {
	Roles    *role.Service
	Sessions Sessions // nil: only the root credentials are known
	Verifier *auth.Verifier
	// RootAccessKey is the account's root access key: GetCallerIdentity
	// reports arn:aws:iam::<account>:root for it.
	RootAccessKey string
	Logger        *slog.Logger
	// Registerer receives the handler's metrics; nil registers nothing.
	Registerer prometheus.Registerer
}

// Handler serves IAM and STS requests.
type Handler struct {
	roles    *role.Service
	sessions Sessions
	verify   *auth.Verifier
	rootKey  string
	log      *slog.Logger
	metrics  *metrics
}

// New returns the IAM and STS handler.
func New(cfg Config) *Handler {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Handler{roles: cfg.Roles, sessions: cfg.Sessions, verify: cfg.Verifier, rootKey: cfg.RootAccessKey,
		log: cfg.Logger, metrics: newMetrics(cfg.Registerer)}
}

// maxBody bounds a request form: the largest IAM input is a 10,240
// character policy, URL-encoded at most three times larger.
const maxBody = 256 << 10

// call is one request as the actions see it.
type call struct {
	ctx       context.Context
	service   string // "iam" or "sts"
	action    string
	form      url.Values
	caller    auth.Credentials
	requestID string
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	c := &call{ctx: r.Context(), requestID: awsproto.NewUUID(), service: serviceOf(r)}
	out, err := h.serve(r, c)
	code := "OK"
	if err != nil {
		e := toAPIError(err)
		code = e.Code
		h.writeError(w, c, e)
	} else {
		h.writeOK(w, c, out)
	}
	action := c.action
	if _, ok := actionsOf(c.service)[action]; !ok {
		action = "Unknown" // bounded label values
	}
	h.metrics.observe(c.service, action, code, time.Since(start))
}

// serviceOf is the service a request is for: its SigV4 scope, else its
// Version in the URL (serve also looks at the form body), else IAM.
func serviceOf(r *http.Request) string {
	if svc, _, ok := auth.ParseScope(r); ok && (svc == "iam" || svc == "sts") {
		return svc
	}
	if r.URL.Query().Get("Version") == "2011-06-15" {
		return "sts"
	}
	return "iam"
}

func (h *Handler) serve(r *http.Request, c *call) (any, error) {
	// The form is read before the signature is checked, so that even an
	// unsigned or badly signed request is answered in its own service's
	// namespace and counted under its action. The verifier hashes the
	// same bytes.
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return nil, validation("The request body could not be read.")
	}
	if len(body) > maxBody {
		return nil, &apiError{Code: "RequestEntityTooLarge", Status: http.StatusRequestEntityTooLarge, Message: "Request body is too large."}
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	form, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, validation("The query string could not be parsed.")
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "application/x-www-form-urlencoded" {
		bf, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, validation("The request body could not be parsed.")
		}
		for k, v := range bf {
			form[k] = append(form[k], v...)
		}
	}
	c.form = form
	c.action = form.Get("Action")
	if _, _, signed := auth.ParseScope(r); !signed && form.Get("Version") == "2011-06-15" {
		c.service = "sts"
	}
	res, err := h.verify.Verify(r)
	if err != nil {
		return nil, err
	}
	c.caller = res.Credentials
	if c.action == "" {
		return nil, &apiError{Code: "MissingAction", Status: http.StatusBadRequest, Message: "Missing Action"}
	}
	act, ok := actionsOf(c.service)[c.action]
	if !ok {
		version := "2010-05-08"
		if c.service == "sts" {
			version = "2011-06-15"
		}
		return nil, &apiError{Code: "InvalidAction", Status: http.StatusBadRequest,
			Message: fmt.Sprintf("Could not find operation %s for version %s", c.action, version)}
	}
	return act(h, c)
}

func actionsOf(service string) map[string]action {
	if service == "sts" {
		return stsActions
	}
	return iamActions
}

// response is the envelope of every successful answer:
// <ActionResponse xmlns=..><ActionResult>..</ActionResult><ResponseMetadata>..</ResponseMetadata></ActionResponse>.
// Actions without a result (DeleteRole) have no Result element.
type response struct {
	XMLName  xml.Name
	NS       string `xml:"xmlns,attr"`
	Result   any    `xml:",omitempty"`
	Metadata struct {
		RequestID string `xml:"RequestId"`
	} `xml:"ResponseMetadata"`
}

// result wraps an action's output in its <ActionResult> element.
type result struct {
	XMLName xml.Name
	Inner   any
}

func (r result) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	return e.EncodeElement(r.Inner, xml.StartElement{Name: r.XMLName})
}

func (h *Handler) writeOK(w http.ResponseWriter, c *call, out any) {
	resp := response{XMLName: xml.Name{Local: c.action + "Response"}, NS: namespace(c.service)}
	if out != nil {
		resp.Result = result{XMLName: xml.Name{Local: c.action + "Result"}, Inner: out}
	}
	resp.Metadata.RequestID = c.requestID
	var buf bytes.Buffer
	if err := xml.NewEncoder(&buf).Encode(resp); err != nil {
		h.writeError(w, c, internalError(err))
		return
	}
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("x-amzn-RequestId", c.requestID)
	w.WriteHeader(http.StatusOK)
	w.Write(buf.Bytes())
}

func namespace(service string) string {
	if service == "sts" {
		return stsNS
	}
	return iamNS
}

func (h *Handler) writeError(w http.ResponseWriter, c *call, e *apiError) {
	if e.Status >= 500 {
		h.log.Error(c.service+" request failed", "action", c.action, "code", e.Code, "message", e.Message, "cause", e.cause)
	}
	typ := "Sender"
	if e.Status >= 500 {
		typ = "Receiver"
	}
	type errElem struct {
		Type    string
		Code    string
		Message string
	}
	body, _ := xml.Marshal(struct {
		XMLName   xml.Name `xml:"ErrorResponse"`
		NS        string   `xml:"xmlns,attr"`
		Error     errElem
		RequestID string `xml:"RequestId"`
	}{NS: namespace(c.service), Error: errElem{typ, e.Code, e.Message}, RequestID: c.requestID})
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("x-amzn-RequestId", c.requestID)
	w.WriteHeader(e.Status)
	w.Write(body)
}

// apiError is an IAM or STS error as the query protocol renders it.
type apiError struct {
	Code    string
	Status  int
	Message string
	cause   error
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

func validation(msg string) *apiError {
	return &apiError{Code: "ValidationError", Status: http.StatusBadRequest, Message: msg}
}

// missing is IAM's answer to a required parameter left out (a Coral
// validation error, as real IAM sends it).
func missing(field string) *apiError {
	return validation(fmt.Sprintf("1 validation error detected: Value null at '%s' failed to satisfy constraint: Member must not be null", field))
}

func internalError(err error) *apiError {
	return &apiError{Code: "ServiceFailure", Status: http.StatusInternalServerError,
		Message: "The request processing has failed because of an unknown error, exception or failure.", cause: err}
}

// errTable holds the status of each IAM error code (IAM API reference,
// "Errors" of each action).
var errTable = map[string]int{
	"NoSuchEntity":            http.StatusNotFound,
	"EntityAlreadyExists":     http.StatusConflict,
	"DeleteConflict":          http.StatusConflict,
	"LimitExceeded":           http.StatusConflict,
	"MalformedPolicyDocument": http.StatusBadRequest,
	"InvalidInput":            http.StatusBadRequest,
	"ValidationError":         http.StatusBadRequest,
}

func newErr(code, format string, args ...any) *apiError {
	return &apiError{Code: code, Status: errTable[code], Message: fmt.Sprintf(format, args...)}
}

// roleError maps a role domain error to IAM's error for an action on the
// role called name (and, for policy errors, the policy named policy).
func roleError(err error, name, policy string, attached bool) error {
	var (
		ve   *role.ValidationError
		mal  *role.MalformedPolicyError
		inv  *role.InvalidInputError
		lim  *role.LimitError
		conf *role.ConflictError
	)
	switch {
	case errors.Is(err, role.ErrNoSuchRole):
		return newErr("NoSuchEntity", "The role with name %s cannot be found.", name)
	case errors.Is(err, role.ErrExists):
		return newErr("EntityAlreadyExists", "Role with name %s already exists.", name)
	case errors.Is(err, role.ErrNoSuchPolicy) && attached:
		return newErr("NoSuchEntity", "Policy %s was not found.", policy)
	case errors.Is(err, role.ErrNoSuchPolicy):
		return newErr("NoSuchEntity", "The role policy with name %s cannot be found.", policy)
	case errors.As(err, &ve):
		return newErr("ValidationError", "%s", ve.Error())
	case errors.As(err, &mal):
		return newErr("MalformedPolicyDocument", "%s", mal.Reason)
	case errors.As(err, &inv):
		return newErr("InvalidInput", "%s", inv.Message)
	case errors.As(err, &lim):
		return newErr("LimitExceeded", "%s", lim.Message)
	case errors.As(err, &conf) && conf.Inline:
		return newErr("DeleteConflict", "Cannot delete entity, must delete policies first.")
	case errors.As(err, &conf):
		return newErr("DeleteConflict", "Cannot delete entity, must detach all policies first.")
	}
	return err
}

// toAPIError maps any error to its IAM/STS error; the one place where
// that mapping lives.
func toAPIError(err error) *apiError {
	var (
		ae      *apiError
		authErr *auth.Error
	)
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.As(err, &authErr):
		q := authErr.ForService("iam")
		return &apiError{Code: q.Code, Status: q.Status, Message: q.Message}
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return &apiError{Code: "RequestCanceled", Status: 499, Message: "The request was canceled."}
	}
	return internalError(err)
}

// escapePolicy percent-encodes a policy document as IAM returns it in
// AssumeRolePolicyDocument and PolicyDocument (RFC 3986: everything but
// unreserved characters). botocore decodes it (handlers.json_decode_policies);
// go-v2 hands it over as is, and callers url.QueryUnescape it.
func escapePolicy(doc string) string {
	var b strings.Builder
	b.Grow(len(doc) * 2)
	for i := 0; i < len(doc); i++ {
		c := doc[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}
