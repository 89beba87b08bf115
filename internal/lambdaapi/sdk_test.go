package lambdaapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/prometheus/client_golang/prometheus"

	"sluice/internal/auth"
	"sluice/internal/clock"
	"sluice/internal/function"
	"sluice/internal/function/functest"
	"sluice/internal/runtimeapi"
	"sluice/internal/storage/blobstore"
	"sluice/internal/storage/pebblestore"
)

const (
	rootKey    = "AKIDSLUICEROOT"
	rootSecret = "root/secret"
	roleARN    = "arn:aws:iam::000000000000:role/fn"
)

type env struct {
	t      *testing.T
	ctx    context.Context
	srv    *httptest.Server
	fns    *function.Service
	client *lambda.Client
	s3     map[string][]byte // bucket/key -> bytes, the fake S3
	// lineage is what the handler's event.LineageSource answers for the
	// root key: tests pose as a function invocation deep in a chain.
	lineage *fakeLineage
	// dest receives what the function service sends to SQS destinations.
	dest chan destRecord
	// reg holds the function service's metrics.
	reg *prometheus.Registry
}

type fakeS3 map[string][]byte

func (f fakeS3) ReadObject(_ context.Context, bucket, key string, max int64) ([]byte, error) {
	if bucket != "code" {
		return nil, ErrNoSuchBucket
	}
	b, ok := f[key]
	if !ok {
		return nil, ErrNoSuchKey
	}
	if int64(len(b)) > max {
		return nil, ErrObjectTooLarge
	}
	return b, nil
}

func newEnv(t *testing.T) *env {
	t.Helper()
	st, err := pebblestore.Open(pebblestore.Options{Dir: "db", FS: vfs.NewMem(), Clock: clock.Real{}})
	if err != nil {
		t.Fatal(err)
	}
	blobs, err := blobstore.Open(blobstore.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	dest := make(chan destRecord, 16)
	reg := prometheus.NewRegistry()
	fns, err := function.New(function.Config{Store: st, Blobs: blobs, RuntimeDir: t.TempDir(), Queues: destQueues(dest), Registerer: reg,
		Runtime: runtimeapi.Listen, InitTimeout: 5 * time.Second,
		RoleExists: func(_ context.Context, role string) error {
			if role != roleARN {
				return errors.New("no such role")
			}
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, ctx: context.Background(), fns: fns, s3: map[string][]byte{}, lineage: &fakeLineage{}, dest: dest, reg: reg}
	root := auth.Credentials{AccessKeyID: rootKey, SecretAccessKey: rootSecret, Principal: "000000000000"}
	mux := http.NewServeMux()
	e.srv = httptest.NewUnstartedServer(mux)
	e.srv.Start()
	h := New(Config{Functions: fns, Verifier: &auth.Verifier{Keys: auth.NewStaticKeyring(root), Clock: clock.Real{}},
		Objects: fakeS3(e.s3), Root: root, PublicURL: e.srv.URL, Registerer: prometheus.NewRegistry(), Lineage: e.lineage})
	mux.Handle(SluicePrefix, http.HandlerFunc(h.ServeSluice))
	mux.Handle("/", h)
	t.Cleanup(func() { e.srv.Close(); fns.Close(); st.Close() })
	e.client = lambda.New(lambda.Options{Region: "us-east-1", BaseEndpoint: aws.String(e.srv.URL), RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider(rootKey, rootSecret, "")})
	return e
}

// zipOf builds a zip holding one executable bootstrap.
func zipOf(t *testing.T, content string) []byte {
	t.Helper()
	z, err := functest.Zip([]byte(content))
	if err != nil {
		t.Fatal(err)
	}
	return z
}

func (e *env) create(name string) *lambda.CreateFunctionOutput {
	e.t.Helper()
	out, err := e.client.CreateFunction(e.ctx, &lambda.CreateFunctionInput{
		FunctionName: aws.String(name), Role: aws.String(roleARN), Runtime: types.RuntimeProvidedal2023,
		Handler: aws.String("bootstrap"), Code: &types.FunctionCode{ZipFile: zipOf(e.t, "#!/bin/sh\n")},
		Environment: &types.Environment{Variables: map[string]string{"AA": "1"}},
	})
	if err != nil {
		e.t.Fatalf("CreateFunction(%s): %v", name, err)
	}
	return out
}

// apiErr returns err's code and HTTP status.
func apiErr(t *testing.T, err error) (string, int) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("err = %v, want an API error", err)
	}
	status := 0
	var re interface{ HTTPStatusCode() int }
	if errors.As(err, &re) {
		status = re.HTTPStatusCode()
	}
	return ae.ErrorCode(), status
}

func TestFunctionLifecycle(t *testing.T) {
	e := newEnv(t)
	out := e.create("hello")
	if aws.ToString(out.FunctionArn) != "arn:aws:lambda:us-east-1:000000000000:function:hello" || out.State != types.StateActive ||
		out.LastUpdateStatus != types.LastUpdateStatusSuccessful || aws.ToString(out.Version) != "$LATEST" || aws.ToInt32(out.Timeout) != 3 ||
		out.Environment.Variables["AA"] != "1" || aws.ToString(out.CodeSha256) == "" {
		t.Fatalf("CreateFunction = %+v", out)
	}
	// The go-v2 waiter polls State and LastUpdateStatus.
	if err := lambda.NewFunctionActiveV2Waiter(e.client).Wait(e.ctx, &lambda.GetFunctionInput{FunctionName: aws.String("hello")}, 5e9); err != nil {
		t.Fatalf("FunctionActiveV2 waiter: %v", err)
	}

	_, err := e.client.CreateFunction(e.ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("hello"), Role: aws.String(roleARN),
		Runtime: types.RuntimeProvidedal2023, Handler: aws.String("bootstrap"), Code: &types.FunctionCode{ZipFile: zipOf(t, "x")}})
	var conflict *types.ResourceConflictException
	if !errors.As(err, &conflict) {
		t.Fatalf("CreateFunction twice: %v", err)
	}
	_, err = e.client.CreateFunction(e.ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("norole"), Role: aws.String("arn:aws:iam::000000000000:role/none"),
		Runtime: types.RuntimeProvidedal2023, Handler: aws.String("bootstrap"), Code: &types.FunctionCode{ZipFile: zipOf(t, "x")}})
	var inv *types.InvalidParameterValueException
	if !errors.As(err, &inv) || !strings.Contains(err.Error(), "The role defined for the function cannot be assumed by Lambda.") {
		t.Fatalf("CreateFunction with a missing role: %v", err)
	}
	_, err = e.client.CreateFunction(e.ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("notzip"), Role: aws.String(roleARN),
		Runtime: types.RuntimeProvidedal2023, Handler: aws.String("bootstrap"), Code: &types.FunctionCode{ZipFile: []byte("not a zip")}})
	if !errors.As(err, &inv) || !strings.Contains(err.Error(), "Could not unzip uploaded file") {
		t.Fatalf("CreateFunction with a non-zip: %v", err)
	}

	// From Sluice's S3: a missing bucket and key are InvalidParameterValue.
	e.s3["pkg.zip"] = zipOf(t, "#!/bin/sh\necho s3\n")
	fromS3, err := e.client.CreateFunction(e.ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("froms3"), Role: aws.String(roleARN),
		Runtime: types.RuntimeProvidedal2, Handler: aws.String("bootstrap"), Code: &types.FunctionCode{S3Bucket: aws.String("code"), S3Key: aws.String("pkg.zip")}})
	if err != nil || aws.ToInt64(&fromS3.CodeSize) != int64(len(e.s3["pkg.zip"])) {
		t.Fatalf("CreateFunction from S3 = %+v, %v", fromS3, err)
	}
	for _, c := range []struct{ bucket, key, want string }{{"nope", "pkg.zip", "NoSuchBucket"}, {"code", "nope", "NoSuchKey"}} {
		_, err = e.client.CreateFunction(e.ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("s3x"), Role: aws.String(roleARN),
			Runtime: types.RuntimeProvidedal2, Handler: aws.String("bootstrap"), Code: &types.FunctionCode{S3Bucket: aws.String(c.bucket), S3Key: aws.String(c.key)}})
		if !errors.As(err, &inv) || !strings.Contains(err.Error(), "S3 Error Code: "+c.want) {
			t.Fatalf("CreateFunction from s3://%s/%s: %v", c.bucket, c.key, err)
		}
	}

	// GetFunction: Code.Location downloads the package.
	got, err := e.client.GetFunction(e.ctx, &lambda.GetFunctionInput{FunctionName: aws.String("arn:aws:lambda:us-east-1:000000000000:function:hello")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(got.Code.RepositoryType) != "S3" || !strings.HasPrefix(aws.ToString(got.Code.Location), e.srv.URL+"/_sluice/functions/hello/code?") {
		t.Fatalf("GetFunction.Code = %+v", got.Code)
	}
	resp, err := http.Get(aws.ToString(got.Code.Location))
	if err != nil {
		t.Fatal(err)
	}
	zipBytes, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Equal(zipBytes, zipOf(t, "#!/bin/sh\n")) || len(zipBytes) != int(got.Configuration.CodeSize) {
		t.Fatalf("Code.Location download = %d, %d bytes, want %d", resp.StatusCode, len(zipBytes), got.Configuration.CodeSize)
	}
	resp, err = http.Get(e.srv.URL + "/_sluice/functions/hello/code")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("unsigned code download = %d, want 401", resp.StatusCode)
	}

	cfg, err := e.client.GetFunctionConfiguration(e.ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("000000000000:function:hello")})
	if err != nil || aws.ToString(cfg.FunctionName) != "hello" {
		t.Fatalf("GetFunctionConfiguration(partial ARN) = %+v, %v", cfg, err)
	}
	_, err = e.client.GetFunctionConfiguration(e.ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("nope")})
	var nf *types.ResourceNotFoundException
	if !errors.As(err, &nf) || !strings.Contains(err.Error(), "Function not found: arn:aws:lambda:us-east-1:000000000000:function:nope") {
		t.Fatalf("GetFunctionConfiguration(nope): %v", err)
	}
	if code, status := apiErr(t, err); code != "ResourceNotFoundException" || status != 404 {
		t.Fatalf("not found = %s %d", code, status)
	}

	up, err := e.client.UpdateFunctionConfiguration(e.ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("hello"),
		Timeout: aws.Int32(10), MemorySize: aws.Int32(256), Environment: &types.Environment{Variables: map[string]string{"BB": "2"}}})
	if err != nil || aws.ToInt32(up.Timeout) != 10 || aws.ToInt32(up.MemorySize) != 256 || up.Environment.Variables["BB"] != "2" || up.Environment.Variables["AA"] != "" {
		t.Fatalf("UpdateFunctionConfiguration = %+v, %v", up, err)
	}
	_, err = e.client.UpdateFunctionConfiguration(e.ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("hello"), Timeout: aws.Int32(901)})
	if code, status := apiErr(t, err); status != 400 || (code != "InvalidParameterValueException" && code != "ValidationException") {
		t.Fatalf("Timeout 901: %s %d", code, status)
	}
	_, err = e.client.UpdateFunctionConfiguration(e.ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("hello"), RevisionId: aws.String("stale")})
	var pre *types.PreconditionFailedException
	if !errors.As(err, &pre) {
		t.Fatalf("stale RevisionId: %v", err)
	}
	code, err := e.client.UpdateFunctionCode(e.ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String("hello"), ZipFile: zipOf(t, "#!/bin/sh\necho 2\n")})
	if err != nil || aws.ToString(code.CodeSha256) == aws.ToString(out.CodeSha256) {
		t.Fatalf("UpdateFunctionCode = %+v, %v", code, err)
	}

	// ListFunctions pages through the paginator.
	for _, n := range []string{"f1", "f2", "f3"} {
		e.create(n)
	}
	var names []string
	p := lambda.NewListFunctionsPaginator(e.client, &lambda.ListFunctionsInput{MaxItems: aws.Int32(2)})
	for pages := 0; p.HasMorePages() && pages < 10; pages++ {
		page, err := p.NextPage(e.ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range page.Functions {
			names = append(names, aws.ToString(f.FunctionName))
		}
	}
	if strings.Join(names, ",") != "f1,f2,f3,froms3,hello" {
		t.Fatalf("ListFunctions = %v", names)
	}

	if _, err := e.client.DeleteFunction(e.ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String("hello")}); err != nil {
		t.Fatal(err)
	}
	_, err = e.client.DeleteFunction(e.ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String("hello")})
	if !errors.As(err, &nf) {
		t.Fatalf("DeleteFunction twice: %v", err)
	}
}

func TestPermissionsConcurrencyTags(t *testing.T) {
	e := newEnv(t)
	e.create("fn")
	_, err := e.client.GetPolicy(e.ctx, &lambda.GetPolicyInput{FunctionName: aws.String("fn")})
	var nf *types.ResourceNotFoundException
	if !errors.As(err, &nf) {
		t.Fatalf("GetPolicy without policy: %v", err)
	}
	add, err := e.client.AddPermission(e.ctx, &lambda.AddPermissionInput{FunctionName: aws.String("fn"), StatementId: aws.String("s3"),
		Action: aws.String("lambda:InvokeFunction"), Principal: aws.String("s3.amazonaws.com"),
		SourceArn: aws.String("arn:aws:s3:::b1"), SourceAccount: aws.String("000000000000")})
	if err != nil {
		t.Fatal(err)
	}
	var st map[string]any
	if err := json.Unmarshal([]byte(aws.ToString(add.Statement)), &st); err != nil || st["Sid"] != "s3" ||
		st["Principal"].(map[string]any)["Service"] != "s3.amazonaws.com" {
		t.Fatalf("AddPermission.Statement = %s (%v)", aws.ToString(add.Statement), err)
	}
	_, err = e.client.AddPermission(e.ctx, &lambda.AddPermissionInput{FunctionName: aws.String("fn"), StatementId: aws.String("s3"),
		Action: aws.String("lambda:InvokeFunction"), Principal: aws.String("s3.amazonaws.com")})
	var conflict *types.ResourceConflictException
	if !errors.As(err, &conflict) || !strings.Contains(err.Error(), "The statement id (s3) provided already exists.") {
		t.Fatalf("AddPermission twice: %v", err)
	}
	pol, err := e.client.GetPolicy(e.ctx, &lambda.GetPolicyInput{FunctionName: aws.String("fn")})
	if err != nil || !strings.Contains(aws.ToString(pol.Policy), `"ArnLike":{"AWS:SourceArn":"arn:aws:s3:::b1"}`) || aws.ToString(pol.RevisionId) == "" {
		t.Fatalf("GetPolicy = %+v, %v", pol, err)
	}
	if _, err := e.client.RemovePermission(e.ctx, &lambda.RemovePermissionInput{FunctionName: aws.String("fn"), StatementId: aws.String("s3")}); err != nil {
		t.Fatal(err)
	}
	_, err = e.client.RemovePermission(e.ctx, &lambda.RemovePermissionInput{FunctionName: aws.String("fn"), StatementId: aws.String("s3")})
	if !errors.As(err, &nf) {
		t.Fatalf("RemovePermission twice: %v", err)
	}

	gc, err := e.client.GetFunctionConcurrency(e.ctx, &lambda.GetFunctionConcurrencyInput{FunctionName: aws.String("fn")})
	if err != nil || gc.ReservedConcurrentExecutions != nil {
		t.Fatalf("GetFunctionConcurrency before = %+v, %v", gc, err)
	}
	pc, err := e.client.PutFunctionConcurrency(e.ctx, &lambda.PutFunctionConcurrencyInput{FunctionName: aws.String("fn"), ReservedConcurrentExecutions: aws.Int32(3)})
	if err != nil || aws.ToInt32(pc.ReservedConcurrentExecutions) != 3 {
		t.Fatalf("PutFunctionConcurrency = %+v, %v", pc, err)
	}
	gc, err = e.client.GetFunctionConcurrency(e.ctx, &lambda.GetFunctionConcurrencyInput{FunctionName: aws.String("fn")})
	if err != nil || aws.ToInt32(gc.ReservedConcurrentExecutions) != 3 {
		t.Fatalf("GetFunctionConcurrency = %+v, %v", gc, err)
	}
	gf, err := e.client.GetFunction(e.ctx, &lambda.GetFunctionInput{FunctionName: aws.String("fn")})
	if err != nil || gf.Concurrency == nil || aws.ToInt32(gf.Concurrency.ReservedConcurrentExecutions) != 3 {
		t.Fatalf("GetFunction.Concurrency = %+v, %v", gf, err)
	}
	if _, err := e.client.DeleteFunctionConcurrency(e.ctx, &lambda.DeleteFunctionConcurrencyInput{FunctionName: aws.String("fn")}); err != nil {
		t.Fatal(err)
	}

	arn := "arn:aws:lambda:us-east-1:000000000000:function:fn"
	if _, err := e.client.TagResource(e.ctx, &lambda.TagResourceInput{Resource: aws.String(arn), Tags: map[string]string{"team": "a", "env": "b"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.UntagResource(e.ctx, &lambda.UntagResourceInput{Resource: aws.String(arn), TagKeys: []string{"env"}}); err != nil {
		t.Fatal(err)
	}
	tags, err := e.client.ListTags(e.ctx, &lambda.ListTagsInput{Resource: aws.String(arn)})
	if err != nil || len(tags.Tags) != 1 || tags.Tags["team"] != "a" {
		t.Fatalf("ListTags = %+v, %v", tags, err)
	}
	acct, err := e.client.GetAccountSettings(e.ctx, &lambda.GetAccountSettingsInput{})
	if err != nil || acct.AccountLimit == nil || acct.AccountLimit.ConcurrentExecutions != function.DefaultMaxInstances || acct.AccountUsage.FunctionCount != 1 {
		t.Fatalf("GetAccountSettings = %+v, %v", acct, err)
	}
}

// TestInvokeEdge checks what the edge decides before the function runs.
func TestInvokeEdge(t *testing.T) {
	e := newEnv(t)
	e.create("fn")
	_, err := e.client.Invoke(e.ctx, &lambda.InvokeInput{FunctionName: aws.String("fn"), Payload: []byte("{not json")})
	var irc *types.InvalidRequestContentException
	if !errors.As(err, &irc) {
		t.Fatalf("Invoke with bad JSON: %v", err)
	}
	_, err = e.client.Invoke(e.ctx, &lambda.InvokeInput{FunctionName: aws.String("fn"), Payload: bytes.Repeat([]byte(" "), function.MaxPayload+1)})
	var tooLarge *types.RequestTooLargeException
	if !errors.As(err, &tooLarge) {
		t.Fatalf("Invoke with 6 MB + 1: %v", err)
	}
	if code, status := apiErr(t, err); code != "RequestTooLargeException" || status != 413 {
		t.Fatalf("too large = %s %d", code, status)
	}
	ev, err := e.client.Invoke(e.ctx, &lambda.InvokeInput{FunctionName: aws.String("fn"), InvocationType: types.InvocationTypeEvent, Payload: []byte("{}")})
	if err != nil || ev.StatusCode != 202 || len(ev.Payload) != 0 {
		t.Fatalf("Event invoke = %+v, %v; want 202 and no body", ev, err)
	}
}

// TestRawErrors checks the wire shape of errors and unserved operations.
func TestRawErrors(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		method, path string
		status       int
		code         string
	}{
		{"GET", "/2015-03-31/functions/nope/configuration", 404, "ResourceNotFoundException"},
		{"GET", "/2019-09-25/functions/nope/event-invoke-config", 404, "ResourceNotFoundException"},
		{"GET", "/2015-03-31/functions/nope/versions", 404, "ResourceNotFoundException"},
		{"GET", "/2018-10-31/layers", 501, "NotImplemented"},
		{"GET", "/2099-01-01/nothing", 404, "UnknownOperationException"},
	} {
		req, _ := http.NewRequest(tc.method, e.srv.URL+tc.path, nil)
		signReq(t, req)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body struct{ Type, Message string }
		json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != tc.status || resp.Header.Get("X-Amzn-ErrorType") != tc.code || body.Message == "" || body.Type == "" || resp.Header.Get("X-Amzn-RequestId") == "" {
			t.Errorf("%s %s = %d %s %+v, want %d %s", tc.method, tc.path, resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"), body, tc.status, tc.code)
		}
	}
	resp, err := http.Get(e.srv.URL + "/2015-03-31/functions/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 || resp.Header.Get("X-Amzn-ErrorType") != "MissingAuthenticationTokenException" {
		t.Fatalf("unsigned = %d %s", resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"))
	}
}

// signReq signs a bodiless request with the root credentials for lambda.
func signReq(t *testing.T, req *http.Request) {
	t.Helper()
	if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: rootKey, SecretAccessKey: rootSecret}, req,
		emptySHA256, "lambda", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
}
