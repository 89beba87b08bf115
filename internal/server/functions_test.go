package server

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	ltypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"sluice/internal/function/functest"
)

// stsfnZip is the zip of testdata/stsfn, an unmodified aws-lambda-go
// function, built once in TestMain ("" when the build failed; the tests
// that need it then fail with buildErr).
var (
	stsfnZip []byte
	buildErr error
)

func TestMain(m *testing.M) {
	stsfnZip, buildErr = functest.BuildZip("./testdata/stsfn")
	os.Exit(m.Run())
}

const lambdaTrust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`

type clients struct {
	iam    *iam.Client
	lambda *lambda.Client
	sts    *sts.Client
	s3     *s3.Client
}

func clientsFor(srv *Server) clients {
	root := srv.RootCredentials()
	creds := credentials.NewStaticCredentialsProvider(root.AccessKeyID, root.SecretAccessKey, "")
	ep := aws.String(srv.URL())
	return clients{
		iam:    iam.New(iam.Options{Region: "us-east-1", BaseEndpoint: ep, Credentials: creds, RetryMaxAttempts: 1}),
		lambda: lambda.New(lambda.Options{Region: "us-east-1", BaseEndpoint: ep, Credentials: creds, RetryMaxAttempts: 1}),
		sts:    sts.New(sts.Options{Region: "us-east-1", BaseEndpoint: ep, Credentials: creds, RetryMaxAttempts: 1}),
		s3:     s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: ep, Credentials: creds, UsePathStyle: true}),
	}
}

// TestFunctionUserStory is issue 7's user story through the real server:
// create a role, create a function from an aws-lambda-go zip, invoke it,
// read its log, and let it call STS and S3 with its own credentials.
func TestFunctionUserStory(t *testing.T) {
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	srv := start(t, Config{})
	c := clientsFor(srv.Server)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	id, err := c.sts.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil || aws.ToString(id.Arn) != "arn:aws:iam::000000000000:root" || aws.ToString(id.UserId) != "000000000000" {
		t.Fatalf("root GetCallerIdentity = %+v, %v", id, err)
	}
	role, err := c.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("hello"), AssumeRolePolicyDocument: aws.String(lambdaTrust)})
	if err != nil {
		t.Fatal(err)
	}
	roleARN := aws.ToString(role.Role.Arn)
	// A role Lambda may not assume, and one that does not exist, are refused.
	ec2, err := c.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("ec2"), AssumeRolePolicyDocument: aws.String(strings.ReplaceAll(lambdaTrust, "lambda", "ec2"))})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []string{aws.ToString(ec2.Role.Arn), "arn:aws:iam::000000000000:role/missing"} {
		_, err = c.lambda.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("x"), Role: aws.String(r),
			Runtime: ltypes.RuntimeProvidedal2023, Handler: aws.String("bootstrap"), Code: &ltypes.FunctionCode{ZipFile: stsfnZip}})
		var inv *ltypes.InvalidParameterValueException
		if !errors.As(err, &inv) || !strings.Contains(err.Error(), "The role defined for the function cannot be assumed by Lambda.") {
			t.Fatalf("CreateFunction with role %s: %v", r, err)
		}
	}

	if _, err := c.lambda.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("hello"), Role: aws.String(roleARN),
		Runtime: ltypes.RuntimeProvidedal2023, Handler: aws.String("bootstrap"), Timeout: aws.Int32(30),
		Code: &ltypes.FunctionCode{ZipFile: stsfnZip}}); err != nil {
		t.Fatal(err)
	}
	out, err := c.lambda.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("hello"), Payload: []byte(`{"name":"x"}`), LogType: ltypes.LogTypeTail})
	if err != nil {
		t.Fatal(err)
	}
	var res map[string]string
	if err := json.Unmarshal(out.Payload, &res); err != nil || res["hello"] != "x" || res["function"] != "hello" || out.StatusCode != 200 || out.FunctionError != nil ||
		aws.ToString(out.ExecutedVersion) != "$LATEST" {
		t.Fatalf("Invoke = %d %s fe=%v (%v)", out.StatusCode, out.Payload, out.FunctionError, err)
	}
	tail, err := base64.StdEncoding.DecodeString(aws.ToString(out.LogResult))
	if err != nil || !strings.Contains(string(tail), "START RequestId: "+res["request"]) || !strings.Contains(string(tail), "hello from x in "+res["request"]) ||
		!strings.Contains(string(tail), "REPORT RequestId: "+res["request"]) {
		t.Fatalf("LogResult = %q (%v)", tail, err)
	}

	// A function error is HTTP 200 with X-Amz-Function-Error.
	out, err = c.lambda.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("hello"), Payload: []byte(`{"fail":true}`)})
	if err != nil || out.StatusCode != 200 || aws.ToString(out.FunctionError) != "Unhandled" || !strings.Contains(string(out.Payload), "asked to fail") {
		t.Fatalf("failing Invoke = %+v, %v", out, err)
	}
	// DryRun checks only.
	out, err = c.lambda.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("hello"), InvocationType: ltypes.InvocationTypeDryRun})
	if err != nil || out.StatusCode != 204 {
		t.Fatalf("DryRun = %+v, %v", out, err)
	}

	// Inside the function, the SDK's default configuration reaches Sluice
	// with the function's session: STS names the assumed role, and S3
	// accepts its writes.
	if _, err := c.s3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("fn-out")}); err != nil {
		t.Fatal(err)
	}
	out, err = c.lambda.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("hello"), Payload: []byte(`{"name":"s","sts":true,"bucket":"fn-out"}`)})
	if err != nil || out.FunctionError != nil {
		t.Fatalf("STS Invoke = %+v %s, %v", out, out.Payload, err)
	}
	res = nil
	json.Unmarshal(out.Payload, &res)
	if res["arn"] != "arn:aws:sts::000000000000:assumed-role/hello/hello" || res["put"] != "ok" {
		t.Fatalf("function's identity = %s", out.Payload)
	}
	obj, err := c.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("fn-out"), Key: aws.String("from-function")})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(obj.Body)
	obj.Body.Close()
	if string(body) != "written by hello" {
		t.Fatalf("object written by the function = %q", body)
	}

	// The kept log, through /_sluice/ with HTTP Basic and the root keys.
	root := srv.RootCredentials()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL()+"/_sluice/functions/hello/logs", nil)
	req.SetBasicAuth(root.AccessKeyID, root.SecretAccessKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	log, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || strings.Count(string(log), "START RequestId:") < 3 || !strings.Contains(string(log), "hello from s in ") {
		t.Fatalf("logs = %d %q", resp.StatusCode, log)
	}
	req.SetBasicAuth(root.AccessKeyID, "wrong")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("logs with a wrong secret = %d", resp.StatusCode)
	}

	// The role cannot be deleted while the function... IAM does not
	// check that (nor does AWS); but with a policy attached it cannot.
	if _, err := c.iam.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String("hello"),
		PolicyArn: aws.String("arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole")}); err != nil {
		t.Fatal(err)
	}
	_, err = c.iam.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String("hello")})
	if apiCode(err) != "DeleteConflict" {
		t.Fatalf("DeleteRole with a policy attached: %v", err)
	}
	if _, err := c.lambda.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String("hello")}); err != nil {
		t.Fatal(err)
	}
}
