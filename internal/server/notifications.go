package server

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"sluice/internal/arn"
	"sluice/internal/auth"
	"sluice/internal/dispatch"
	"sluice/internal/event"
	"sluice/internal/function"
	"sluice/internal/notify"
	"sluice/internal/queue"
	"sluice/internal/storage"
)

// s3Service is the principal S3 delivers notifications as.
const s3Service = "s3.amazonaws.com"

// notifyDestinations is dispatch.Destinations over the server's queue and
// function services. Topics are not served yet (SNS is a later issue): a
// topic destination does not exist.
type notifyDestinations struct{ s *Server }

func (d notifyDestinations) Check(ctx context.Context, kind notify.Kind, dest, bucket string) (notify.Verdict, error) {
	source := arn.Bucket(bucket).String()
	switch kind {
	case event.Queue:
		res, err := d.s.queues.Allows(ctx, dest, s3Service, source, d.s.cfg.AccountID)
		if errors.Is(err, queue.ErrNoSuchQueue) {
			return notify.Verdict{Status: notify.Missing, Reason: "Sluice serves no such queue in " + d.s.cfg.Region + " for account " + d.s.cfg.AccountID}, nil
		}
		if err != nil {
			return notify.Verdict{}, err
		}
		if res.Allowed() {
			return notify.Verdict{Status: notify.Deliverable}, nil
		}
		return notify.Verdict{Status: notify.Refused, Reason: res.Reason}, nil
	case event.Function:
		if d.s.functions == nil {
			return notify.Verdict{Status: notify.Missing, Reason: "functions are not served"}, nil
		}
		res, err := d.s.functions.Allows(ctx, dest, s3Service, source, d.s.cfg.AccountID)
		var fe *function.Error
		if errors.As(err, &fe) {
			return notify.Verdict{Status: notify.Missing, Reason: fe.Message}, nil
		}
		if err != nil {
			return notify.Verdict{}, err
		}
		if res.Allowed() {
			return notify.Verdict{Status: notify.Deliverable}, nil
		}
		return notify.Verdict{Status: notify.Refused, Reason: res.Reason}, nil
	default:
		return notify.Verdict{Status: notify.Missing, Reason: "Sluice does not serve SNS topics yet"}, nil
	}
}

// EnqueueTx enqueues an event record into a local queue. S3's messages
// carry no message attributes.
func (d notifyDestinations) EnqueueTx(tx storage.Tx, queueARN string, body []byte) error {
	name, err := d.s.queues.NameFromARN(queueARN)
	if err == nil {
		_, err = d.s.queues.EnqueueTx(tx, name, body, s3Service, nil)
	}
	if errors.Is(err, queue.ErrNoSuchQueue) {
		return dispatch.ErrNoSuchDestination
	}
	return err
}

// InvokeTx enqueues an S3 event record into the function's invocation
// queue (one durable hop); the function checks its policy again at
// delivery and tells dispatch when the invocation finished.
func (d notifyDestinations) InvokeTx(tx storage.Tx, functionARN string, payload []byte, lineage event.Lineage, bucket, ref string) error {
	if d.s.functions == nil {
		return dispatch.ErrNoSuchDestination
	}
	_, err := d.s.functions.EnqueueEventTx(tx, functionARN, payload, lineage, function.EventSource{
		Service: s3Service, SourceArn: arn.Bucket(bucket).String(), SourceAccount: d.s.cfg.AccountID, Ref: ref})
	if errors.Is(err, function.ErrNotFound) {
		return dispatch.ErrNoSuchDestination
	}
	return err
}

// functionTracker tells dispatch's request index that an S3-caused
// invocation finished (the wait API's "delivered").
type functionTracker struct{ s *Server }

func (t functionTracker) SettledTx(tx storage.Tx, ref string, delivered bool, reason string) error {
	return t.s.dispatch.Settled(tx, ref, delivered, reason)
}

func (t functionTracker) Progressed() { t.s.dispatch.Progressed() }

// functionQueues delivers invocation records and dead-letter messages
// into the server's SQS queues.
type functionQueues struct{ s *Server }

func (q functionQueues) EnqueueTx(tx storage.Tx, queueARN string, body []byte, attrs map[string]string) error {
	name, err := q.s.queues.NameFromARN(queueARN)
	if err != nil {
		return err
	}
	var qa map[string]queue.Attribute
	if len(attrs) > 0 {
		qa = make(map[string]queue.Attribute, len(attrs))
		for k, v := range attrs {
			qa[k] = queue.Attribute{DataType: "String", StringValue: v}
		}
	}
	_, err = q.s.queues.EnqueueTx(tx, name, body, "AROAFUNCTION:lambda", qa)
	return err
}

// Sluice's own notification endpoints (root credentials, by SigV4 or HTTP
// Basic):
//
//	GET /_sluice/requests/<request-id>/wait?timeout=10s
//	    blocks until every event record the request caused is delivered or
//	    finally failed (or the timeout), and returns them as JSON with
//	    "complete" and the "pending" list
//	GET /_sluice/requests/<request-id>   the same, without waiting
//	GET /_sluice/deliveries[?limit=N]    the delivery view: what is held or
//	    pending where, and why
const (
	requestsPrefix = "/_sluice/requests/"
	deliveriesPath = "/_sluice/deliveries"
	// maxWait bounds a wait request, so that a forgotten client does not
	// hold a connection forever.
	maxWait = 5 * time.Minute
)

func (s *Server) serveNotifications(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", "GET")
		jsonError(w, http.StatusMethodNotAllowed, "method not allowed")
		return
	}
	if status, msg := s.rootOnly(r); status != 0 {
		if status == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `Basic realm="sluice"`)
		}
		jsonError(w, status, msg)
		return
	}
	if r.URL.Path == deliveriesPath {
		limit := 100
		if v := r.URL.Query().Get("limit"); v != "" {
			if n, err := parsePositive(v); err == nil {
				limit = min(n, 10000)
			}
		}
		view, err := s.dispatch.DeliveryView(r.Context(), limit)
		if err != nil {
			jsonError(w, http.StatusInternalServerError, err.Error())
			return
		}
		writeJSON(w, http.StatusOK, view)
		return
	}
	rest := strings.TrimPrefix(r.URL.EscapedPath(), requestsPrefix)
	idPart, action, _ := strings.Cut(rest, "/")
	id, err := url.PathUnescape(idPart)
	if err != nil || id == "" || (action != "" && action != "wait") {
		jsonError(w, http.StatusNotFound, "no such endpoint: "+r.URL.Path)
		return
	}
	var res dispatch.WaitResult
	if action == "wait" {
		timeout := 10 * time.Second
		if v := r.URL.Query().Get("timeout"); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil || d < 0 {
				jsonError(w, http.StatusBadRequest, "timeout must be a duration such as 10s or 500ms")
				return
			}
			timeout = min(d, maxWait)
		}
		res, err = s.dispatch.Wait(r.Context(), id, timeout)
	} else {
		res, err = s.dispatch.Records(r.Context(), id)
	}
	if err != nil {
		if r.Context().Err() != nil {
			return
		}
		jsonError(w, http.StatusInternalServerError, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// rootOnly authenticates a /_sluice/ request: the root credentials by
// HTTP Basic or SigV4. It returns 0 when the request may proceed.
func (s *Server) rootOnly(r *http.Request) (int, string) {
	if user, pass, ok := r.BasicAuth(); ok {
		if subtle.ConstantTimeCompare([]byte(user), []byte(s.root.AccessKeyID)) == 1 &&
			subtle.ConstantTimeCompare([]byte(pass), []byte(s.root.SecretAccessKey)) == 1 {
			return 0, ""
		}
		return http.StatusForbidden, "the access key or secret is wrong"
	}
	if r.Header.Get("Authorization") == "" && r.URL.Query().Get("X-Amz-Credential") == "" {
		return http.StatusUnauthorized, "credentials required: the root access key and secret, by SigV4 or HTTP Basic"
	}
	res, err := (&auth.Verifier{Keys: s.keys, Clock: s.cfg.Clock}).Verify(r)
	if err != nil {
		return http.StatusForbidden, err.Error()
	}
	if res.AccessKeyID != s.root.AccessKeyID {
		return http.StatusForbidden, "only the root credentials may use /_sluice/"
	}
	return 0, ""
}

func parsePositive(v string) (int, error) {
	var n int
	if err := json.Unmarshal([]byte(v), &n); err != nil || n <= 0 {
		return 0, errors.New("not a positive integer")
	}
	return n, nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func jsonError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}
