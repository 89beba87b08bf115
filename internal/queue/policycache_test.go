package queue

import (
	"errors"
	"sync"
	"testing"

	"sluice/internal/policy"
)

// TestAllowsFollowsPolicyChanges: Allows caches parsed policies, so every
// change to a queue's record must be seen by the very next call.
func TestAllowsFollowsPolicyChanges(t *testing.T) {
	e := newEnv(t)
	allow := `{"Statement":[{"Effect":"Allow","Principal":{"Service":"s3.amazonaws.com"},"Action":"sqs:SendMessage","Resource":"*"}]}`
	deny := `{"Statement":[{"Effect":"Deny","Principal":"*","Action":"sqs:*","Resource":"*"}]}`
	e.create("q", map[string]string{AttrPolicy: allow})
	check := func(step string, want policy.Decision) {
		t.Helper()
		for range 2 { // the second call is served from the cache
			res, err := e.svc.Allows(e.ctx, e.svc.ARN("q"), "s3.amazonaws.com", "arn:aws:s3:::b", "000000000000")
			if err != nil || res.Decision != want {
				t.Fatalf("%s: Allows = %+v, %v; want %v", step, res, err, want)
			}
		}
	}
	check("created with an allowing policy", policy.Allowed)
	if err := e.svc.SetAttributes(e.ctx, "q", map[string]string{AttrPolicy: deny}); err != nil {
		t.Fatal(err)
	}
	check("policy set to deny", policy.ExplicitDeny)
	if err := e.svc.SetAttributes(e.ctx, "q", map[string]string{AttrPolicy: ""}); err != nil {
		t.Fatal(err)
	}
	check("policy removed", policy.ImplicitDeny)
	if err := e.svc.SetAttributes(e.ctx, "q", map[string]string{AttrPolicy: allow}); err != nil {
		t.Fatal(err)
	}
	check("policy set to allow", policy.Allowed)
	if err := e.svc.Delete(e.ctx, "q"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Allows(e.ctx, e.svc.ARN("q"), "s3.amazonaws.com", "arn:aws:s3:::b", "000000000000"); !errors.Is(err, ErrNoSuchQueue) {
		t.Fatalf("after DeleteQueue: Allows err = %v, want ErrNoSuchQueue", err)
	}
	e.create("q", nil)
	check("recreated without a policy", policy.ImplicitDeny)
}

// TestAllowsCacheRace: Allows racing SetAttributes never leaves a stale
// verdict behind once SetAttributes returned (run with -race).
func TestAllowsCacheRace(t *testing.T) {
	e := newEnv(t)
	allow := `{"Statement":[{"Effect":"Allow","Principal":{"Service":"s3.amazonaws.com"},"Action":"sqs:SendMessage","Resource":"*"}]}`
	e.create("q", map[string]string{AttrPolicy: allow})
	for i := range 30 {
		var wg sync.WaitGroup
		stop := make(chan struct{})
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					e.svc.Allows(e.ctx, e.svc.ARN("q"), "s3.amazonaws.com", "arn:aws:s3:::b", "000000000000")
				}
			}()
		}
		doc, want := allow, policy.Allowed
		if i%2 == 0 {
			doc, want = "", policy.ImplicitDeny
		}
		if err := e.svc.SetAttributes(e.ctx, "q", map[string]string{AttrPolicy: doc}); err != nil {
			t.Fatal(err)
		}
		res, err := e.svc.Allows(e.ctx, e.svc.ARN("q"), "s3.amazonaws.com", "arn:aws:s3:::b", "000000000000")
		close(stop)
		wg.Wait()
		if err != nil || res.Decision != want {
			t.Fatalf("round %d: Allows right after SetAttributes = %+v, %v; want %v", i, res, err, want)
		}
	}
}

// TestAllowsVerdictsPerSource: verdicts are cached per question, so
// alternating sources on one queue keep their own answers.
func TestAllowsVerdictsPerSource(t *testing.T) {
	e := newEnv(t)
	e.create("q", map[string]string{AttrPolicy: `{"Statement":[{"Effect":"Allow","Principal":{"Service":"s3.amazonaws.com"},` +
		`"Action":"sqs:SendMessage","Resource":"*","Condition":{"ArnLike":{"aws:SourceArn":"arn:aws:s3:::yes"}}}]}`})
	for i := range 6 {
		src, want := "arn:aws:s3:::yes", policy.Allowed
		if i%2 == 1 {
			src, want = "arn:aws:s3:::no", policy.ImplicitDeny
		}
		res, err := e.svc.Allows(e.ctx, e.svc.ARN("q"), "s3.amazonaws.com", src, "000000000000")
		if err != nil || res.Decision != want {
			t.Fatalf("call %d, source %s: Allows = %+v, %v; want %v", i, src, res, err, want)
		}
	}
}
