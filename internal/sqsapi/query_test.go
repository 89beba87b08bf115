package sqsapi

import (
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"sluice/internal/queue"
)

// Query-protocol requests as older SDKs send them: signed forms with
// flattened names, XML responses.

type xmlAttr struct {
	Name  string
	Value string
}

type xmlMessage struct {
	MessageId              string
	ReceiptHandle          string
	MD5OfBody              string
	Body                   string
	Attribute              []xmlAttr
	MD5OfMessageAttributes string
	MessageAttribute       []struct {
		Name  string
		Value struct {
			DataType    string
			StringValue string
			BinaryValue string
		}
	}
}

func TestQueryProtocolRoundTrip(t *testing.T) {
	e := newEnv(t)
	status, body := e.query("/", url.Values{"Action": {"CreateQueue"}, "Version": {"2012-11-05"}, "QueueName": {"legacy"},
		"Attribute.1.Name": {"VisibilityTimeout"}, "Attribute.1.Value": {"45"}, "Tag.1.Key": {"team"}, "Tag.1.Value": {"x"}})
	var created struct {
		XMLName  xml.Name `xml:"CreateQueueResponse"`
		QueueUrl string   `xml:"CreateQueueResult>QueueUrl"`
		ReqID    string   `xml:"ResponseMetadata>RequestId"`
	}
	if status != 200 || xml.Unmarshal([]byte(body), &created) != nil || created.QueueUrl != e.url("legacy") || created.ReqID == "" {
		t.Fatalf("CreateQueue: %d %s", status, body)
	}
	if !strings.Contains(body, `xmlns="http://queue.amazonaws.com/doc/2012-11-05/"`) {
		t.Fatalf("CreateQueue response without the SQS namespace: %s", body)
	}

	status, body = e.query("/", url.Values{"Action": {"GetQueueAttributes"}, "Version": {"2012-11-05"}, "QueueUrl": {created.QueueUrl},
		"AttributeName.1": {"VisibilityTimeout"}, "AttributeName.2": {"QueueArn"}})
	var attrs struct {
		Attribute []xmlAttr `xml:"GetQueueAttributesResult>Attribute"`
	}
	xml.Unmarshal([]byte(body), &attrs)
	if status != 200 || !reflect.DeepEqual(attrs.Attribute, []xmlAttr{{"QueueArn", "arn:aws:sqs:us-east-1:000000000000:legacy"}, {"VisibilityTimeout", "45"}}) {
		t.Fatalf("GetQueueAttributes: %d %s", status, body)
	}

	// SendMessage POSTed to the queue's own path without QueueUrl.
	status, body = e.query("/000000000000/legacy", url.Values{"Action": {"SendMessage"}, "Version": {"2012-11-05"}, "MessageBody": {"old school"},
		"MessageAttribute.1.Name": {"k"}, "MessageAttribute.1.Value.DataType": {"String"}, "MessageAttribute.1.Value.StringValue": {"v"},
		"MessageAttribute.2.Name": {"bin"}, "MessageAttribute.2.Value.DataType": {"Binary"}, "MessageAttribute.2.Value.BinaryValue": {base64.StdEncoding.EncodeToString([]byte{9, 8})},
		"DelaySeconds": {"0"}})
	var sent struct {
		MessageId              string `xml:"SendMessageResult>MessageId"`
		MD5OfMessageBody       string `xml:"SendMessageResult>MD5OfMessageBody"`
		MD5OfMessageAttributes string `xml:"SendMessageResult>MD5OfMessageAttributes"`
	}
	xml.Unmarshal([]byte(body), &sent)
	wantAttrs := map[string]queue.Attribute{"k": {DataType: "String", StringValue: "v"}, "bin": {DataType: "Binary", BinaryValue: []byte{9, 8}}}
	if status != 200 || sent.MessageId == "" || sent.MD5OfMessageBody != queue.MD5OfBody("old school") || sent.MD5OfMessageAttributes != queue.MD5OfAttributes(wantAttrs) {
		t.Fatalf("SendMessage: %d %s", status, body)
	}

	status, body = e.query("/", url.Values{"Action": {"ReceiveMessage"}, "Version": {"2012-11-05"}, "QueueUrl": {created.QueueUrl},
		"AttributeName.1": {"All"}, "MessageAttributeName.1": {"All"}, "MaxNumberOfMessages": {"10"}})
	var recv struct {
		Messages []xmlMessage `xml:"ReceiveMessageResult>Message"`
	}
	if err := xml.Unmarshal([]byte(body), &recv); err != nil || status != 200 || len(recv.Messages) != 1 {
		t.Fatalf("ReceiveMessage: %d %s (%v)", status, body, err)
	}
	m := recv.Messages[0]
	if m.MessageId != sent.MessageId || m.Body != "old school" || m.MD5OfBody != sent.MD5OfMessageBody || m.MD5OfMessageAttributes != sent.MD5OfMessageAttributes || len(m.MessageAttribute) != 2 {
		t.Fatalf("received %+v", m)
	}
	sys := map[string]string{}
	for _, a := range m.Attribute {
		sys[a.Name] = a.Value
	}
	if sys["ApproximateReceiveCount"] != "1" || sys["SenderId"] != "AIDASLUICE" {
		t.Fatalf("system attributes %v", sys)
	}

	status, body = e.query("/", url.Values{"Action": {"DeleteMessageBatch"}, "Version": {"2012-11-05"}, "QueueUrl": {created.QueueUrl},
		"DeleteMessageBatchRequestEntry.1.Id": {"one"}, "DeleteMessageBatchRequestEntry.1.ReceiptHandle": {m.ReceiptHandle},
		"DeleteMessageBatchRequestEntry.2.Id": {"two"}, "DeleteMessageBatchRequestEntry.2.ReceiptHandle": {"bogus"}})
	var del struct {
		OK  []string `xml:"DeleteMessageBatchResult>DeleteMessageBatchResultEntry>Id"`
		Bad []struct {
			Id, Code    string
			SenderFault bool
		} `xml:"DeleteMessageBatchResult>BatchResultErrorEntry"`
	}
	xml.Unmarshal([]byte(body), &del)
	if status != 200 || !reflect.DeepEqual(del.OK, []string{"one"}) || len(del.Bad) != 1 || del.Bad[0].Id != "two" || del.Bad[0].Code != "ReceiptHandleIsInvalid" || !del.Bad[0].SenderFault {
		t.Fatalf("DeleteMessageBatch: %d %s", status, body)
	}

	status, body = e.query("/", url.Values{"Action": {"ListQueues"}, "Version": {"2012-11-05"}})
	var list struct {
		URLs []string `xml:"ListQueuesResult>QueueUrl"`
	}
	xml.Unmarshal([]byte(body), &list)
	if status != 200 || !reflect.DeepEqual(list.URLs, []string{created.QueueUrl}) {
		t.Fatalf("ListQueues: %d %s", status, body)
	}

	status, body = e.query("/", url.Values{"Action": {"ListQueueTags"}, "Version": {"2012-11-05"}, "QueueUrl": {created.QueueUrl}})
	var tags struct {
		Tags []struct{ Key, Value string } `xml:"ListQueueTagsResult>Tag"`
	}
	xml.Unmarshal([]byte(body), &tags)
	if status != 200 || len(tags.Tags) != 1 || tags.Tags[0].Key != "team" || tags.Tags[0].Value != "x" {
		t.Fatalf("ListQueueTags: %d %s", status, body)
	}
}

type queryError struct {
	Type, Code, Message string
}

func parseQueryError(t *testing.T, body string) queryError {
	t.Helper()
	var doc struct {
		XMLName xml.Name   `xml:"ErrorResponse"`
		Error   queryError `xml:"Error"`
		ReqID   string     `xml:"RequestId"`
	}
	if err := xml.Unmarshal([]byte(body), &doc); err != nil || doc.ReqID == "" {
		t.Fatalf("not a query error document (%v): %s", err, body)
	}
	return doc.Error
}

func TestQueryProtocolErrors(t *testing.T) {
	e := newEnv(t)
	e.createQueue("q", nil)
	cases := []struct {
		name   string
		form   url.Values
		status int
		code   string
	}{
		{"no such queue", url.Values{"Action": {"GetQueueUrl"}, "Version": {"2012-11-05"}, "QueueName": {"nope"}}, 400, "AWS.SimpleQueueService.NonExistentQueue"},
		{"unknown action", url.Values{"Action": {"Frobnicate"}, "Version": {"2012-11-05"}}, 400, "InvalidAction"},
		{"bad attribute", url.Values{"Action": {"SetQueueAttributes"}, "Version": {"2012-11-05"}, "QueueUrl": {e.url("q")}, "Attribute.1.Name": {"Nope"}, "Attribute.1.Value": {"1"}}, 400, "InvalidAttributeName"},
		{"too many entries", tooManyEntries(e.url("q")), 400, "AWS.SimpleQueueService.TooManyEntriesInBatchRequest"},
		{"not a number", url.Values{"Action": {"ReceiveMessage"}, "Version": {"2012-11-05"}, "QueueUrl": {e.url("q")}, "WaitTimeSeconds": {"soon"}}, 400, "InvalidParameterValue"},
		{"wait too long", url.Values{"Action": {"ReceiveMessage"}, "Version": {"2012-11-05"}, "QueueUrl": {e.url("q")}, "WaitTimeSeconds": {"21"}}, 400, "InvalidParameterValue"},
		{"missing body", url.Values{"Action": {"SendMessage"}, "Version": {"2012-11-05"}, "QueueUrl": {e.url("q")}}, 400, "MissingParameter"},
		{"other account", url.Values{"Action": {"SendMessage"}, "Version": {"2012-11-05"}, "QueueUrl": {"http://h/111111111111/q"}, "MessageBody": {"x"}}, 400, "AWS.SimpleQueueService.NonExistentQueue"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, body := e.query("/", tc.form)
			if got := parseQueryError(t, body); status != tc.status || got.Code != tc.code || got.Type != "Sender" || got.Message == "" {
				t.Fatalf("status %d, error %+v; want %d %s", status, got, tc.status, tc.code)
			}
		})
	}
}

func tooManyEntries(u string) url.Values {
	f := url.Values{"Action": {"SendMessageBatch"}, "Version": {"2012-11-05"}, "QueueUrl": {u}}
	for i := 1; i <= 11; i++ {
		f.Set(fmt.Sprintf("SendMessageBatchRequestEntry.%d.Id", i), fmt.Sprint("e", i))
		f.Set(fmt.Sprintf("SendMessageBatchRequestEntry.%d.MessageBody", i), "b")
	}
	return f
}

func TestAuthenticationErrors(t *testing.T) {
	e := newEnv(t)
	form := url.Values{"Action": {"ListQueues"}, "Version": {"2012-11-05"}}
	status, body := e.queryWith("/", form, "", "")
	if got := parseQueryError(t, body); status != 403 || got.Code != "MissingAuthenticationToken" {
		t.Fatalf("unsigned: %d %+v", status, got)
	}
	status, body = e.queryWith("/", form, "AKIDUNKNOWN", "x")
	if got := parseQueryError(t, body); status != 403 || got.Code != "InvalidClientTokenId" {
		t.Fatalf("unknown key: %d %+v", status, got)
	}
	status, body = e.queryWith("/", form, testAccessKey, "wrong secret")
	if got := parseQueryError(t, body); status != 403 || got.Code != "SignatureDoesNotMatch" {
		t.Fatalf("wrong secret: %d %+v", status, got)
	}
}

func TestJSONErrorShape(t *testing.T) {
	e := newEnv(t)
	resp, body := e.jsonCall("GetQueueUrl", `{"QueueName":"absent"}`)
	var doc struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
	}
	json.Unmarshal([]byte(body), &doc)
	if resp.StatusCode != 400 || resp.Header.Get("Content-Type") != "application/x-amz-json-1.0" ||
		resp.Header.Get("x-amzn-query-error") != "AWS.SimpleQueueService.NonExistentQueue;Sender" ||
		resp.Header.Get("x-amzn-RequestId") == "" ||
		doc.Type != "com.amazonaws.sqs#QueueDoesNotExist" || doc.Message != "The specified queue does not exist." {
		t.Fatalf("%d %v %s", resp.StatusCode, resp.Header, body)
	}
	resp, body = e.jsonCall("Frobnicate", `{}`)
	if resp.StatusCode != 400 || resp.Header.Get("x-amzn-query-error") != "InvalidAction;Sender" {
		t.Fatalf("unknown action: %d %v %s", resp.StatusCode, resp.Header, body)
	}
	// Numbers may come as strings, as some JSON clients send them.
	e.createQueue("n", nil)
	resp, body = e.jsonCall("ReceiveMessage", `{"QueueUrl":"`+e.url("n")+`","MaxNumberOfMessages":"11"}`)
	if resp.StatusCode != 400 || !strings.Contains(body, "MaxNumberOfMessages") {
		t.Fatalf("MaxNumberOfMessages 11: %d %s", resp.StatusCode, body)
	}
	resp, body = e.jsonCall("ListQueues", `{`)
	if resp.StatusCode != 400 {
		t.Fatalf("malformed JSON: %d %s", resp.StatusCode, body)
	}
}
