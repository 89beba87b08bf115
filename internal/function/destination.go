package function

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"sluice/internal/arn"
	"sluice/internal/storage"
)

// InvocationRecord is what Lambda sends to an OnSuccess or OnFailure
// destination (aws-wire 2.4): the SQS message body, or the payload of a
// destination function.
type InvocationRecord struct {
	Version         string           `json:"version"`   // "1.0"
	Timestamp       string           `json:"timestamp"` // UTC, milliseconds
	RequestContext  RequestContext   `json:"requestContext"`
	RequestPayload  json.RawMessage  `json:"requestPayload"`
	ResponseContext *ResponseContext `json:"responseContext,omitempty"`
	ResponsePayload json.RawMessage  `json:"responsePayload,omitempty"`
}

// RequestContext names the invocation a record is about.
type RequestContext struct {
	RequestID              string `json:"requestId"`
	FunctionArn            string `json:"functionArn"` // with ":$LATEST"
	Condition              string `json:"condition"`   // Success, RetriesExhausted, EventAgeExceeded
	ApproximateInvokeCount int    `json:"approximateInvokeCount"`
}

// ResponseContext describes the last attempt's answer.
type ResponseContext struct {
	StatusCode      int    `json:"statusCode"` // 200 even for a function error
	ExecutedVersion string `json:"executedVersion"`
	FunctionError   string `json:"functionError,omitempty"`
}

// failure is why an event ends without success.
type failure struct {
	condition string
	attempts  int
	ran       bool            // an attempt ran and answered response
	status    int             // DLQ ErrorCode (200 for a function error)
	response  json.RawMessage // the last error response, if any
	errType   string
	errMsg    string
	// context, when set, is the record's responseContext; otherwise one
	// with a function error is derived when an attempt answered.
	context *ResponseContext
	// dropped, when set, is why Lambda's rules stopped the event (a
	// recursive loop): the request index shows it dropped with this
	// reason instead of delivered (DESIGN, Events: what Lambda's rules
	// drop is visible).
	dropped string
}

func (s *Service) record(name string, inv *queued, condition string, attempts int, rc *ResponseContext, response json.RawMessage) []byte {
	fnARN := s.functionARNLatest(name)
	if inv.Qualifier != "" {
		fnARN = s.qualifiedARN(name, inv.Qualifier)
	}
	rec := InvocationRecord{
		Version:   "1.0",
		Timestamp: s.clock.Now().UTC().Format("2006-01-02T15:04:05.000Z"),
		RequestContext: RequestContext{RequestID: inv.RequestID, FunctionArn: fnARN,
			Condition: condition, ApproximateInvokeCount: attempts},
		RequestPayload:  inv.Payload,
		ResponseContext: rc,
		ResponsePayload: jsonOrString(response),
	}
	b, _ := json.Marshal(rec)
	return b
}

// succeed acknowledges a successful event and sends the OnSuccess record
// in the same commit.
func (s *Service) succeed(ctx context.Context, name, q, receipt string, inv *queued, cfg eventConfig, attempts int, out InvokeOutput) {
	dest := cfg.onSuccess
	if dest == "" {
		if err := s.settle(ctx, q, receipt, inv, nil); err != nil && !errors.Is(err, storage.ErrStaleReceipt) {
			s.log.Error("async ack", "function", name, "request_id", inv.RequestID, "err", err)
		}
		return
	}
	body := s.record(name, inv, ConditionSuccess, attempts,
		&ResponseContext{StatusCode: 200, ExecutedVersion: out.ExecutedVersion}, out.Payload)
	s.deliver(ctx, name, q, receipt, inv, []target{{arn: dest, body: body, kind: "on_success"}}, "")
}

// fail acknowledges an event that ran out of retries or time and sends it
// to the OnFailure destination and the dead-letter queue, in the same
// commit. With neither it is discarded, logged and counted.
func (s *Service) fail(ctx context.Context, name, q, receipt string, inv *queued, cfg eventConfig, f failure) {
	var targets []target
	if cfg.onFailure != "" {
		rc := f.context
		if rc == nil && (f.ran || len(f.response) > 0) {
			rc = &ResponseContext{StatusCode: 200, ExecutedVersion: Version, FunctionError: "Unhandled"}
		}
		targets = append(targets, target{arn: cfg.onFailure, kind: "on_failure",
			body: s.record(name, inv, f.condition, f.attempts, rc, f.response)})
	}
	if dlq := s.deadLetterTarget(ctx, name); dlq != "" {
		msg := f.errMsg
		if msg == "" {
			msg = f.condition // SQS refuses an empty attribute value
		}
		if len(msg) > 1024 {
			msg = msg[:1024] // Lambda sends the first 1 KB of the error message
		}
		targets = append(targets, target{arn: dlq, kind: "dead_letter", body: inv.Payload, attrs: map[string]string{
			"RequestID": inv.RequestID, "ErrorCode": fmt.Sprint(f.status), "ErrorMessage": msg}})
	}
	if len(targets) == 0 {
		if err := s.settleAs(ctx, q, receipt, inv, f.dropped == "", f.dropped, nil); err != nil {
			if !errors.Is(err, storage.ErrStaleReceipt) {
				s.log.Error("async ack", "function", name, "request_id", inv.RequestID, "err", err)
			}
			return
		}
		s.async.m.dropped.WithLabelValues("no_failure_destination").Inc()
		s.log.Warn("asynchronous invocation failed and has no failure destination; discarded",
			"function", name, "request_id", inv.RequestID, "condition", f.condition, "attempts", f.attempts, "error", f.errMsg)
		return
	}
	s.deliver(ctx, name, q, receipt, inv, targets, f.dropped)
}

type target struct {
	arn   string
	kind  string // metric label
	body  []byte
	attrs map[string]string
}

// deliver acknowledges the message and enqueues every target in one
// commit. A target that refuses (a queue or function that does not exist)
// is logged and counted; the others are still delivered. dropped is
// failure.dropped.
func (s *Service) deliver(ctx context.Context, name, q, receipt string, inv *queued, targets []target, dropped string) {
	refused := map[int]error{}
	for {
		err := s.settleAs(ctx, q, receipt, inv, dropped == "", dropped, func(tx storage.Tx) error {
			for i, t := range targets {
				if refused[i] != nil {
					continue
				}
				if err := s.sendTx(tx, inv, t); err != nil {
					return &targetError{i: i, err: err}
				}
			}
			return nil
		})
		var te *targetError
		if errors.As(err, &te) {
			refused[te.i] = te.err
			continue
		}
		if err != nil {
			if !errors.Is(err, storage.ErrStaleReceipt) {
				s.log.Error("async settle", "function", name, "request_id", inv.RequestID, "err", err)
			}
			return
		}
		break
	}
	for i, t := range targets {
		if err := refused[i]; err != nil {
			s.async.m.dropped.WithLabelValues("destination_refused").Inc()
			s.log.Warn("asynchronous invocation destination refused the record; discarded",
				"function", name, "request_id", inv.RequestID, "destination", t.arn, "kind", t.kind, "err", err)
			continue
		}
		s.async.m.delivered.WithLabelValues(t.kind).Inc()
	}
}

type targetError struct {
	i   int
	err error
}

func (e *targetError) Error() string { return e.err.Error() }

// sendTx enqueues one record for a destination: a Sluice queue, or
// another function (an asynchronous invocation of it).
func (s *Service) sendTx(tx storage.Tx, inv *queued, t target) error {
	a, err := arn.Parse(t.arn)
	if err != nil {
		return err
	}
	switch a.Service {
	case "sqs":
		if s.async.queues == nil {
			return errors.New("this server has no queues")
		}
		return s.async.queues.EnqueueTx(tx, t.arn, t.body, t.attrs)
	case "lambda":
		lin := inv.Lineage
		lin.Chain = append(append([]string(nil), lin.Chain...), inv.RequestID)
		_, err := s.EnqueueInvocationTx(tx, t.arn, t.body, lin)
		return err
	}
	return fmt.Errorf("destination service %s is not served", a.Service)
}

// deadLetterTarget is the function's DeadLetterConfig TargetArn, "" for none.
func (s *Service) deadLetterTarget(ctx context.Context, name string) string {
	r, err := s.load(ctx, name)
	if err != nil {
		return ""
	}
	return r.DeadLetter
}

// validateDestination checks a destination or dead-letter ARN: Sluice
// delivers to its own SQS queues and Lambda functions.
func (s *Service) validateDestination(field, v string, functions bool) error {
	a, err := arn.Parse(v)
	if err != nil {
		return newErr(ErrValidation, "1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: Member must satisfy regular expression pattern: ^$|arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9\\-])+:([a-z]{2}(-gov)?-[a-z]+-\\d{1})?:(\\d{12})?:(.*)", v, field)
	}
	switch {
	case a.Service == "sqs":
		if _, err := arn.ParseQueue(v); err != nil {
			return invalid("The destination ARN %s is invalid.", v)
		}
	case a.Service == "lambda" && functions:
		if _, err := arn.ParseFunction(v); err != nil {
			return invalid("The destination ARN %s is invalid.", v)
		}
	default:
		what := "SQS queues and Lambda functions"
		if !functions {
			what = "SQS queues"
		}
		return invalid("The destination ARN %s is not supported: Sluice delivers to its own %s only.", v, what)
	}
	return nil
}

// errorType and errorMessage read a function error response.
func errorType(b []byte) string {
	var e struct {
		T string `json:"errorType"`
	}
	_ = json.Unmarshal(b, &e)
	return e.T
}

func errorMessage(b []byte) string {
	var e struct {
		M string `json:"errorMessage"`
	}
	if json.Unmarshal(b, &e) == nil && e.M != "" {
		return e.M
	}
	return strings.TrimSpace(string(b))
}

// jsonOrString keeps a JSON response as is and turns anything else into
// a JSON string (a function may answer bytes that are not JSON).
func jsonOrString(b []byte) json.RawMessage {
	if len(b) == 0 {
		return nil
	}
	if json.Valid(b) {
		return append(json.RawMessage(nil), b...)
	}
	q, _ := json.Marshal(string(b))
	return q
}
