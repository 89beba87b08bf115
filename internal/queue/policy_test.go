package queue

import (
	"errors"
	"strings"
	"testing"

	"sluice/internal/policy"
	"sluice/internal/storage"
)

func TestAllows(t *testing.T) {
	e := newEnv(t)
	e.create("nopolicy", nil)
	s3Policy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"s3.amazonaws.com"},
 "Action":"SQS:SendMessage","Resource":"arn:aws:sqs:us-east-1:000000000000:q1",
 "Condition":{"ArnLike":{"aws:SourceArn":"arn:aws:s3:*:*:b1"},"StringEquals":{"aws:SourceAccount":"000000000000"}}},
 {"Effect":"Deny","Principal":"*","Action":"sqs:*","Resource":"*","Condition":{"ArnLike":{"aws:SourceArn":"arn:aws:s3:::blocked"}}}]}`
	e.create("q1", map[string]string{AttrPolicy: s3Policy})
	cases := []struct {
		name, queue, service, source, account string
		want                                  policy.Decision
	}{
		{"allowed bucket", "q1", "s3.amazonaws.com", "arn:aws:s3:::b1", "000000000000", policy.Allowed},
		{"other bucket", "q1", "s3.amazonaws.com", "arn:aws:s3:::b2", "000000000000", policy.ImplicitDeny},
		{"other account", "q1", "s3.amazonaws.com", "arn:aws:s3:::b1", "111111111111", policy.ImplicitDeny},
		{"other service", "q1", "sns.amazonaws.com", "arn:aws:s3:::b1", "000000000000", policy.ImplicitDeny},
		{"explicit deny", "q1", "s3.amazonaws.com", "arn:aws:s3:::blocked", "000000000000", policy.ExplicitDeny},
		{"no policy", "nopolicy", "s3.amazonaws.com", "arn:aws:s3:::b1", "000000000000", policy.ImplicitDeny},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, err := e.svc.Allows(e.ctx, e.svc.ARN(tc.queue), tc.service, tc.source, tc.account)
			if err != nil || res.Decision != tc.want {
				t.Fatalf("Allows = %+v, %v; want %v", res, err, tc.want)
			}
			if tc.want != policy.Allowed && res.Reason == "" {
				t.Fatal("a refusal without a reason")
			}
		})
	}
	res, _ := e.svc.Allows(e.ctx, e.svc.ARN("nopolicy"), "s3.amazonaws.com", "arn:aws:s3:::b1", "000000000000")
	if !strings.Contains(res.Reason, "no Policy") {
		t.Fatalf("reason for a queue without policy = %q", res.Reason)
	}
	if _, err := e.svc.Allows(e.ctx, e.svc.ARN("absent"), "s3.amazonaws.com", "", ""); !errors.Is(err, ErrNoSuchQueue) {
		t.Fatalf("Allows on a missing queue: %v", err)
	}
	// A malformed policy is refused when it is set.
	err := e.svc.SetAttributes(e.ctx, "q1", map[string]string{AttrPolicy: `{"Statement":[{"Effect":"Maybe"}]}`})
	if !errors.As(err, new(*AttributeValueError)) {
		t.Fatalf("malformed policy: %v", err)
	}
}

func TestEnqueueTx(t *testing.T) {
	e := newEnv(t)
	e.create("events", nil)
	var id string
	err := e.store.Update(e.ctx, func(tx storage.Tx) error {
		var err error
		id, err = e.svc.EnqueueTx(tx, "events", []byte(`{"Records":[]}`), "s3.amazonaws.com", nil)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	got := e.receiveNow("events", 1, nil)
	if len(got) != 1 || got[0].ID != id || got[0].Body != `{"Records":[]}` || got[0].SenderID != "s3.amazonaws.com" {
		t.Fatalf("received %+v", got)
	}
	err = e.store.Update(e.ctx, func(tx storage.Tx) error {
		_, err := e.svc.EnqueueTx(tx, "absent", []byte("x"), "", nil)
		return err
	})
	if !errors.Is(err, ErrNoSuchQueue) {
		t.Fatalf("EnqueueTx to a missing queue: %v", err)
	}
}
