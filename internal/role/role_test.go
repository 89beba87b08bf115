package role

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"sluice/internal/clock"
	"sluice/internal/storage/pebblestore"
)

const lambdaTrust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`

func newService(t *testing.T) (*Service, *clock.Fake) {
	t.Helper()
	fc := clock.NewFake(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	st, err := pebblestore.Open(pebblestore.Options{Dir: "db", FS: vfs.NewMem(), Clock: fc})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return New(Config{Store: st, Clock: fc, AccountID: "000000000000"}), fc
}

func TestCreateGetDelete(t *testing.T) {
	s, _ := newService(t)
	ctx := context.Background()
	r, err := s.Create(ctx, CreateInput{Name: "Hello", Path: "/svc/", TrustPolicy: lambdaTrust})
	if err != nil {
		t.Fatal(err)
	}
	if r.ARN != "arn:aws:iam::000000000000:role/svc/Hello" || !strings.HasPrefix(r.ID, "AROA") || len(r.ID) != 21 || r.MaxSession != 3600 {
		t.Fatalf("created %+v", r)
	}
	if !r.Created.Equal(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)) {
		t.Fatalf("Created = %v, want the fake clock's time", r.Created)
	}
	// Names are unique regardless of case, and found in any case.
	if _, err := s.Create(ctx, CreateInput{Name: "hello", TrustPolicy: lambdaTrust}); !errors.Is(err, ErrExists) {
		t.Fatalf("Create(hello) = %v, want ErrExists", err)
	}
	got, err := s.Get(ctx, "HELLO")
	if err != nil || got.ID != r.ID || got.Name != "Hello" {
		t.Fatalf("Get(HELLO) = %+v, %v", got, err)
	}
	if _, err := s.ByARN(ctx, r.ARN); err != nil {
		t.Fatalf("ByARN(%s): %v", r.ARN, err)
	}
	for _, bad := range []string{"arn:aws:iam::000000000000:role/Hello", "arn:aws:iam::111111111111:role/svc/Hello", "arn:aws:iam::000000000000:user/Hello", "nope"} {
		if _, err := s.ByARN(ctx, bad); !errors.Is(err, ErrNoSuchRole) {
			t.Fatalf("ByARN(%s) = %v, want ErrNoSuchRole", bad, err)
		}
	}
	if err := s.Delete(ctx, "hello"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, "Hello"); !errors.Is(err, ErrNoSuchRole) {
		t.Fatalf("Get after Delete = %v", err)
	}
	if err := s.Delete(ctx, "Hello"); !errors.Is(err, ErrNoSuchRole) {
		t.Fatalf("Delete twice = %v", err)
	}
}

func TestCreateValidation(t *testing.T) {
	s, _ := newService(t)
	ctx := context.Background()
	cases := []struct {
		name string
		in   CreateInput
		want any
	}{
		{"bad name", CreateInput{Name: "a b", TrustPolicy: lambdaTrust}, &ValidationError{}},
		{"long name", CreateInput{Name: strings.Repeat("a", 65), TrustPolicy: lambdaTrust}, &ValidationError{}},
		{"bad path", CreateInput{Name: "a", Path: "svc", TrustPolicy: lambdaTrust}, &ValidationError{}},
		{"session too long", CreateInput{Name: "a", MaxSession: 43201, TrustPolicy: lambdaTrust}, &ValidationError{}},
		{"no trust policy", CreateInput{Name: "a"}, &ValidationError{}},
		{"invalid json", CreateInput{Name: "a", TrustPolicy: `{"Statement":`}, &MalformedPolicyError{}},
		{"no principal", CreateInput{Name: "a", TrustPolicy: `{"Statement":[{"Effect":"Allow","Action":"sts:AssumeRole"}]}`}, &MalformedPolicyError{}},
		{"bad effect", CreateInput{Name: "a", TrustPolicy: `{"Statement":[{"Effect":"Maybe","Principal":"*","Action":"sts:AssumeRole"}]}`}, &MalformedPolicyError{}},
		{"too long", CreateInput{Name: "a", TrustPolicy: `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","Sid":"` + strings.Repeat("x", 2048) + `"}]}`}, &LimitError{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.Create(ctx, tc.in)
			switch tc.want.(type) {
			case *ValidationError:
				var e *ValidationError
				if !errors.As(err, &e) {
					t.Fatalf("Create(%+v) = %v, want ValidationError", tc.in, err)
				}
			case *MalformedPolicyError:
				var e *MalformedPolicyError
				if !errors.As(err, &e) {
					t.Fatalf("Create = %v, want MalformedPolicyError", err)
				}
			case *LimitError:
				var e *LimitError
				if !errors.As(err, &e) {
					t.Fatalf("Create = %v, want LimitError", err)
				}
			}
		})
	}
	if _, err := s.Get(ctx, "a"); !errors.Is(err, ErrNoSuchRole) {
		t.Fatalf("a refused role was stored: %v", err)
	}
}

func TestPoliciesAndDeleteConflict(t *testing.T) {
	s, _ := newService(t)
	ctx := context.Background()
	if _, err := s.Create(ctx, CreateInput{Name: "r", TrustPolicy: lambdaTrust}); err != nil {
		t.Fatal(err)
	}
	const managed = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
	if err := s.AttachPolicy(ctx, "r", "not-an-arn"); err == nil {
		t.Fatal("AttachPolicy(not-an-arn) succeeded")
	}
	if err := s.AttachPolicy(ctx, "nope", managed); !errors.Is(err, ErrNoSuchRole) {
		t.Fatalf("AttachPolicy on missing role = %v", err)
	}
	for i := 0; i < 2; i++ { // idempotent
		if err := s.AttachPolicy(ctx, "r", managed); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < MaxAttachedPolicies-1; i++ {
		if err := s.AttachPolicy(ctx, "r", fmt.Sprintf("arn:aws:iam::000000000000:policy/p%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	var limit *LimitError
	if err := s.AttachPolicy(ctx, "r", "arn:aws:iam::000000000000:policy/one-too-many"); !errors.As(err, &limit) {
		t.Fatalf("11th AttachPolicy = %v, want LimitError", err)
	}
	var conflict *ConflictError
	if err := s.Delete(ctx, "r"); !errors.As(err, &conflict) || conflict.Inline {
		t.Fatalf("Delete with attached = %v", err)
	}
	for i := 0; i < MaxAttachedPolicies-1; i++ {
		if err := s.DetachPolicy(ctx, "r", fmt.Sprintf("arn:aws:iam::000000000000:policy/p%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.DetachPolicy(ctx, "r", managed); err != nil {
		t.Fatal(err)
	}
	if err := s.DetachPolicy(ctx, "r", managed); !errors.Is(err, ErrNoSuchPolicy) {
		t.Fatalf("DetachPolicy twice = %v", err)
	}

	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`
	if err := s.PutPolicy(ctx, "r", "s3", doc); err != nil {
		t.Fatal(err)
	}
	var mal *MalformedPolicyError
	for _, bad := range []string{"{", `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:*"}]}`, `{"Statement":{"Effect":"Maybe","Action":"s3:*"}}`, `{"Statement":[{"Effect":"Allow"}]}`} {
		if err := s.PutPolicy(ctx, "r", "bad", bad); !errors.As(err, &mal) {
			t.Fatalf("PutPolicy(%s) = %v, want MalformedPolicyError", bad, err)
		}
	}
	if got, err := s.GetPolicy(ctx, "r", "s3"); err != nil || got != doc {
		t.Fatalf("GetPolicy = %q, %v", got, err)
	}
	if _, err := s.GetPolicy(ctx, "r", "nope"); !errors.Is(err, ErrNoSuchPolicy) {
		t.Fatalf("GetPolicy(nope) = %v", err)
	}
	if err := s.Delete(ctx, "r"); !errors.As(err, &conflict) || !conflict.Inline {
		t.Fatalf("Delete with inline = %v", err)
	}
	big := `{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*","Sid":"` + strings.Repeat("x", MaxInlinePoliciesLen) + `"}]}`
	if err := s.PutPolicy(ctx, "r", "big", big); err == nil {
		t.Fatal("PutPolicy past the size quota succeeded")
	}
	if err := s.DeletePolicy(ctx, "r", "s3"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeletePolicy(ctx, "r", "s3"); !errors.Is(err, ErrNoSuchPolicy) {
		t.Fatalf("DeletePolicy twice = %v", err)
	}
	if err := s.Delete(ctx, "r"); err != nil {
		t.Fatal(err)
	}
}

func TestListPages(t *testing.T) {
	s, _ := newService(t)
	ctx := context.Background()
	for _, n := range []string{"c", "A", "b", "d"} {
		path := "/"
		if n == "d" {
			path = "/other/"
		}
		if _, err := s.Create(ctx, CreateInput{Name: n, Path: path, TrustPolicy: lambdaTrust}); err != nil {
			t.Fatal(err)
		}
	}
	var names []string
	marker := ""
	for pages := 0; pages < 10; pages++ {
		out, next, err := s.List(ctx, "/", marker, 2)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range out {
			names = append(names, r.Name)
		}
		if next == "" {
			break
		}
		marker = next
	}
	if got := strings.Join(names, ","); got != "A,b,c,d" {
		t.Fatalf("List pages = %s, want A,b,c,d", got)
	}
	out, _, err := s.List(ctx, "/other/", "", 100)
	if err != nil || len(out) != 1 || out[0].Name != "d" {
		t.Fatalf("List(/other/) = %+v, %v", out, err)
	}
}

func TestAssumeAndSessions(t *testing.T) {
	s, fc := newService(t)
	ctx := context.Background()
	r, err := s.Create(ctx, CreateInput{Name: "fn-role", TrustPolicy: lambdaTrust})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Create(ctx, CreateInput{Name: "ec2-role", TrustPolicy: strings.ReplaceAll(lambdaTrust, "lambda", "ec2")}); err != nil {
		t.Fatal(err)
	}
	sessions := NewSessions(fc)
	sess, err := s.Assume(ctx, sessions, r.ARN, "hello")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(sess.AccessKeyID, "ASIA") || len(sess.AccessKeyID) != 20 || sess.SessionToken == "" || sess.SecretAccessKey == "" {
		t.Fatalf("session credentials %+v", sess)
	}
	if sess.ARN() != "arn:aws:sts::000000000000:assumed-role/fn-role/hello" || sess.Principal() != "AWS:"+r.ID+":hello" {
		t.Fatalf("ARN %s, principal %s", sess.ARN(), sess.Principal())
	}
	if !sess.Expiration.Equal(fc.Now().Add(time.Hour)) {
		t.Fatalf("Expiration = %v", sess.Expiration)
	}
	if _, err := s.Assume(ctx, sessions, "arn:aws:iam::000000000000:role/ec2-role", "x"); !errors.Is(err, ErrNotAssumable) {
		t.Fatalf("Assume(ec2-role) = %v, want ErrNotAssumable", err)
	}
	if _, err := s.Assume(ctx, sessions, "arn:aws:iam::000000000000:role/none", "x"); !errors.Is(err, ErrNoSuchRole) {
		t.Fatalf("Assume(none) = %v, want ErrNoSuchRole", err)
	}
	if got, ok := sessions.Lookup(sess.AccessKeyID); !ok || got != sess {
		t.Fatalf("Lookup = %+v, %v", got, ok)
	}
	other := sessions.Mint(r, "000000000000", "other")
	sessions.Prune(func(s Session) bool { return s.Name != "other" })
	if _, ok := sessions.Lookup(other.AccessKeyID); ok {
		t.Fatal("Prune kept a session keep refused")
	}
	if _, ok := sessions.Lookup(sess.AccessKeyID); !ok {
		t.Fatal("Prune removed a session keep accepted")
	}
	sessions.Revoke(sess.AccessKeyID)
	if _, ok := sessions.Lookup(sess.AccessKeyID); ok || sessions.Len() != 0 {
		t.Fatal("revoked session still found")
	}
}
