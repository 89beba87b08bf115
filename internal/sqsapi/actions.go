package sqsapi

import (
	"bytes"
	"context"
	"encoding/base64"
	"strconv"
	"strings"
	"time"

	"sluice/internal/queue"
)

// actions maps each SQS action to its handler. A handler returns the
// output document (JSON members; the query protocol renders it as XML) or
// an error.
var actions = map[string]func(h *Handler, w *statusWriter, c *call) (any, error){
	"CreateQueue":                  (*Handler).createQueue,
	"GetQueueUrl":                  (*Handler).getQueueURL,
	"ListQueues":                   (*Handler).listQueues,
	"DeleteQueue":                  (*Handler).deleteQueue,
	"GetQueueAttributes":           (*Handler).getQueueAttributes,
	"SetQueueAttributes":           (*Handler).setQueueAttributes,
	"SendMessage":                  (*Handler).sendMessage,
	"SendMessageBatch":             (*Handler).sendMessageBatch,
	"ReceiveMessage":               (*Handler).receiveMessage,
	"DeleteMessage":                (*Handler).deleteMessage,
	"DeleteMessageBatch":           (*Handler).deleteMessageBatch,
	"ChangeMessageVisibility":      (*Handler).changeMessageVisibility,
	"ChangeMessageVisibilityBatch": (*Handler).changeMessageVisibilityBatch,
	"PurgeQueue":                   (*Handler).purgeQueue,
	"TagQueue":                     (*Handler).tagQueue,
	"UntagQueue":                   (*Handler).untagQueue,
	"ListQueueTags":                (*Handler).listQueueTags,
	"ListDeadLetterSourceQueues":   (*Handler).listDeadLetterSourceQueues,
	"StartMessageMoveTask":         (*Handler).startMessageMoveTask,
	"ListMessageMoveTasks":         (*Handler).listMessageMoveTasks,
	"CancelMessageMoveTask":        (*Handler).cancelMessageMoveTask,
	"AddPermission":                (*Handler).unsupported,
	"RemovePermission":             (*Handler).unsupported,
}

// flexInt is an integer member that clients send as a JSON number (JSON
// protocol) or as a string (query protocol, and some JSON clients).
type flexInt struct {
	set bool
	raw string
}

func (f *flexInt) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	f.set, f.raw = true, string(bytes.Trim(b, `"`))
	return nil
}

// get returns the value, whether it was given, or InvalidParameterValue.
func (f flexInt) get(name string) (int, bool, error) {
	if !f.set {
		return 0, false, nil
	}
	n, err := strconv.Atoi(strings.TrimSpace(f.raw))
	if err != nil {
		return 0, true, invalidParam("Value %s for parameter %s is invalid. Reason: must be an integer.", f.raw, name)
	}
	return n, true, nil
}

type empty struct{}

func (h *Handler) unsupported(_ *statusWriter, c *call) (any, error) {
	return nil, newErr("UnsupportedOperation", "Sluice does not support %s; use the Policy queue attribute.", c.action)
}

// --- queues

func (h *Handler) createQueue(_ *statusWriter, c *call) (any, error) {
	var in struct {
		QueueName  string
		Attributes map[string]string
		Tags       map[string]string `json:"tags"`
	}
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	if in.QueueName == "" {
		return nil, missing("QueueName")
	}
	if err := h.q.Create(c.r.Context(), in.QueueName, in.Attributes, in.Tags); err != nil {
		return nil, err
	}
	return struct{ QueueUrl string }{h.queueURL(in.QueueName)}, nil
}

func (h *Handler) getQueueURL(_ *statusWriter, c *call) (any, error) {
	var in struct{ QueueName, QueueOwnerAWSAccountId string }
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	if in.QueueName == "" {
		return nil, missing("QueueName")
	}
	if in.QueueOwnerAWSAccountId != "" && in.QueueOwnerAWSAccountId != h.q.AccountID() {
		return nil, errNoSuchQueue()
	}
	if !queue.ValidName(in.QueueName) {
		return nil, errNoSuchQueue()
	}
	if err := h.q.Exists(c.r.Context(), in.QueueName); err != nil {
		return nil, err
	}
	return struct{ QueueUrl string }{h.queueURL(in.QueueName)}, nil
}

// listToken is ListQueues' and ListDeadLetterSourceQueues' NextToken:
// base64 of the last name returned.
func decodeToken(tok string) (string, error) {
	if tok == "" {
		return "", nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || !queue.ValidName(string(raw)) {
		return "", invalidParam("Invalid NextToken value.")
	}
	return string(raw), nil
}

func encodeToken(name string) string { return base64.RawURLEncoding.EncodeToString([]byte(name)) }

func maxResults(f flexInt, name string, def, hi int) (int, bool, error) {
	n, set, err := f.get(name)
	if err != nil {
		return 0, false, err
	}
	if !set {
		return def, false, nil
	}
	if n < 1 || n > hi {
		return 0, false, invalidParam("Value %d for parameter %s is invalid. Reason: must be between 1 and %d.", n, name, hi)
	}
	return n, true, nil
}

func (h *Handler) listQueues(_ *statusWriter, c *call) (any, error) {
	var in struct {
		QueueNamePrefix, NextToken string
		MaxResults                 flexInt
	}
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	max, paged, err := maxResults(in.MaxResults, "MaxResults", 1000, 1000)
	if err != nil {
		return nil, err
	}
	after, err := decodeToken(in.NextToken)
	if err != nil {
		return nil, err
	}
	names, more, err := h.q.List(c.r.Context(), in.QueueNamePrefix, after, max)
	if err != nil {
		return nil, err
	}
	var out struct {
		QueueUrls []string `json:",omitempty"`
		NextToken string   `json:",omitempty"`
	}
	for _, n := range names {
		out.QueueUrls = append(out.QueueUrls, h.queueURL(n))
	}
	// AWS gives a NextToken only when MaxResults was given.
	if more && paged {
		out.NextToken = encodeToken(names[len(names)-1])
	}
	return out, nil
}

type queueURLInput struct{ QueueUrl string }

func (h *Handler) named(c *call) (string, error) {
	var in queueURLInput
	if err := c.decode(&in); err != nil {
		return "", err
	}
	return h.queueName(c, in.QueueUrl)
}

func (h *Handler) deleteQueue(_ *statusWriter, c *call) (any, error) {
	name, err := h.named(c)
	if err != nil {
		return nil, err
	}
	return empty{}, h.q.Delete(c.r.Context(), name)
}

func (h *Handler) getQueueAttributes(_ *statusWriter, c *call) (any, error) {
	var in struct {
		QueueUrl       string
		AttributeNames []string
	}
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	name, err := h.queueName(c, in.QueueUrl)
	if err != nil {
		return nil, err
	}
	attrs, err := h.q.Attributes(c.r.Context(), name, in.AttributeNames)
	if err != nil {
		return nil, err
	}
	return struct {
		Attributes map[string]string `json:",omitempty"`
	}{attrs}, nil
}

func (h *Handler) setQueueAttributes(_ *statusWriter, c *call) (any, error) {
	var in struct {
		QueueUrl   string
		Attributes map[string]string
	}
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	name, err := h.queueName(c, in.QueueUrl)
	if err != nil {
		return nil, err
	}
	if in.Attributes == nil {
		return nil, missing("Attributes")
	}
	return empty{}, h.q.SetAttributes(c.r.Context(), name, in.Attributes)
}

func (h *Handler) purgeQueue(_ *statusWriter, c *call) (any, error) {
	name, err := h.named(c)
	if err != nil {
		return nil, err
	}
	return empty{}, h.q.Purge(c.r.Context(), name)
}

func (h *Handler) tagQueue(_ *statusWriter, c *call) (any, error) {
	var in struct {
		QueueUrl string
		Tags     map[string]string
	}
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	name, err := h.queueName(c, in.QueueUrl)
	if err != nil {
		return nil, err
	}
	if len(in.Tags) == 0 {
		return nil, missing("Tags")
	}
	return empty{}, h.q.Tag(c.r.Context(), name, in.Tags)
}

func (h *Handler) untagQueue(_ *statusWriter, c *call) (any, error) {
	var in struct {
		QueueUrl string
		TagKeys  []string
	}
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	name, err := h.queueName(c, in.QueueUrl)
	if err != nil {
		return nil, err
	}
	if len(in.TagKeys) == 0 {
		return nil, missing("TagKeys")
	}
	return empty{}, h.q.Untag(c.r.Context(), name, in.TagKeys)
}

func (h *Handler) listQueueTags(_ *statusWriter, c *call) (any, error) {
	name, err := h.named(c)
	if err != nil {
		return nil, err
	}
	tags, err := h.q.Tags(c.r.Context(), name)
	if err != nil {
		return nil, err
	}
	return struct {
		Tags map[string]string `json:",omitempty"`
	}{tags}, nil
}

func (h *Handler) listDeadLetterSourceQueues(_ *statusWriter, c *call) (any, error) {
	var in struct {
		QueueUrl, NextToken string
		MaxResults          flexInt
	}
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	name, err := h.queueName(c, in.QueueUrl)
	if err != nil {
		return nil, err
	}
	max, paged, err := maxResults(in.MaxResults, "MaxResults", 1000, 1000)
	if err != nil {
		return nil, err
	}
	after, err := decodeToken(in.NextToken)
	if err != nil {
		return nil, err
	}
	names, more, err := h.q.DeadLetterSources(c.r.Context(), name, after, max)
	if err != nil {
		return nil, err
	}
	out := struct {
		QueueUrls []string `json:"queueUrls"`
		NextToken string   `json:",omitempty"`
	}{QueueUrls: []string{}}
	for _, n := range names {
		out.QueueUrls = append(out.QueueUrls, h.queueURL(n))
	}
	if more && paged {
		out.NextToken = encodeToken(names[len(names)-1])
	}
	return out, nil
}

// --- message move tasks

func (h *Handler) startMessageMoveTask(_ *statusWriter, c *call) (any, error) {
	var in struct {
		SourceArn, DestinationArn    string
		MaxNumberOfMessagesPerSecond flexInt
	}
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	if in.SourceArn == "" {
		return nil, missing("SourceArn")
	}
	rate, set, err := in.MaxNumberOfMessagesPerSecond.get("MaxNumberOfMessagesPerSecond")
	if err != nil {
		return nil, err
	}
	if set && rate < 1 {
		return nil, invalidParam("Value %d for parameter MaxNumberOfMessagesPerSecond is invalid. Reason: Must be between 1 and 500.", rate)
	}
	handle, err := h.q.StartMoveTask(c.r.Context(), in.SourceArn, in.DestinationArn, rate)
	if err != nil {
		return nil, moveErr(err)
	}
	return struct{ TaskHandle string }{handle}, nil
}

// moveErr: for move tasks an unknown queue is ResourceNotFoundException,
// as the SQS API reference lists for these actions.
func moveErr(err error) error {
	if err == queue.ErrNoSuchQueue {
		return newErr("ResourceNotFoundException", "The resource that you specified for the SourceArn or DestinationArn parameter does not exist.")
	}
	return err
}

func (h *Handler) listMessageMoveTasks(_ *statusWriter, c *call) (any, error) {
	var in struct {
		SourceArn  string
		MaxResults flexInt
	}
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	if in.SourceArn == "" {
		return nil, missing("SourceArn")
	}
	max, _, err := maxResults(in.MaxResults, "MaxResults", 1, 10)
	if err != nil {
		return nil, err
	}
	tasks, err := h.q.MoveTasks(c.r.Context(), in.SourceArn, max)
	if err != nil {
		return nil, moveErr(err)
	}
	type result struct {
		TaskHandle                        string `json:",omitempty"`
		Status                            string
		SourceArn                         string
		DestinationArn                    string `json:",omitempty"`
		MaxNumberOfMessagesPerSecond      *int   `json:",omitempty"`
		ApproximateNumberOfMessagesMoved  int64
		ApproximateNumberOfMessagesToMove *int64 `json:",omitempty"`
		FailureReason                     string `json:",omitempty"`
		StartedTimestamp                  int64
	}
	out := struct{ Results []result }{Results: []result{}}
	for _, t := range tasks {
		r := result{Status: t.Status, SourceArn: t.SourceARN, DestinationArn: t.DestinationARN,
			ApproximateNumberOfMessagesMoved: t.Moved, FailureReason: t.FailureReason,
			StartedTimestamp: t.Started.UnixMilli()}
		if t.Status == queue.TaskRunning {
			r.TaskHandle = t.Handle // only a running task can be cancelled
			toMove := t.ToMove
			r.ApproximateNumberOfMessagesToMove = &toMove
		}
		if t.MaxPerSecond > 0 {
			rate := t.MaxPerSecond
			r.MaxNumberOfMessagesPerSecond = &rate
		}
		out.Results = append(out.Results, r)
	}
	return out, nil
}

func (h *Handler) cancelMessageMoveTask(_ *statusWriter, c *call) (any, error) {
	var in struct{ TaskHandle string }
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	if in.TaskHandle == "" {
		return nil, missing("TaskHandle")
	}
	moved, err := h.q.CancelMoveTask(in.TaskHandle)
	if err != nil {
		return nil, err
	}
	return struct{ ApproximateNumberOfMessagesMoved int64 }{moved}, nil
}

// --- messages

// attributeValue is a MessageAttributeValue on the wire.
type attributeValue struct {
	DataType         string   `json:"DataType"`
	StringValue      string   `json:"StringValue,omitempty"`
	BinaryValue      []byte   `json:"BinaryValue,omitempty"`
	StringListValues []string `json:"StringListValues,omitempty"`
	BinaryListValues [][]byte `json:"BinaryListValues,omitempty"`
}

type sendEntry struct {
	Id                      string
	MessageBody             string
	DelaySeconds            flexInt
	MessageAttributes       map[string]attributeValue
	MessageSystemAttributes map[string]attributeValue
	MessageGroupId          string
	MessageDeduplicationId  string
}

// sendInput converts a wire entry to the domain's input. Errors are
// InvalidParameterValue.
func (c *call) sendInput(e *sendEntry) (queue.SendInput, error) {
	in := queue.SendInput{Body: e.MessageBody, SenderID: c.principal, Lineage: c.lineage}
	delay, set, err := e.DelaySeconds.get("DelaySeconds")
	if err != nil {
		return in, err
	}
	if set {
		in.DelaySeconds = &delay
	}
	if e.MessageGroupId != "" || e.MessageDeduplicationId != "" {
		return in, invalidParam("The request include parameter that is not valid for this queue type")
	}
	if len(e.MessageAttributes) > 0 {
		in.Attributes = make(map[string]queue.Attribute, len(e.MessageAttributes))
		for name, v := range e.MessageAttributes {
			if len(v.StringListValues) > 0 || len(v.BinaryListValues) > 0 {
				return in, invalidParam("Message attribute list values in SendMessage operation are not supported.")
			}
			in.Attributes[name] = queue.Attribute{DataType: v.DataType, StringValue: v.StringValue, BinaryValue: v.BinaryValue}
		}
	}
	for name, v := range e.MessageSystemAttributes {
		if name != "AWSTraceHeader" {
			return in, invalidParam("Message system attribute name '%s' is invalid.", name)
		}
		if v.DataType != "String" || v.StringValue == "" {
			return in, invalidParam("Message system attribute 'AWSTraceHeader' must be a non-empty String.")
		}
		in.TraceHeader = v.StringValue
	}
	return in, nil
}

func (h *Handler) sendMessage(_ *statusWriter, c *call) (any, error) {
	var in struct {
		QueueUrl string
		sendEntry
	}
	if qu, body, ok := decodeSendFast(c.body); ok {
		in.QueueUrl, in.MessageBody = qu, body
	} else if err := c.decode(&in); err != nil {
		return nil, err
	}
	name, err := h.queueName(c, in.QueueUrl)
	if err != nil {
		return nil, err
	}
	if in.MessageBody == "" {
		return nil, missing("MessageBody")
	}
	h.withLineage(c)
	si, err := c.sendInput(&in.sendEntry)
	if err != nil {
		return nil, err
	}
	res, err := h.q.Send(c.r.Context(), name, si)
	if err != nil {
		return nil, err
	}
	return &sendResult{res.MessageID, res.MD5OfBody, res.MD5OfAttributes}, nil
}

type batchError struct {
	Id          string
	SenderFault bool
	Code        string
	Message     string
}

func toBatchError(id string, err error) batchError {
	e := toAPIError(err)
	return batchError{Id: id, SenderFault: !e.Receiver, Code: e.Type, Message: e.Message}
}

// checkBatchIDs applies the batch rules that refuse the whole request:
// 1..10 entries, ids of [A-Za-z0-9_-]{1,80}, distinct.
func checkBatchIDs(entryName string, ids []string) error {
	if len(ids) == 0 {
		return newErr("EmptyBatchRequest", "There should be at least one %s in the request.", entryName)
	}
	if len(ids) > queue.MaxBatchEntries {
		return newErr("TooManyEntriesInBatchRequest", "Maximum number of entries per request are %d. You have sent %d.", queue.MaxBatchEntries, len(ids))
	}
	seen := map[string]bool{}
	for _, id := range ids {
		if !queue.ValidName(id) {
			return newErr("InvalidBatchEntryId", "A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.")
		}
		if seen[id] {
			return newErr("BatchEntryIdsNotDistinct", "Id %s repeated.", id)
		}
		seen[id] = true
	}
	return nil
}

func (h *Handler) sendMessageBatch(_ *statusWriter, c *call) (any, error) {
	var in struct {
		QueueUrl string
		Entries  []sendEntry
	}
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	name, err := h.queueName(c, in.QueueUrl)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(in.Entries))
	total := 0
	for i, e := range in.Entries {
		ids[i] = e.Id
		total += len(e.MessageBody)
		for n, a := range e.MessageAttributes {
			total += len(n) + len(a.DataType) + len(a.StringValue) + len(a.BinaryValue)
		}
	}
	if err := checkBatchIDs("SendMessageBatchRequestEntry", ids); err != nil {
		return nil, err
	}
	attrs, err := h.q.Attributes(c.r.Context(), name, []string{queue.AttrMaximumMessageSize})
	if err != nil {
		return nil, err
	}
	if limit, _ := strconv.Atoi(attrs[queue.AttrMaximumMessageSize]); total > limit {
		return nil, newErr("BatchRequestTooLong", "Batch requests cannot be longer than %d bytes. You have sent %d bytes.", limit, total)
	}
	type success struct {
		Id                     string
		MessageId              string
		MD5OfMessageBody       string
		MD5OfMessageAttributes string `json:",omitempty"`
	}
	out := struct {
		Successful []success
		Failed     []batchError
	}{Successful: []success{}, Failed: []batchError{}}
	inputs := make([]queue.SendInput, 0, len(in.Entries))
	index := make([]int, 0, len(in.Entries))
	h.withLineage(c)
	for i := range in.Entries {
		si, err := c.sendInput(&in.Entries[i])
		if err == nil && in.Entries[i].MessageBody == "" {
			err = missing("MessageBody")
		}
		if err != nil {
			out.Failed = append(out.Failed, toBatchError(in.Entries[i].Id, err))
			continue
		}
		inputs = append(inputs, si)
		index = append(index, i)
	}
	if len(inputs) > 0 {
		results, errs, err := h.q.SendBatch(c.r.Context(), name, inputs)
		if err != nil {
			return nil, err
		}
		for j, i := range index {
			id := in.Entries[i].Id
			if errs[j] != nil {
				out.Failed = append(out.Failed, toBatchError(id, errs[j]))
				continue
			}
			r := results[j]
			out.Successful = append(out.Successful, success{id, r.MessageID, r.MD5OfBody, r.MD5OfAttributes})
		}
	}
	return out, nil
}

// systemAttributeNames are the message system attributes ReceiveMessage
// can return.
var systemAttributeNames = map[string]bool{
	"All": true, "SenderId": true, "SentTimestamp": true, "ApproximateReceiveCount": true,
	"ApproximateFirstReceiveTimestamp": true, "AWSTraceHeader": true, "DeadLetterQueueSourceArn": true,
	"SequenceNumber": true, "MessageDeduplicationId": true, "MessageGroupId": true,
	// Queue attribute names some old clients pass in AttributeNames.
	"Policy": true, "VisibilityTimeout": true, "MaximumMessageSize": true, "MessageRetentionPeriod": true,
	"ApproximateNumberOfMessages": true, "ApproximateNumberOfMessagesNotVisible": true,
	"CreatedTimestamp": true, "LastModifiedTimestamp": true, "QueueArn": true,
	"ApproximateNumberOfMessagesDelayed": true, "DelaySeconds": true,
	"ReceiveMessageWaitTimeSeconds": true, "RedrivePolicy": true,
}

type wireMessage struct {
	MessageId              string
	ReceiptHandle          string
	MD5OfBody              string
	Body                   string
	Attributes             map[string]string         `json:",omitempty"`
	MD5OfMessageAttributes string                    `json:",omitempty"`
	MessageAttributes      map[string]attributeValue `json:",omitempty"`
}

func (h *Handler) receiveMessage(w *statusWriter, c *call) (any, error) {
	var in struct {
		QueueUrl                    string
		MaxNumberOfMessages         flexInt
		WaitTimeSeconds             flexInt
		VisibilityTimeout           flexInt
		AttributeNames              []string
		MessageSystemAttributeNames []string
		MessageAttributeNames       []string
		ReceiveRequestAttemptId     string
	}
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	name, err := h.queueName(c, in.QueueUrl)
	if err != nil {
		return nil, err
	}
	var ri queue.ReceiveInput
	if ri.Max, _, err = in.MaxNumberOfMessages.get("MaxNumberOfMessages"); err != nil {
		return nil, err
	}
	if n, set, err := in.WaitTimeSeconds.get("WaitTimeSeconds"); err != nil {
		return nil, err
	} else if set {
		d := time.Duration(n) * time.Second
		ri.Wait = &d
	}
	if n, set, err := in.VisibilityTimeout.get("VisibilityTimeout"); err != nil {
		return nil, err
	} else if set {
		d := time.Duration(n) * time.Second
		ri.Visibility = &d
	}
	sysNames := map[string]bool{}
	for _, n := range append(in.AttributeNames, in.MessageSystemAttributeNames...) {
		if !systemAttributeNames[n] {
			return nil, newErr("InvalidAttributeName", "Unknown Attribute %s.", n)
		}
		sysNames[n] = true
	}
	ctx := c.r.Context()
	msgs, err := h.q.Receive(ctx, name, ri)
	if err != nil {
		return nil, err
	}
	handles := make([]string, len(msgs))
	out := &receiveResult{}
	if len(msgs) > 0 {
		out.Messages = make([]wireMessage, 0, len(msgs))
	}
	for i, m := range msgs {
		handles[i] = m.ReceiptHandle
		out.Messages = append(out.Messages, toWire(&m, sysNames, in.MessageAttributeNames))
	}
	// The client may have gone while we took the messages: give them
	// back at once instead of hiding them for a visibility timeout.
	if len(handles) > 0 && clientGone(ctx) {
		h.release(name, handles)
		return nil, ctx.Err()
	}
	if err := h.writeOK(w, c, out); err != nil {
		if len(handles) > 0 {
			h.release(name, handles)
		}
		return nil, errWritten
	}
	return nil, errWritten
}

func (h *Handler) release(name string, handles []string) {
	// The request's context is over; release under a fresh one.
	if err := h.q.Release(context.Background(), name, handles); err != nil {
		h.log.Warn("release of undelivered messages failed", "queue", name, "err", err)
	}
}

func toWire(m *queue.Message, sys map[string]bool, attrNames []string) wireMessage {
	wm := wireMessage{MessageId: m.ID, ReceiptHandle: m.ReceiptHandle, MD5OfBody: queue.MD5OfBody(m.Body), Body: m.Body}
	all := sys["All"]
	set := func(name, value string) {
		if value != "" && (all || sys[name]) {
			if wm.Attributes == nil {
				wm.Attributes = map[string]string{}
			}
			wm.Attributes[name] = value
		}
	}
	set("SenderId", m.SenderID)
	set("SentTimestamp", strconv.FormatInt(m.Sent.UnixMilli(), 10))
	set("ApproximateReceiveCount", strconv.Itoa(m.ReceiveCount))
	set("ApproximateFirstReceiveTimestamp", strconv.FormatInt(m.FirstReceive.UnixMilli(), 10))
	set("AWSTraceHeader", m.TraceHeader)
	set("DeadLetterQueueSourceArn", m.DeadLetterSourceARN)

	chosen := map[string]queue.Attribute{}
	for n, a := range m.Attributes {
		if wantAttribute(n, attrNames) {
			chosen[n] = a
		}
	}
	if len(chosen) > 0 {
		wm.MessageAttributes = make(map[string]attributeValue, len(chosen))
		for n, a := range chosen {
			wm.MessageAttributes[n] = attributeValue{DataType: a.DataType, StringValue: a.StringValue, BinaryValue: a.BinaryValue}
		}
		wm.MD5OfMessageAttributes = queue.MD5OfAttributes(chosen)
	}
	return wm
}

// wantAttribute: "All" and ".*" select every attribute, "prefix.*" those
// starting with "prefix.", any other name itself.
func wantAttribute(name string, patterns []string) bool {
	for _, p := range patterns {
		switch {
		case p == "All" || p == ".*":
			return true
		case strings.HasSuffix(p, ".*"):
			if strings.HasPrefix(name, strings.TrimSuffix(p, "*")) {
				return true
			}
		case p == name:
			return true
		}
	}
	return false
}

func (h *Handler) deleteMessage(_ *statusWriter, c *call) (any, error) {
	var in struct{ QueueUrl, ReceiptHandle string }
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	name, err := h.queueName(c, in.QueueUrl)
	if err != nil {
		return nil, err
	}
	if in.ReceiptHandle == "" {
		return nil, missing("ReceiptHandle")
	}
	return empty{}, h.q.DeleteMessage(c.r.Context(), name, in.ReceiptHandle)
}

type idOnly struct{ Id string }

func (h *Handler) deleteMessageBatch(_ *statusWriter, c *call) (any, error) {
	var in struct {
		QueueUrl string
		Entries  []struct{ Id, ReceiptHandle string }
	}
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	name, err := h.queueName(c, in.QueueUrl)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(in.Entries))
	for i, e := range in.Entries {
		ids[i] = e.Id
	}
	if err := checkBatchIDs("DeleteMessageBatchRequestEntry", ids); err != nil {
		return nil, err
	}
	if err := h.q.Exists(c.r.Context(), name); err != nil {
		return nil, err
	}
	out := struct {
		Successful []idOnly
		Failed     []batchError
	}{Successful: []idOnly{}, Failed: []batchError{}}
	// One commit for the whole batch; each entry keeps its own outcome.
	handles := make([]string, len(in.Entries))
	for i, e := range in.Entries {
		handles[i] = e.ReceiptHandle
	}
	entryErr, err := h.q.DeleteBatch(c.r.Context(), name, handles)
	if err != nil {
		return nil, err
	}
	for i, e := range in.Entries {
		if entryErr[i] != nil {
			out.Failed = append(out.Failed, toBatchError(e.Id, entryErr[i]))
			continue
		}
		out.Successful = append(out.Successful, idOnly{e.Id})
	}
	return out, nil
}

func (h *Handler) changeMessageVisibility(_ *statusWriter, c *call) (any, error) {
	var in struct {
		QueueUrl, ReceiptHandle string
		VisibilityTimeout       flexInt
	}
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	name, err := h.queueName(c, in.QueueUrl)
	if err != nil {
		return nil, err
	}
	if in.ReceiptHandle == "" {
		return nil, missing("ReceiptHandle")
	}
	n, set, err := in.VisibilityTimeout.get("VisibilityTimeout")
	if err != nil {
		return nil, err
	}
	if !set {
		return nil, missing("VisibilityTimeout")
	}
	return empty{}, h.q.ChangeVisibility(c.r.Context(), name, in.ReceiptHandle, time.Duration(n)*time.Second)
}

func (h *Handler) changeMessageVisibilityBatch(_ *statusWriter, c *call) (any, error) {
	var in struct {
		QueueUrl string
		Entries  []struct {
			Id, ReceiptHandle string
			VisibilityTimeout flexInt
		}
	}
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	name, err := h.queueName(c, in.QueueUrl)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(in.Entries))
	for i, e := range in.Entries {
		ids[i] = e.Id
	}
	if err := checkBatchIDs("ChangeMessageVisibilityBatchRequestEntry", ids); err != nil {
		return nil, err
	}
	if err := h.q.Exists(c.r.Context(), name); err != nil {
		return nil, err
	}
	out := struct {
		Successful []idOnly
		Failed     []batchError
	}{Successful: []idOnly{}, Failed: []batchError{}}
	// Entries with bad parameters fail on their own; the others change in
	// one commit.
	changes := make([]queue.VisibilityChange, 0, len(in.Entries))
	idx := make([]int, 0, len(in.Entries))
	entryErr := make([]error, len(in.Entries))
	for i, e := range in.Entries {
		n, set, err := e.VisibilityTimeout.get("VisibilityTimeout")
		if err == nil && !set {
			err = missing("VisibilityTimeout")
		}
		if err != nil {
			entryErr[i] = err
			continue
		}
		changes = append(changes, queue.VisibilityChange{Handle: e.ReceiptHandle, Timeout: time.Duration(n) * time.Second})
		idx = append(idx, i)
	}
	if len(changes) > 0 {
		errs, err := h.q.ChangeVisibilityBatch(c.r.Context(), name, changes)
		if err != nil {
			return nil, err
		}
		for j, i := range idx {
			entryErr[i] = errs[j]
		}
	}
	for i, e := range in.Entries {
		if entryErr[i] != nil {
			out.Failed = append(out.Failed, toBatchError(e.Id, entryErr[i]))
			continue
		}
		out.Successful = append(out.Successful, idOnly{e.Id})
	}
	return out, nil
}
