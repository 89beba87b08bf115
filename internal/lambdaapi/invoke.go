package lambdaapi

import (
	"encoding/json"
	"io"
	"net/http"

	"sluice/internal/event"
	"sluice/internal/function"
)

// invoke is Invoke (aws-wire 2.1): RequestResponse answers 200 with the
// function's result, a function error included (X-Amz-Function-Error:
// Unhandled); DryRun answers 204 after the checks; Event (what S3 uses)
// answers 202 once the event is committed to the function's invocation
// queue, with the invocation's request id in X-Amzn-RequestId. An Invoke
// made with a function instance's credentials continues that invocation's
// chain; one that would run past MaxChainDepth is stopped (stopRecursive,
// or the asynchronous worker for Event).
func (h *Handler) invoke(c *call) error {
	typ := c.r.Header.Get("X-Amz-Invocation-Type")
	switch typ {
	case "", "RequestResponse", "DryRun":
	case "Event":
		return h.invokeEvent(c)
	default:
		return newErr("ValidationException", "1 validation error detected: Value '%s' at 'invocationType' failed to satisfy constraint: Member must satisfy enum value set: [Event, RequestResponse, DryRun]", typ)
	}
	logType := c.r.Header.Get("X-Amz-Log-Type")
	if logType != "" && logType != "None" && logType != "Tail" {
		return newErr("ValidationException", "1 validation error detected: Value '%s' at 'logType' failed to satisfy constraint: Member must satisfy enum value set: [None, Tail]", logType)
	}
	payload, err := io.ReadAll(io.LimitReader(c.r.Body, function.MaxPayload+1))
	if err != nil {
		return newErr("InvalidRequestContentException", "Could not read request body: %s", err)
	}
	if len(payload) > function.MaxPayload {
		return newErr("RequestTooLargeException", "Request must be smaller than %d bytes for the InvokeFunction operation", function.MaxPayload)
	}
	if len(payload) > 0 && !json.Valid(payload) {
		return newErr("InvalidRequestContentException", "Could not parse request body into json: Could not parse payload into json: the payload is not valid JSON")
	}
	lin := h.callerLineage(c)
	if typ != "DryRun" && function.AtLoopLimit(lin) {
		if err := h.stopRecursive(c, lin); err != nil {
			return err
		}
	}
	out, err := h.fn.Invoke(c.ctx, function.InvokeInput{
		Name:          c.name(),
		Qualifier:     c.r.URL.Query().Get("Qualifier"),
		Payload:       payload,
		ClientContext: c.r.Header.Get("X-Amz-Client-Context"),
		LogTail:       logType == "Tail",
		DryRun:        typ == "DryRun",
		TraceID:       c.r.Header.Get("X-Amzn-Trace-Id"),
		// Checked above, with the edge's message.
		PayloadChecked: true,
		Lineage:        lin,
	})
	if err != nil {
		return err
	}
	hd := c.w.Header()
	hd.Set("X-Amzn-RequestId", c.requestID)
	if out.RequestID != "" {
		// The invocation's own id is what the function's context and its
		// log lines carry; clients correlate the two through this header.
		hd.Set("X-Amzn-RequestId", out.RequestID)
	}
	if typ == "DryRun" {
		c.status = http.StatusNoContent
		c.w.WriteHeader(http.StatusNoContent)
		return nil
	}
	version := out.ExecutedVersion
	if version == "" {
		version = function.Version
	}
	hd.Set("X-Amz-Executed-Version", version)
	if out.FunctionError != "" {
		hd.Set("X-Amz-Function-Error", out.FunctionError)
	}
	if out.LogResult != "" {
		hd.Set("X-Amz-Log-Result", out.LogResult)
	}
	hd.Set("Content-Type", "application/json")
	c.status = http.StatusOK
	c.w.WriteHeader(http.StatusOK)
	c.w.Write(out.Payload)
	return nil
}

// invokeEvent is Invoke with InvocationType Event: 202, empty body.
func (h *Handler) invokeEvent(c *call) error {
	payload, err := io.ReadAll(io.LimitReader(c.r.Body, function.MaxAsyncPayload+1))
	if err != nil {
		return newErr("InvalidRequestContentException", "Could not read request body: %s", err)
	}
	out, err := h.fn.InvokeAsync(c.ctx, function.InvokeInput{
		Name:      c.name(),
		Qualifier: c.r.URL.Query().Get("Qualifier"),
		Payload:   payload,
		RequestID: c.requestID,
		TraceID:   c.r.Header.Get("X-Amzn-Trace-Id"),
		// The worker stops the event if this chain is already full.
		Lineage: h.callerLineage(c),
	})
	if err != nil {
		return err
	}
	c.w.Header().Set("X-Amzn-RequestId", out.RequestID)
	c.status = http.StatusAccepted
	c.w.WriteHeader(http.StatusAccepted)
	return nil
}

// invokeAsyncLegacy is the deprecated InvokeAsync (2014-11-13): the same
// queueing as Event, answered 202 with {"Status":202}.
func (h *Handler) invokeAsyncLegacy(c *call) error {
	payload, err := io.ReadAll(io.LimitReader(c.r.Body, function.MaxAsyncPayload+1))
	if err != nil {
		return newErr("InvalidRequestContentException", "Could not read request body: %s", err)
	}
	out, err := h.fn.InvokeAsync(c.ctx, function.InvokeInput{Name: c.name(), Payload: payload, RequestID: c.requestID,
		TraceID: c.r.Header.Get("X-Amzn-Trace-Id"), Lineage: h.callerLineage(c)})
	if err != nil {
		return err
	}
	c.requestID = out.RequestID
	return c.writeJSON(http.StatusAccepted, map[string]int{"Status": http.StatusAccepted})
}

// callerLineage is the chain of the invocation whose instance made the
// request, with that invocation appended; empty when no function did.
func (h *Handler) callerLineage(c *call) event.Lineage {
	if h.lineage == nil || c.caller.AccessKeyID == "" {
		return event.Lineage{}
	}
	l, _ := h.lineage.Lineage(c.caller.AccessKeyID)
	return l
}

// stopRecursive refuses a synchronous Invoke that would be invocation
// MaxChainDepth+1 of lin's chain when the target's RecursiveLoop is
// Terminate: 400 RecursiveInvocationException, as Lambda answers a loop
// through its Invoke API ("Works with SQS, SNS, and direct Lambda invoke
// API integrations"). It returns nil when the invocation may run. Only
// chains that deep pay for the checks: a DryRun Invoke first, so that a
// missing function or qualifier is still ResourceNotFoundException.
func (h *Handler) stopRecursive(c *call, lin event.Lineage) error {
	name := c.name()
	if _, err := h.fn.Invoke(c.ctx, function.InvokeInput{Name: name, Qualifier: c.r.URL.Query().Get("Qualifier"), DryRun: true,
		PayloadChecked: true}); err != nil {
		return err
	}
	stop, err := h.fn.StopsRecursion(c.ctx, name, lin)
	if err != nil || !stop {
		return err
	}
	h.fn.CountRecursionStopped(name, 1)
	h.log.Warn("recursive loop detected: synchronous invocation stopped",
		"function", name, "caller_request_id", lin.Chain[len(lin.Chain)-1], "chain_depth", len(lin.Chain), "trace_id", lin.TraceID)
	return newErr("RecursiveInvocationException", "%s", function.RecursiveInvocationMessage)
}
