package iamapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/prometheus/client_golang/prometheus"

	"sluice/internal/auth"
	"sluice/internal/clock"
	"sluice/internal/role"
	"sluice/internal/storage/pebblestore"
)

const (
	rootKey    = "AKIDSLUICEROOT"
	rootSecret = "root/secret"
	account    = "000000000000"
	trust      = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
)

type env struct {
	t        *testing.T
	ctx      context.Context
	srv      *httptest.Server
	roles    *role.Service
	sessions *role.Sessions
	reg      *prometheus.Registry
	iam      *iam.Client
	sts      *sts.Client
}

// keyring resolves the root key and live sessions, as the server's does.
type keyring struct{ sessions *role.Sessions }

func (k keyring) Lookup(id string) (auth.Credentials, bool) {
	if id == rootKey {
		return auth.Credentials{AccessKeyID: rootKey, SecretAccessKey: rootSecret, Principal: account}, true
	}
	s, ok := k.sessions.Lookup(id)
	if !ok {
		return auth.Credentials{}, false
	}
	return auth.Credentials{AccessKeyID: s.AccessKeyID, SecretAccessKey: s.SecretAccessKey, SessionToken: s.SessionToken, Principal: s.Principal()}, true
}

func newEnv(t *testing.T) *env {
	t.Helper()
	st, err := pebblestore.Open(pebblestore.Options{Dir: "db", FS: vfs.NewMem(), Clock: clock.Real{}})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, ctx: context.Background(), reg: prometheus.NewRegistry()}
	e.roles = role.New(role.Config{Store: st, AccountID: account})
	e.sessions = role.NewSessions(nil)
	h := New(Config{Roles: e.roles, Sessions: e.sessions, RootAccessKey: rootKey, Registerer: e.reg,
		Verifier: &auth.Verifier{Keys: keyring{e.sessions}, Clock: clock.Real{}}})
	e.srv = httptest.NewServer(h)
	t.Cleanup(func() { e.srv.Close(); st.Close() })
	e.iam = iam.New(iam.Options{Region: "us-east-1", BaseEndpoint: aws.String(e.srv.URL), RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider(rootKey, rootSecret, "")})
	e.sts = e.stsFor(rootKey, rootSecret, "")
	return e
}

func (e *env) stsFor(key, secret, token string) *sts.Client {
	return sts.New(sts.Options{Region: "eu-west-1", BaseEndpoint: aws.String(e.srv.URL), RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider(key, secret, token)})
}

// code returns err's API error code and checks its HTTP status.
func code(t *testing.T, err error, status int) string {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("err = %v, want an API error", err)
	}
	var re interface{ HTTPStatusCode() int }
	if errors.As(err, &re) && re.HTTPStatusCode() != status {
		t.Fatalf("%s: status %d, want %d", ae.ErrorCode(), re.HTTPStatusCode(), status)
	}
	return ae.ErrorCode()
}

func TestRoleLifecycle(t *testing.T) {
	e := newEnv(t)
	out, err := e.iam.CreateRole(e.ctx, &iam.CreateRoleInput{
		RoleName: aws.String("hello"), AssumeRolePolicyDocument: aws.String(trust), Description: aws.String("d"),
		Tags: []iamtypes.Tag{{Key: aws.String("team"), Value: aws.String("x")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	r := out.Role
	if aws.ToString(r.Arn) != "arn:aws:iam::000000000000:role/hello" || !strings.HasPrefix(aws.ToString(r.RoleId), "AROA") ||
		aws.ToString(r.Path) != "/" || r.CreateDate == nil || time.Since(*r.CreateDate) > time.Minute || aws.ToInt32(r.MaxSessionDuration) != 3600 {
		t.Fatalf("CreateRole = %+v", r)
	}
	// The trust policy comes back URL-encoded, as IAM sends it.
	doc, err := url.QueryUnescape(aws.ToString(r.AssumeRolePolicyDocument))
	if err != nil || doc != trust || !strings.Contains(aws.ToString(r.AssumeRolePolicyDocument), "%22") {
		t.Fatalf("AssumeRolePolicyDocument = %q", aws.ToString(r.AssumeRolePolicyDocument))
	}
	got, err := e.iam.GetRole(e.ctx, &iam.GetRoleInput{RoleName: aws.String("HELLO")})
	if err != nil || aws.ToString(got.Role.RoleId) != aws.ToString(r.RoleId) || len(got.Role.Tags) != 1 || aws.ToString(got.Role.Description) != "d" {
		t.Fatalf("GetRole = %+v, %v", got, err)
	}

	_, err = e.iam.CreateRole(e.ctx, &iam.CreateRoleInput{RoleName: aws.String("Hello"), AssumeRolePolicyDocument: aws.String(trust)})
	var exists *iamtypes.EntityAlreadyExistsException
	if !errors.As(err, &exists) || code(t, err, 409) != "EntityAlreadyExists" || !strings.Contains(err.Error(), "Role with name Hello already exists.") {
		t.Fatalf("CreateRole twice: %v", err)
	}
	_, err = e.iam.GetRole(e.ctx, &iam.GetRoleInput{RoleName: aws.String("nope")})
	var nse *iamtypes.NoSuchEntityException
	if !errors.As(err, &nse) || code(t, err, 404) != "NoSuchEntity" || !strings.Contains(err.Error(), "The role with name nope cannot be found.") {
		t.Fatalf("GetRole(nope): %v", err)
	}
	_, err = e.iam.CreateRole(e.ctx, &iam.CreateRoleInput{RoleName: aws.String("bad"), AssumeRolePolicyDocument: aws.String("{not json")})
	var mal *iamtypes.MalformedPolicyDocumentException
	if !errors.As(err, &mal) || code(t, err, 400) != "MalformedPolicyDocument" {
		t.Fatalf("CreateRole(bad policy): %v", err)
	}
	_, err = e.iam.CreateRole(e.ctx, &iam.CreateRoleInput{RoleName: aws.String("a b"), AssumeRolePolicyDocument: aws.String(trust)})
	if code(t, err, 400) != "ValidationError" || !strings.Contains(err.Error(), "roleName") {
		t.Fatalf("CreateRole(a b): %v", err)
	}

	// Attached and inline policies; DeleteRole refuses while any remain.
	const managed = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
	if _, err := e.iam.AttachRolePolicy(e.ctx, &iam.AttachRolePolicyInput{RoleName: aws.String("hello"), PolicyArn: aws.String(managed)}); err != nil {
		t.Fatal(err)
	}
	_, err = e.iam.AttachRolePolicy(e.ctx, &iam.AttachRolePolicyInput{RoleName: aws.String("hello"), PolicyArn: aws.String("nope")})
	if code(t, err, 400) != "InvalidInput" {
		t.Fatalf("AttachRolePolicy(nope): %v", err)
	}
	att, err := e.iam.ListAttachedRolePolicies(e.ctx, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String("hello")})
	if err != nil || len(att.AttachedPolicies) != 1 || aws.ToString(att.AttachedPolicies[0].PolicyName) != "AWSLambdaBasicExecutionRole" ||
		aws.ToString(att.AttachedPolicies[0].PolicyArn) != managed || att.IsTruncated {
		t.Fatalf("ListAttachedRolePolicies = %+v, %v", att, err)
	}
	_, err = e.iam.DeleteRole(e.ctx, &iam.DeleteRoleInput{RoleName: aws.String("hello")})
	var dc *iamtypes.DeleteConflictException
	if !errors.As(err, &dc) || code(t, err, 409) != "DeleteConflict" || !strings.Contains(err.Error(), "must detach all policies first") {
		t.Fatalf("DeleteRole with policy: %v", err)
	}
	if _, err := e.iam.DetachRolePolicy(e.ctx, &iam.DetachRolePolicyInput{RoleName: aws.String("hello"), PolicyArn: aws.String(managed)}); err != nil {
		t.Fatal(err)
	}
	_, err = e.iam.DetachRolePolicy(e.ctx, &iam.DetachRolePolicyInput{RoleName: aws.String("hello"), PolicyArn: aws.String(managed)})
	if !errors.As(err, &nse) || !strings.Contains(err.Error(), "Policy "+managed+" was not found.") {
		t.Fatalf("DetachRolePolicy twice: %v", err)
	}

	inline := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}`
	if _, err := e.iam.PutRolePolicy(e.ctx, &iam.PutRolePolicyInput{RoleName: aws.String("hello"), PolicyName: aws.String("read"), PolicyDocument: aws.String(inline)}); err != nil {
		t.Fatal(err)
	}
	_, err = e.iam.PutRolePolicy(e.ctx, &iam.PutRolePolicyInput{RoleName: aws.String("hello"), PolicyName: aws.String("p"), PolicyDocument: aws.String(`{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:*"}]}`)})
	if !errors.As(err, &mal) || !strings.Contains(err.Error(), "Policy document should not specify a principal.") {
		t.Fatalf("PutRolePolicy with Principal: %v", err)
	}
	gp, err := e.iam.GetRolePolicy(e.ctx, &iam.GetRolePolicyInput{RoleName: aws.String("hello"), PolicyName: aws.String("read")})
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := url.QueryUnescape(aws.ToString(gp.PolicyDocument)); d != inline || aws.ToString(gp.PolicyName) != "read" || aws.ToString(gp.RoleName) != "hello" {
		t.Fatalf("GetRolePolicy = %+v", gp)
	}
	_, err = e.iam.GetRolePolicy(e.ctx, &iam.GetRolePolicyInput{RoleName: aws.String("hello"), PolicyName: aws.String("nope")})
	if !errors.As(err, &nse) || !strings.Contains(err.Error(), "The role policy with name nope cannot be found.") {
		t.Fatalf("GetRolePolicy(nope): %v", err)
	}
	lp, err := e.iam.ListRolePolicies(e.ctx, &iam.ListRolePoliciesInput{RoleName: aws.String("hello")})
	if err != nil || len(lp.PolicyNames) != 1 || lp.PolicyNames[0] != "read" {
		t.Fatalf("ListRolePolicies = %+v, %v", lp, err)
	}
	_, err = e.iam.DeleteRole(e.ctx, &iam.DeleteRoleInput{RoleName: aws.String("hello")})
	if !errors.As(err, &dc) || !strings.Contains(err.Error(), "must delete policies first") {
		t.Fatalf("DeleteRole with inline policy: %v", err)
	}
	if _, err := e.iam.DeleteRolePolicy(e.ctx, &iam.DeleteRolePolicyInput{RoleName: aws.String("hello"), PolicyName: aws.String("read")}); err != nil {
		t.Fatal(err)
	}
	_, err = e.iam.DeleteRolePolicy(e.ctx, &iam.DeleteRolePolicyInput{RoleName: aws.String("hello"), PolicyName: aws.String("read")})
	if !errors.As(err, &nse) {
		t.Fatalf("DeleteRolePolicy twice: %v", err)
	}
	if _, err := e.iam.DeleteRole(e.ctx, &iam.DeleteRoleInput{RoleName: aws.String("hello")}); err != nil {
		t.Fatal(err)
	}
	_, err = e.iam.DeleteRole(e.ctx, &iam.DeleteRoleInput{RoleName: aws.String("hello")})
	if !errors.As(err, &nse) {
		t.Fatalf("DeleteRole twice: %v", err)
	}
	if n := counter(t, e.reg, "iam", "DeleteRole", "NoSuchEntity"); n != 1 {
		t.Fatalf("sluice_iam_requests_total{DeleteRole,NoSuchEntity} = %v, want 1", n)
	}
}

func TestListRolesPaginator(t *testing.T) {
	e := newEnv(t)
	for _, n := range []string{"r3", "r1", "r2"} {
		if _, err := e.iam.CreateRole(e.ctx, &iam.CreateRoleInput{RoleName: aws.String(n), AssumeRolePolicyDocument: aws.String(trust)}); err != nil {
			t.Fatal(err)
		}
	}
	p := iam.NewListRolesPaginator(e.iam, &iam.ListRolesInput{MaxItems: aws.Int32(2)})
	var names []string
	pages := 0
	for p.HasMorePages() && pages < 10 {
		out, err := p.NextPage(e.ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, r := range out.Roles {
			names = append(names, aws.ToString(r.RoleName))
		}
	}
	if strings.Join(names, ",") != "r1,r2,r3" || pages != 2 {
		t.Fatalf("ListRoles pages = %v in %d pages, want r1,r2,r3 in 2", names, pages)
	}
	_, err := e.iam.ListRoles(e.ctx, &iam.ListRolesInput{MaxItems: aws.Int32(1001)})
	if code(t, err, 400) != "ValidationError" {
		t.Fatalf("ListRoles(MaxItems 1001): %v", err)
	}
}

func TestGetCallerIdentity(t *testing.T) {
	e := newEnv(t)
	out, err := e.sts.GetCallerIdentity(e.ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.Arn) != "arn:aws:iam::000000000000:root" || aws.ToString(out.UserId) != account || aws.ToString(out.Account) != account {
		t.Fatalf("root identity = %s %s %s", aws.ToString(out.Arn), aws.ToString(out.UserId), aws.ToString(out.Account))
	}
	cr, err := e.iam.CreateRole(e.ctx, &iam.CreateRoleInput{RoleName: aws.String("fn-role"), AssumeRolePolicyDocument: aws.String(trust)})
	if err != nil {
		t.Fatal(err)
	}
	sess, err := e.roles.Assume(e.ctx, e.sessions, aws.ToString(cr.Role.Arn), "hello")
	if err != nil {
		t.Fatal(err)
	}
	out, err = e.stsFor(sess.AccessKeyID, sess.SecretAccessKey, sess.SessionToken).GetCallerIdentity(e.ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.Arn) != "arn:aws:sts::000000000000:assumed-role/fn-role/hello" || aws.ToString(out.UserId) != aws.ToString(cr.Role.RoleId)+":hello" {
		t.Fatalf("session identity = %s %s", aws.ToString(out.Arn), aws.ToString(out.UserId))
	}
	// A wrong token and a revoked session are refused.
	_, err = e.stsFor(sess.AccessKeyID, sess.SecretAccessKey, "wrong").GetCallerIdentity(e.ctx, &sts.GetCallerIdentityInput{})
	if code(t, err, 403) != "InvalidClientTokenId" {
		t.Fatalf("wrong token: %v", err)
	}
	e.sessions.Revoke(sess.AccessKeyID)
	_, err = e.stsFor(sess.AccessKeyID, sess.SecretAccessKey, sess.SessionToken).GetCallerIdentity(e.ctx, &sts.GetCallerIdentityInput{})
	if code(t, err, 403) != "InvalidClientTokenId" {
		t.Fatalf("revoked session: %v", err)
	}
	_, err = e.stsFor(rootKey, "wrong", "").GetCallerIdentity(e.ctx, &sts.GetCallerIdentityInput{})
	if code(t, err, 403) != "SignatureDoesNotMatch" {
		t.Fatalf("bad secret: %v", err)
	}
}

// TestRawErrors checks what SDKs cannot send: unsigned requests, unknown
// actions, missing parameters, and the XML error envelope itself.
func TestRawErrors(t *testing.T) {
	e := newEnv(t)
	resp, err := http.Post(e.srv.URL+"/", "application/x-www-form-urlencoded", strings.NewReader("Action=GetCallerIdentity&Version=2011-06-15"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 403 || !strings.Contains(string(body), "<Code>MissingAuthenticationToken</Code>") ||
		!strings.Contains(string(body), `xmlns="https://sts.amazonaws.com/doc/2011-06-15/"`) {
		t.Fatalf("unsigned STS: %d %s", resp.StatusCode, body)
	}
	for _, tc := range []struct {
		service, form string
		status        int
		code, message string
	}{
		{"iam", "Action=CreateUser&Version=2010-05-08&UserName=x", 400, "InvalidAction", "Could not find operation CreateUser for version 2010-05-08"},
		{"sts", "Action=AssumeRoleWithSAML&Version=2011-06-15", 400, "InvalidAction", "Could not find operation AssumeRoleWithSAML for version 2011-06-15"},
		{"iam", "Action=GetRole&Version=2010-05-08", 400, "ValidationError", "roleName&#39; failed to satisfy constraint: Member must not be null"},
		{"iam", "Action=ListRolePolicies&Version=2010-05-08&RoleName=nope", 404, "NoSuchEntity", "The role with name nope cannot be found."},
		{"iam", "Version=2010-05-08", 400, "MissingAction", "Missing Action"},
	} {
		status, body := e.signed(tc.service, tc.form)
		if status != tc.status || !strings.Contains(body, "<Code>"+tc.code+"</Code>") || !strings.Contains(body, tc.message) ||
			!strings.Contains(body, "<Type>Sender</Type>") || !strings.Contains(body, "<RequestId>") {
			t.Errorf("%s %s = %d %s, want %d %s %q", tc.service, tc.form, status, body, tc.status, tc.code, tc.message)
		}
	}
	e.signed("iam", "Action=CreateRole&Version=2010-05-08&RoleName=r&AssumeRolePolicyDocument="+url.QueryEscape(trust))
	e.signed("iam", "Action=PutRolePolicy&Version=2010-05-08&RoleName=r&PolicyName=a&PolicyDocument="+url.QueryEscape(`{"Statement":{"Effect":"Allow","Action":"*"}}`))
	if status, body := e.signed("iam", "Action=ListRolePolicies&Version=2010-05-08&RoleName=r&Marker=9"); status != 400 || !strings.Contains(body, "Invalid Marker") {
		t.Errorf("bad Marker = %d %s", status, body)
	}
	status, out := e.signed("iam", "Action=DeleteRolePolicy&Version=2010-05-08&RoleName=r&PolicyName=a")
	if status != 200 || !strings.Contains(out, "<DeleteRolePolicyResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><ResponseMetadata><RequestId>") {
		t.Errorf("DeleteRolePolicy = %d %s", status, out)
	}
}

// signed sends a form signed with the root credentials for service.
func (e *env) signed(service, form string) (int, string) {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/", strings.NewReader(form))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	sum := sha256.Sum256([]byte(form))
	if err := v4.NewSigner().SignHTTP(e.ctx, aws.Credentials{AccessKeyID: rootKey, SecretAccessKey: rootSecret}, req,
		hex.EncodeToString(sum[:]), service, "us-east-1", time.Now()); err != nil {
		e.t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(raw)
}

// counter reads sluice_iam_requests_total for one label set.
func counter(t *testing.T, reg *prometheus.Registry, service, action, code string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "sluice_iam_requests_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["service"] == service && labels["action"] == action && labels["code"] == code {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}
