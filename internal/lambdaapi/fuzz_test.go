package lambdaapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/prometheus/client_golang/prometheus"

	"sluice/internal/auth"
	"sluice/internal/clock"
	"sluice/internal/function"
	"sluice/internal/function/functest"
	"sluice/internal/storage/blobstore"
	"sluice/internal/storage/pebblestore"
)

// fuzzFunction is the one function the fuzz targets' server holds. It is
// never invoked (its bootstrap is a shell script that would start a
// process), only read.
const fuzzFunction = "fuzz-fn"

// fuzzHandler is a Lambda handler over an in-memory store with fuzzFunction
// created, and a signer for requests to it.
type fuzzHandler struct {
	h      *Handler
	signer *v4.Signer
	creds  aws.Credentials
}

func newFuzzHandler(f *testing.F) *fuzzHandler {
	st, err := pebblestore.Open(pebblestore.Options{Dir: "db", FS: vfs.NewMem(), Clock: clock.Real{}})
	if err != nil {
		f.Fatal(err)
	}
	blobs, err := blobstore.Open(blobstore.Options{Dir: f.TempDir()})
	if err != nil {
		f.Fatal(err)
	}
	fns, err := function.New(function.Config{Store: st, Blobs: blobs, RuntimeDir: f.TempDir(),
		RoleExists: func(_ context.Context, role string) error {
			if role != roleARN {
				return errors.New("no such role")
			}
			return nil
		}})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { fns.Close(); st.Close() })
	root := auth.Credentials{AccessKeyID: rootKey, SecretAccessKey: rootSecret, Principal: "000000000000"}
	h := New(Config{Functions: fns, Verifier: &auth.Verifier{Keys: auth.NewStaticKeyring(root), Clock: clock.Real{}},
		Objects: fakeS3{}, Root: root, PublicURL: "http://127.0.0.1", Registerer: prometheus.NewRegistry()})
	srv := httptest.NewServer(h)
	defer srv.Close()
	client := lambda.New(lambda.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL), RetryMaxAttempts: 1,
		Credentials: aws.NewCredentialsCache(aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: rootKey, SecretAccessKey: rootSecret}, nil
		}))})
	zipped, err := functest.Zip([]byte("#!/bin/sh\n"))
	if err != nil {
		f.Fatal(err)
	}
	if _, err := client.CreateFunction(context.Background(), &lambda.CreateFunctionInput{
		FunctionName: aws.String(fuzzFunction), Role: aws.String(roleARN), Runtime: types.RuntimeProvidedal2023,
		Handler: aws.String("bootstrap"), Code: &types.FunctionCode{ZipFile: zipped},
	}); err != nil {
		f.Fatal(err)
	}
	return &fuzzHandler{h: h, signer: v4.NewSigner(), creds: aws.Credentials{AccessKeyID: rootKey, SecretAccessKey: rootSecret}}
}

// do sends one request signed for "lambda" as the SDKs sign it.
func (fh *fuzzHandler) do(t *testing.T, method, target, body string) *httptest.ResponseRecorder {
	req, err := http.NewRequest(method, target, strings.NewReader(body))
	if err != nil {
		return nil
	}
	sum := sha256.Sum256([]byte(body))
	if err := fh.signer.SignHTTP(context.Background(), fh.creds, req, hex.EncodeToString(sum[:]), "lambda", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	fh.h.ServeHTTP(rec, req)
	return rec
}

// checkAnswer is what every answer must be: no 5xx but 501 for what
// Sluice does not serve yet; an error carries X-Amzn-ErrorType and the
// JSON body {"Type":"User","Message":...} with a 4xx status.
func checkAnswer(t *testing.T, what string, rec *httptest.ResponseRecorder) (code string) {
	t.Helper()
	status := rec.Code
	if status >= 500 && !(status == http.StatusNotImplemented && rec.Header().Get("X-Amzn-ErrorType") == "NotImplemented") {
		t.Fatalf("%s: status %d: %s", what, status, rec.Body.Bytes())
	}
	if status < 400 {
		if rec.Header().Get("X-Amzn-ErrorType") != "" {
			t.Fatalf("%s: status %d with X-Amzn-ErrorType %s", what, status, rec.Header().Get("X-Amzn-ErrorType"))
		}
		return ""
	}
	code = rec.Header().Get("X-Amzn-ErrorType")
	var e struct{ Type, Message string }
	if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil {
		t.Fatalf("%s: status %d, error body is not JSON: %v: %s", what, status, err, rec.Body.Bytes())
	}
	wantType := "User"
	if status >= 500 {
		wantType = "Service"
	}
	if code == "" || e.Type != wantType || e.Message == "" || rec.Header().Get("X-Amzn-RequestId") == "" {
		t.Fatalf("%s: status %d, X-Amzn-ErrorType %q, body %s: want a code, Type %s, a Message and a request id", what, status, code, rec.Body.Bytes(), wantType)
	}
	return code
}

var fuzzMethods = []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch, http.MethodHead}

// FuzzRoute sends arbitrary signed requests (method, path, query, body) to
// the Lambda API: the router and every operation it reaches must answer
// with the Lambda error shape and never a 5xx or a panic. Invoke of the
// one function that exists is skipped (it would start a process).
func FuzzRoute(f *testing.F) {
	for _, s := range []struct {
		m                 byte
		path, query, body string
	}{
		{0, "/2015-03-31/functions", "MaxItems=2&Marker=x", ""},
		{0, "/2015-03-31/functions/" + fuzzFunction, "Qualifier=$LATEST", ""},
		{0, "/2015-03-31/functions/" + fuzzFunction + "/configuration", "", ""},
		{1, "/2015-03-31/functions", "", `{"FunctionName":"x","Runtime":"provided.al2023","Role":"` + roleARN + `","Handler":"bootstrap","Code":{"ZipFile":"UEsFBgAAAAAAAAAAAAAAAAAAAAAAAA=="}}`},
		{2, "/2015-03-31/functions/" + fuzzFunction + "/configuration", "", `{"Timeout":0,"MemorySize":99999}`},
		{1, "/2015-03-31/functions/" + fuzzFunction + "/policy", "", `{"StatementId":"s","Action":"lambda:InvokeFunction","Principal":"s3.amazonaws.com"}`},
		{3, "/2015-03-31/functions/" + fuzzFunction + "/policy/s", "", ""},
		{2, "/2017-10-31/functions/" + fuzzFunction + "/concurrency", "", `{"ReservedConcurrentExecutions":-1}`},
		{1, "/2017-03-31/tags/arn:aws:lambda:us-east-1:000000000000:function:" + fuzzFunction, "", `{"Tags":{"":""}}`},
		{1, "/2015-03-31/functions/nope/invocations", "", `{"a":1}`},
		{1, "/2015-03-31/functions/" + fuzzFunction + "/aliases", "", `{"Name":"live","FunctionVersion":"7"}`},
		{0, "/2016-08-19/account-settings", "", ""},
		{0, "/2015-03-31/functions/%2F..%2F/configuration", "", ""},
		{4, "/2018-10-31/layers/x/versions", "", ""},
		{1, "/2015-03-31/event-source-mappings/", "", `{"FunctionName":"x","EventSourceArn":"arn:aws:sqs:us-east-1:000000000000:q"}`},
		{0, "//", "", ""},
	} {
		f.Add(s.m, s.path, s.query, s.body)
	}
	fh := newFuzzHandler(f)
	f.Fuzz(func(t *testing.T, m byte, path, query, body string) {
		if len(path) > 4096 || len(query) > 4096 || len(body) > 64<<10 || !strings.HasPrefix(path, "/") {
			return
		}
		method := fuzzMethods[int(m)%len(fuzzMethods)]
		u := &url.URL{Scheme: "http", Host: "127.0.0.1", RawQuery: query}
		p, err := url.PathUnescape(path)
		if err != nil {
			return
		}
		u.Path, u.RawPath = p, path
		if strings.Contains(path, "invocations") || strings.Contains(path, "invoke-async") ||
			strings.Contains(p, "invocations") || strings.Contains(p, "invoke-async") {
			// Invocations of fuzzFunction would start a process; those of
			// other names are covered by the seeds.
			if strings.Contains(p, fuzzFunction) || method != http.MethodPost || len(body) > 0 && body[0] != '{' {
				return
			}
		}
		rec := fh.do(t, method, u.String(), body)
		if rec == nil {
			return
		}
		checkAnswer(t, method+" "+u.String(), rec)
	})
}

// functionNamePattern is the FunctionName constraint Lambda states in its
// ValidationException (with the name part bounded by 64 characters
// elsewhere): a name, a partial ARN (account:function:name) or a full
// ARN, each with an optional :qualifier.
var functionNamePattern = regexp.MustCompile(`^(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\d{1}:)?(\d{12}:)?(function:)?([a-zA-Z0-9-_\.]+)(:(\$LATEST|[a-zA-Z0-9-_]+))?$`)

// FuzzFunctionName reads the configuration of arbitrary function
// references with an optional Qualifier: a reference Lambda's pattern
// refuses is a 400 ValidationException; a 200 is fuzzFunction and no
// other, named plainly, by partial or full ARN; anything else that
// matches is an error in Lambda's shape (ResourceNotFoundException for a
// well-formed name that does not exist).
func FuzzFunctionName(f *testing.F) {
	for _, s := range [][2]string{
		{fuzzFunction, ""},
		{fuzzFunction, "$LATEST"},
		{fuzzFunction + ":$LATEST", ""},
		{fuzzFunction + ":$LATEST", "$LATEST"},
		{fuzzFunction + ":1", "2"},
		{"000000000000:function:" + fuzzFunction, ""},
		{"arn:aws:lambda:us-east-1:000000000000:function:" + fuzzFunction, ""},
		{"arn:aws:lambda:us-east-1:000000000000:function:" + fuzzFunction + ":live", ""},
		{"arn:aws:lambda:eu-west-1:000000000000:function:" + fuzzFunction, ""},
		{"arn:aws:lambda:us-east-1:111111111111:function:" + fuzzFunction, ""},
		{"arn:aws-cn:lambda:cn-north-1:000000000000:function:x", ""},
		{"function:" + fuzzFunction, ""},
		{"nope", ""},
		{strings.Repeat("a", 65), ""},
		{"a b", ""},
		{"x:y:z", ""},
		{"", ""},
		{fuzzFunction, "bad qualifier"},
	} {
		f.Add(s[0], s[1])
	}
	fh := newFuzzHandler(f)
	f.Fuzz(func(t *testing.T, name, qualifier string) {
		if len(name) > 512 || len(qualifier) > 512 || name == "" {
			return
		}
		u := "http://127.0.0.1/2015-03-31/functions/" + url.PathEscape(name) + "/configuration"
		if qualifier != "" {
			u += "?Qualifier=" + url.QueryEscape(qualifier)
		}
		what := "GetFunctionConfiguration " + strconvQuote(name) + " qualifier " + strconvQuote(qualifier)
		rec := fh.do(t, http.MethodGet, u, "")
		if rec == nil {
			return
		}
		code := checkAnswer(t, what, rec)
		if code == "InvalidSignatureException" || code == "SignatureDoesNotMatch" || rec.Code == http.StatusForbidden {
			return // a name the signer and the verifier escape differently: no name rule applies
		}
		if !functionNamePattern.MatchString(name) && rec.Code != http.StatusBadRequest {
			t.Fatalf("%s: status %d %s, want 400 for a reference outside Lambda's pattern", what, rec.Code, code)
		}
		if rec.Code == http.StatusOK {
			var cfg struct{ FunctionName, FunctionArn string }
			if err := json.Unmarshal(rec.Body.Bytes(), &cfg); err != nil || cfg.FunctionName != fuzzFunction {
				t.Fatalf("%s: 200 with %s, want the configuration of %s", what, rec.Body.Bytes(), fuzzFunction)
			}
			plain := name
			if i := strings.LastIndex(name, "function:"); i >= 0 {
				plain = name[i+len("function:"):]
			}
			plain, _, _ = strings.Cut(plain, ":")
			if plain != fuzzFunction {
				t.Fatalf("%s: 200 for a reference whose name is %q, not %s", what, plain, fuzzFunction)
			}
		}
	})
}

func strconvQuote(s string) string { b, _ := json.Marshal(s); return string(b) }
