package queue

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestMD5OfAttributesVectors(t *testing.T) {
	// The published vectors (aws-wire 3.3; AWS SQS developer guide,
	// "Calculating the MD5 message digest for message attributes").
	cases := []struct {
		name  string
		attrs map[string]Attribute
		want  string
	}{
		{"one string", map[string]Attribute{"attribName1": {DataType: "String", StringValue: "attribValue 1"}}, "19e27d4e946b072f3f58da80d94fd778"},
		{"custom number type", map[string]Attribute{"customNumberTypeAttrib": {DataType: "Number.float", StringValue: "4563442423554324324264524243.32543234"}}, "9fe1b90bbd9965bdf77bac517c7d2495"},
		{"binary", map[string]Attribute{"binaryAttribute": {DataType: "Binary", BinaryValue: []byte("Hello binary world!")}}, "31a92b15d92f8db860eda32aceb656c3"},
		{"three", map[string]Attribute{
			"attribName1":            {DataType: "String", StringValue: "attribValue 1"},
			"customNumberTypeAttrib": {DataType: "Number.float", StringValue: "4563442423554324324264524243.32543234"},
			"binaryAttribute":        {DataType: "Binary", BinaryValue: []byte("Hello binary world!")},
		}, "c932db14a896c663f83c260297d594ff"},
		{"none", nil, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := MD5OfAttributes(tc.attrs); got != tc.want {
				t.Fatalf("MD5OfAttributes(%v) = %q, want %q", tc.attrs, got, tc.want)
			}
		})
	}
	if got := MD5OfBody("hi"); got != "49f68a5c8493ec2c0bf489821c21fc3b" {
		t.Fatalf("MD5OfBody(hi) = %s", got)
	}
}

func TestCreateIdempotentAndConflicting(t *testing.T) {
	e := newEnv(t)
	e.create("q1", map[string]string{AttrVisibilityTimeout: "60"})
	// Same attributes, subset, and defaults equal to current values: fine.
	e.create("q1", map[string]string{AttrVisibilityTimeout: "60"})
	e.create("q1", nil)
	e.create("q1", map[string]string{AttrDelaySeconds: "0"})
	err := e.svc.Create(e.ctx, "q1", map[string]string{AttrVisibilityTimeout: "30"}, nil)
	var ex *ExistsError
	if !errors.As(err, &ex) || ex.Attribute != AttrVisibilityTimeout {
		t.Fatalf("Create with a different VisibilityTimeout: err = %v, want ExistsError{VisibilityTimeout}", err)
	}
}

func TestCreateValidation(t *testing.T) {
	e := newEnv(t)
	cases := []struct {
		name  string
		qname string
		attrs map[string]string
		check func(error) bool
	}{
		{"empty name", "", nil, func(err error) bool { var p *ParameterError; return errors.As(err, &p) }},
		{"bad char", "a.b", nil, func(err error) bool { var p *ParameterError; return errors.As(err, &p) }},
		{"too long", strings.Repeat("a", 81), nil, func(err error) bool { var p *ParameterError; return errors.As(err, &p) }},
		{"fifo", "q.fifo", nil, func(err error) bool { var u *UnsupportedError; return errors.As(err, &u) }},
		{"fifo attr", "q", map[string]string{AttrFifoQueue: "true"}, func(err error) bool { var u *UnsupportedError; return errors.As(err, &u) }},
		{"unknown attr", "q", map[string]string{"Colour": "red"}, func(err error) bool { var a *AttributeNameError; return errors.As(err, &a) && a.Name == "Colour" }},
		{"read-only attr", "q", map[string]string{AttrQueueArn: "x"}, func(err error) bool { var a *AttributeNameError; return errors.As(err, &a) }},
		{"visibility high", "q", map[string]string{AttrVisibilityTimeout: "43201"}, func(err error) bool { var a *AttributeValueError; return errors.As(err, &a) }},
		{"retention low", "q", map[string]string{AttrMessageRetentionPeriod: "59"}, func(err error) bool { var a *AttributeValueError; return errors.As(err, &a) }},
		{"max size high", "q", map[string]string{AttrMaximumMessageSize: "1048577"}, func(err error) bool { var a *AttributeValueError; return errors.As(err, &a) }},
		{"wait high", "q", map[string]string{AttrReceiveMessageWaitTime: "21"}, func(err error) bool { var a *AttributeValueError; return errors.As(err, &a) }},
		{"delay not a number", "q", map[string]string{AttrDelaySeconds: "x"}, func(err error) bool { var a *AttributeValueError; return errors.As(err, &a) }},
		{"policy not json", "q", map[string]string{AttrPolicy: "{"}, func(err error) bool { var a *AttributeValueError; return errors.As(err, &a) }},
		{"redrive no dlq", "q", map[string]string{AttrRedrivePolicy: `{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:nope","maxReceiveCount":3}`}, func(err error) bool { var a *AttributeValueError; return errors.As(err, &a) }},
		{"redrive bad count", "q", map[string]string{AttrRedrivePolicy: `{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:nope","maxReceiveCount":0}`}, func(err error) bool { var a *AttributeValueError; return errors.As(err, &a) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := e.svc.Create(e.ctx, tc.qname, tc.attrs, nil)
			if !tc.check(err) {
				t.Fatalf("Create(%q, %v) err = %v (%T)", tc.qname, tc.attrs, err, err)
			}
			if tc.qname != "" && ValidName(tc.qname) {
				wantErr(t, "queue after a refused create", e.svc.Exists(e.ctx, tc.qname), ErrNoSuchQueue)
			}
		})
	}
}

func TestAttributesDefaultsAndSet(t *testing.T) {
	e := newEnv(t)
	e.create("q", nil)
	got, err := e.svc.Attributes(e.ctx, "q", []string{"All"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		AttrVisibilityTimeout: "30", AttrMaximumMessageSize: "1048576", AttrMessageRetentionPeriod: "345600",
		AttrDelaySeconds: "0", AttrReceiveMessageWaitTime: "0", AttrSqsManagedSseEnabled: "true",
		AttrApproximateNumberOfMessages: "0", AttrApproximateNotVisible: "0", AttrApproximateDelayed: "0",
		AttrQueueArn:         "arn:aws:sqs:us-east-1:000000000000:q",
		AttrCreatedTimestamp: fmt.Sprint(t0.Unix()), AttrLastModifiedTimestamp: fmt.Sprint(t0.Unix()),
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Attributes(All) =\n%v\nwant\n%v", got, want)
	}
	e.clock.Advance(time.Minute)
	if err := e.svc.SetAttributes(e.ctx, "q", map[string]string{AttrVisibilityTimeout: "5", AttrPolicy: `{"Statement":[]}`}); err != nil {
		t.Fatal(err)
	}
	got, _ = e.svc.Attributes(e.ctx, "q", []string{AttrVisibilityTimeout, AttrPolicy, AttrLastModifiedTimestamp})
	if got[AttrVisibilityTimeout] != "5" || got[AttrPolicy] != `{"Statement":[]}` || got[AttrLastModifiedTimestamp] != fmt.Sprint(t0.Add(time.Minute).Unix()) {
		t.Fatalf("after SetAttributes: %v", got)
	}
	// All or nothing.
	err = e.svc.SetAttributes(e.ctx, "q", map[string]string{AttrVisibilityTimeout: "6", AttrDelaySeconds: "901"})
	var ave *AttributeValueError
	if !errors.As(err, &ave) || ave.Name != AttrDelaySeconds {
		t.Fatalf("SetAttributes with a bad DelaySeconds: %v", err)
	}
	got, _ = e.svc.Attributes(e.ctx, "q", []string{AttrVisibilityTimeout})
	if got[AttrVisibilityTimeout] != "5" {
		t.Fatalf("a refused SetAttributes changed VisibilityTimeout to %s", got[AttrVisibilityTimeout])
	}
	if _, err := e.svc.Attributes(e.ctx, "q", []string{"Nope"}); !errors.As(err, new(*AttributeNameError)) {
		t.Fatalf("Attributes(Nope): %v", err)
	}
	if _, err := e.svc.Attributes(e.ctx, "missing", []string{"All"}); !errors.Is(err, ErrNoSuchQueue) {
		t.Fatalf("Attributes of a missing queue: %v", err)
	}
}

func TestSendReceiveDelete(t *testing.T) {
	e := newEnv(t)
	e.create("q", nil)
	attrs := map[string]Attribute{"a": {DataType: "String", StringValue: "x"}, "n": {DataType: "Number.int", StringValue: "12"}}
	res, err := e.svc.Send(e.ctx, "q", SendInput{Body: "hello", Attributes: attrs, TraceHeader: "Root=1-abc", SenderID: "AIDA1"})
	if err != nil {
		t.Fatal(err)
	}
	if res.MD5OfBody != MD5OfBody("hello") || res.MD5OfAttributes != MD5OfAttributes(attrs) || len(res.MessageID) != 36 {
		t.Fatalf("SendResult = %+v", res)
	}
	e.clock.Advance(time.Second)
	msgs := e.receiveNow("q", 10, nil)
	if len(msgs) != 1 {
		t.Fatalf("received %d messages, want 1", len(msgs))
	}
	m := msgs[0]
	if m.ID != res.MessageID || m.Body != "hello" || m.SenderID != "AIDA1" || m.TraceHeader != "Root=1-abc" ||
		m.ReceiveCount != 1 || !m.Sent.Equal(t0) || !m.FirstReceive.Equal(t0.Add(time.Second)) || !reflect.DeepEqual(m.Attributes, attrs) {
		t.Fatalf("received %+v", m)
	}
	// Hidden for the visibility timeout (30 s default).
	if again := e.receiveNow("q", 10, nil); len(again) != 0 {
		t.Fatalf("message handed out twice within its visibility window")
	}
	e.clock.Advance(30 * time.Second)
	again := e.receiveNow("q", 10, nil)
	if len(again) != 1 || again[0].ReceiveCount != 2 || again[0].ReceiptHandle == m.ReceiptHandle {
		t.Fatalf("after the visibility timeout: %+v", again)
	}
	// The old handle is stale: deleting with it is silently nothing.
	if err := e.svc.DeleteMessage(e.ctx, "q", m.ReceiptHandle); err != nil {
		t.Fatalf("DeleteMessage with a stale handle: %v", err)
	}
	if err := e.svc.DeleteMessage(e.ctx, "q", again[0].ReceiptHandle); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Hour)
	if left := e.receiveNow("q", 10, nil); len(left) != 0 {
		t.Fatalf("deleted message came back: %+v", left)
	}
	wantErr(t, "malformed handle", e.svc.DeleteMessage(e.ctx, "q", "not base64!"), ErrInvalidReceipt)
	e.create("other", nil)
	wantErr(t, "handle of another queue", e.svc.DeleteMessage(e.ctx, "other", again[0].ReceiptHandle), ErrInvalidReceipt)
	wantErr(t, "missing queue", e.svc.DeleteMessage(e.ctx, "gone", again[0].ReceiptHandle), ErrNoSuchQueue)
}

func TestChangeVisibility(t *testing.T) {
	e := newEnv(t)
	e.create("q", nil)
	e.send("q", "m")
	m := e.receiveNow("q", 1, nil)[0]
	if err := e.svc.ChangeVisibility(e.ctx, "q", m.ReceiptHandle, 0); err != nil {
		t.Fatal(err)
	}
	m2 := e.receiveNow("q", 1, dur(10*time.Second))
	if len(m2) != 1 {
		t.Fatal("ChangeVisibility(0) did not make the message visible")
	}
	if err := e.svc.ChangeVisibility(e.ctx, "q", m2[0].ReceiptHandle, 100*time.Second); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(99 * time.Second)
	if n := len(e.receiveNow("q", 1, nil)); n != 0 {
		t.Fatal("extended message visible before its new timeout")
	}
	e.clock.Advance(2 * time.Second)
	wantErr(t, "ChangeVisibility after the lease ran out", e.svc.ChangeVisibility(e.ctx, "q", m2[0].ReceiptHandle, time.Second), ErrNotInflight)
	wantErr(t, "ChangeVisibility with an old handle", e.svc.ChangeVisibility(e.ctx, "q", m.ReceiptHandle, time.Second), ErrNotInflight)
	if err := e.svc.ChangeVisibility(e.ctx, "q", m.ReceiptHandle, 43201*time.Second); !errors.As(err, new(*ParameterError)) {
		t.Fatalf("ChangeVisibility(43201s): %v", err)
	}
}

func TestRelease(t *testing.T) {
	e := newEnv(t)
	e.create("q", nil)
	e.send("q", "m")
	m := e.receiveNow("q", 1, nil)
	if err := e.svc.Release(e.ctx, "q", []string{m[0].ReceiptHandle}); err != nil {
		t.Fatal(err)
	}
	if got := e.receiveNow("q", 1, nil); len(got) != 1 || got[0].ID != m[0].ID {
		t.Fatalf("released message not visible at once: %+v", got)
	}
}

func TestDelaySeconds(t *testing.T) {
	e := newEnv(t)
	e.create("q", map[string]string{AttrDelaySeconds: "5"})
	e.send("q", "queue delay")
	ten := 10
	if _, err := e.svc.Send(e.ctx, "q", SendInput{Body: "own delay", DelaySeconds: &ten}); err != nil {
		t.Fatal(err)
	}
	attrs, _ := e.svc.Attributes(e.ctx, "q", []string{AttrApproximateDelayed})
	if attrs[AttrApproximateDelayed] != "2" {
		t.Fatalf("ApproximateNumberOfMessagesDelayed = %s, want 2", attrs[AttrApproximateDelayed])
	}
	if n := len(e.receiveNow("q", 10, nil)); n != 0 {
		t.Fatalf("%d delayed messages visible at once", n)
	}
	e.clock.Advance(5 * time.Second)
	if got := e.receiveNow("q", 10, nil); len(got) != 1 || got[0].Body != "queue delay" {
		t.Fatalf("after 5 s: %+v", got)
	}
	e.clock.Advance(5 * time.Second)
	if got := e.receiveNow("q", 10, nil); len(got) != 1 || got[0].Body != "own delay" {
		t.Fatalf("after 10 s: %+v", got)
	}
	bad := 901
	if _, err := e.svc.Send(e.ctx, "q", SendInput{Body: "x", DelaySeconds: &bad}); !errors.As(err, new(*ParameterError)) {
		t.Fatalf("DelaySeconds 901: %v", err)
	}
}

func TestSendValidationStoresNothing(t *testing.T) {
	e := newEnv(t)
	e.create("q", map[string]string{AttrMaximumMessageSize: "1024"})
	cases := []struct {
		name  string
		in    SendInput
		check func(error) bool
	}{
		{"empty body", SendInput{}, func(err error) bool { return errors.As(err, new(*MissingError)) }},
		{"too large", SendInput{Body: strings.Repeat("x", 1025)}, func(err error) bool { return errors.As(err, new(*ParameterError)) }},
		{"too large with attributes", SendInput{Body: strings.Repeat("x", 1000), Attributes: map[string]Attribute{"name": {DataType: "String", StringValue: strings.Repeat("v", 20)}}}, func(err error) bool { return errors.As(err, new(*ParameterError)) }},
		{"control char", SendInput{Body: "a\x00b"}, func(err error) bool { return errors.As(err, new(*ContentsError)) }},
		{"surrogate-range char", SendInput{Body: "a\uFFFEb"}, func(err error) bool { return errors.As(err, new(*ContentsError)) }},
		{"invalid utf-8", SendInput{Body: "a\xffb"}, func(err error) bool { return errors.As(err, new(*ContentsError)) }},
		{"attr reserved name", SendInput{Body: "x", Attributes: map[string]Attribute{"AWS.x": {DataType: "String", StringValue: "v"}}}, func(err error) bool { return errors.As(err, new(*ParameterError)) }},
		{"attr bad type", SendInput{Body: "x", Attributes: map[string]Attribute{"a": {DataType: "Blob", StringValue: "v"}}}, func(err error) bool { return errors.As(err, new(*ParameterError)) }},
		{"attr no value", SendInput{Body: "x", Attributes: map[string]Attribute{"a": {DataType: "String"}}}, func(err error) bool { return errors.As(err, new(*ParameterError)) }},
		{"attr not a number", SendInput{Body: "x", Attributes: map[string]Attribute{"a": {DataType: "Number", StringValue: "one"}}}, func(err error) bool { return errors.As(err, new(*ParameterError)) }},
		{"eleven attrs", SendInput{Body: "x", Attributes: elevenAttrs()}, func(err error) bool { return errors.As(err, new(*ParameterError)) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.svc.Send(e.ctx, "q", tc.in)
			if !tc.check(err) {
				t.Fatalf("Send: err = %v (%T)", err, err)
			}
			if n := e.visible("q"); n != 0 {
				t.Fatalf("a refused message was stored (%d visible)", n)
			}
		})
	}
	// Exactly at the limit and every valid character class is fine.
	if _, err := e.svc.Send(e.ctx, "q", SendInput{Body: strings.Repeat("x", 1024)}); err != nil {
		t.Fatalf("1024-byte body: %v", err)
	}
	if _, err := e.svc.Send(e.ctx, "q", SendInput{Body: "\t\n\r \uD7FF\uE000\uFFFD\U00010000\U0010FFFF"}); err != nil {
		t.Fatalf("valid characters: %v", err)
	}
	if _, err := e.svc.Send(e.ctx, "missing", SendInput{Body: "x"}); !errors.Is(err, ErrNoSuchQueue) {
		t.Fatalf("send to a missing queue: %v", err)
	}
}

func elevenAttrs() map[string]Attribute {
	m := map[string]Attribute{}
	for i := 0; i < 11; i++ {
		m[fmt.Sprintf("a%d", i)] = Attribute{DataType: "String", StringValue: "v"}
	}
	return m
}

func TestSendBatchPartialFailure(t *testing.T) {
	e := newEnv(t)
	e.create("q", nil)
	res, errs, err := e.svc.SendBatch(e.ctx, "q", []SendInput{{Body: "one"}, {Body: "bad\x01"}, {Body: "three"}})
	if err != nil {
		t.Fatal(err)
	}
	if errs[0] != nil || errs[2] != nil || !errors.As(errs[1], new(*ContentsError)) {
		t.Fatalf("errs = %v", errs)
	}
	if res[0].MD5OfBody != MD5OfBody("one") || res[2].MD5OfBody != MD5OfBody("three") {
		t.Fatalf("results = %+v", res)
	}
	if n := e.visible("q"); n != 2 {
		t.Fatalf("visible = %d, want 2", n)
	}
}

func TestRedriveToDeadLetterQueue(t *testing.T) {
	e := newEnv(t)
	e.create("dlq", nil)
	e.create("src", map[string]string{AttrRedrivePolicy: `{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:dlq","maxReceiveCount":"2"}`})
	attrs, _ := e.svc.Attributes(e.ctx, "src", []string{AttrRedrivePolicy})
	if want := `{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:dlq","maxReceiveCount":2}`; attrs[AttrRedrivePolicy] != want {
		t.Fatalf("RedrivePolicy = %s, want %s", attrs[AttrRedrivePolicy], want)
	}
	sent := e.send("src", "poison")
	for i := 1; i <= 2; i++ {
		got := e.receiveNow("src", 1, dur(0))
		if len(got) != 1 || got[0].ReceiveCount != i {
			t.Fatalf("receive %d: %+v", i, got)
		}
	}
	if got := e.receiveNow("src", 1, dur(0)); len(got) != 0 {
		t.Fatalf("third receive delivered the message instead of moving it: %+v", got)
	}
	got := e.receiveNow("dlq", 1, nil)
	if len(got) != 1 || got[0].ID != sent.MessageID || got[0].Body != "poison" || got[0].DeadLetterSourceARN != e.svc.ARN("src") {
		t.Fatalf("dead-letter queue got %+v", got)
	}
	names, more, err := e.svc.DeadLetterSources(e.ctx, "dlq", "", 10)
	if err != nil || more || !reflect.DeepEqual(names, []string{"src"}) {
		t.Fatalf("DeadLetterSources = %v, %v, %v", names, more, err)
	}
}

func TestRedriveAllowPolicy(t *testing.T) {
	e := newEnv(t)
	e.create("dlq", map[string]string{AttrRedriveAllowPolicy: `{"redrivePermission":"byQueue","sourceQueueArns":["arn:aws:sqs:us-east-1:000000000000:ok"]}`})
	rp := map[string]string{AttrRedrivePolicy: `{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:dlq","maxReceiveCount":1}`}
	e.create("ok", rp)
	if err := e.svc.Create(e.ctx, "refused", rp, nil); !errors.As(err, new(*AttributeValueError)) {
		t.Fatalf("source not in sourceQueueArns: %v", err)
	}
}

func TestRetention(t *testing.T) {
	e := newEnv(t)
	e.create("q", map[string]string{AttrMessageRetentionPeriod: "60"})
	e.send("q", "old")
	e.clock.Advance(61 * time.Second)
	e.send("q", "new")
	got := e.receiveNow("q", 10, nil)
	if len(got) != 1 || got[0].Body != "new" {
		t.Fatalf("after retention: %+v", got)
	}
}

func TestPurgeOncePerMinute(t *testing.T) {
	e := newEnv(t)
	e.create("q", nil)
	e.send("q", "a")
	e.send("q", "b")
	if err := e.svc.Purge(e.ctx, "q"); err != nil {
		t.Fatal(err)
	}
	if n := e.visible("q"); n != 0 {
		t.Fatalf("%d messages after purge", n)
	}
	e.clock.Advance(59 * time.Second)
	wantErr(t, "second purge within 60 s", e.svc.Purge(e.ctx, "q"), ErrPurgeInProgress)
	e.clock.Advance(time.Second)
	if err := e.svc.Purge(e.ctx, "q"); err != nil {
		t.Fatalf("purge after 60 s: %v", err)
	}
}

func TestDeleteAndRecreateSeesNoOldMessages(t *testing.T) {
	e := newEnv(t)
	e.create("q", nil)
	e.send("q", "old")
	m := e.receiveNow("q", 1, dur(0))
	if err := e.svc.Delete(e.ctx, "q"); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "deleted queue", e.svc.Exists(e.ctx, "q"), ErrNoSuchQueue)
	e.create("q", nil)
	if got := e.receiveNow("q", 10, nil); len(got) != 0 {
		t.Fatalf("recreated queue sees %+v", got)
	}
	// A handle of the old incarnation is stale, not invalid.
	if err := e.svc.DeleteMessage(e.ctx, "q", m[0].ReceiptHandle); err != nil {
		t.Fatalf("old incarnation's handle: %v", err)
	}
}

func TestListAndTags(t *testing.T) {
	e := newEnv(t)
	for _, n := range []string{"b1", "a1", "a2", "a3", "c"} {
		e.create(n, nil)
	}
	names, more, err := e.svc.List(e.ctx, "a", "", 2)
	if err != nil || !more || !reflect.DeepEqual(names, []string{"a1", "a2"}) {
		t.Fatalf("List(a, 2) = %v %v %v", names, more, err)
	}
	names, more, _ = e.svc.List(e.ctx, "a", "a2", 2)
	if more || !reflect.DeepEqual(names, []string{"a3"}) {
		t.Fatalf("List(a, after a2) = %v %v", names, more)
	}
	names, _, _ = e.svc.List(e.ctx, "", "", 1000)
	if !reflect.DeepEqual(names, []string{"a1", "a2", "a3", "b1", "c"}) {
		t.Fatalf("List() = %v", names)
	}
	if err := e.svc.Tag(e.ctx, "c", map[string]string{"k": "v", "x": "y"}); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Untag(e.ctx, "c", []string{"x", "absent"}); err != nil {
		t.Fatal(err)
	}
	tags, _ := e.svc.Tags(e.ctx, "c")
	if !reflect.DeepEqual(tags, map[string]string{"k": "v"}) {
		t.Fatalf("Tags = %v", tags)
	}
}
