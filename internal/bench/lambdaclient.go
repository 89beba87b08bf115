package bench

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// lambdaClient speaks the Lambda REST-JSON API (and IAM's query protocol
// for the function's role) as aws-sdk-go-v2 does: SigV4 header signatures
// over the body's SHA-256, service "lambda" or "iam".
type lambdaClient struct {
	http     *http.Client
	endpoint string
	creds    aws.Credentials
	region   string
	signer   *v4.Signer
}

func newLambdaClient(endpoint, accessKey, secretKey, region string, tr *http.Transport) *lambdaClient {
	return &lambdaClient{
		http:     &http.Client{Transport: tr},
		endpoint: endpoint,
		creds:    aws.Credentials{AccessKeyID: accessKey, SecretAccessKey: secretKey, Source: "sluice bench"},
		region:   region,
		signer:   v4.NewSigner(),
	}
}

// do sends one signed request and returns the response body of a status
// in want, or a statusError. sha is the body's hex SHA-256 ("" computes it).
func (c *lambdaClient) do(ctx context.Context, service, method, path, contentType string, body []byte, sha string, want ...int) (*http.Response, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.endpoint+path, bytes.NewReader(body))
	if err != nil {
		return nil, nil, err
	}
	if len(body) == 0 {
		req.Body, req.GetBody = http.NoBody, nil
	}
	if sha == "" {
		sum := sha256.Sum256(body)
		sha = hex.EncodeToString(sum[:])
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if err := c.signer.SignHTTP(ctx, c.creds, req, sha, service, c.region, time.Now()); err != nil {
		return nil, nil, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer drainClose(resp.Body)
	out, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return nil, nil, fmt.Errorf("%s %s: reading body: %w", method, path, err)
	}
	for _, w := range want {
		if resp.StatusCode == w {
			return resp, out, nil
		}
	}
	if len(out) > 512 {
		out = out[:512]
	}
	return nil, nil, &statusError{Method: method, Path: path, Status: resp.StatusCode, Body: string(bytes.TrimSpace(out))}
}

// lambdaTrustPolicy lets Lambda assume the bench's role, as the Lambda
// tutorial's trust.json does.
const lambdaTrustPolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`

// createRole creates an IAM role for the bench's functions and returns its
// ARN (a function's role must exist).
func (c *lambdaClient) createRole(ctx context.Context, name string) (string, error) {
	form := url.Values{"Action": {"CreateRole"}, "Version": {"2010-05-08"}, "RoleName": {name},
		"AssumeRolePolicyDocument": {lambdaTrustPolicy}}
	_, body, err := c.do(ctx, "iam", http.MethodPost, "/", "application/x-www-form-urlencoded; charset=utf-8",
		[]byte(form.Encode()), "", http.StatusOK)
	if err != nil {
		return "", fmt.Errorf("CreateRole: %w", err)
	}
	var out struct {
		Arn string `xml:"CreateRoleResult>Role>Arn"`
	}
	if err := xml.Unmarshal(body, &out); err != nil || out.Arn == "" {
		return "", fmt.Errorf("CreateRole: no role ARN in the response (%v)", err)
	}
	return out.Arn, nil
}

func (c *lambdaClient) deleteRole(ctx context.Context, name string) error {
	form := url.Values{"Action": {"DeleteRole"}, "Version": {"2010-05-08"}, "RoleName": {name}}
	_, _, err := c.do(ctx, "iam", http.MethodPost, "/", "application/x-www-form-urlencoded; charset=utf-8",
		[]byte(form.Encode()), "", http.StatusOK)
	return err
}

// functionSpec is what CreateFunction needs from the bench.
type functionSpec struct {
	Name, Runtime, Handler, Role string
	Zip                          []byte
}

func (c *lambdaClient) createFunction(ctx context.Context, f functionSpec) error {
	in := map[string]any{
		"FunctionName": f.Name, "Runtime": f.Runtime, "Handler": f.Handler, "Role": f.Role,
		"Code":    map[string]string{"ZipFile": base64.StdEncoding.EncodeToString(f.Zip)},
		"Timeout": 30, "MemorySize": 128,
	}
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	_, _, err = c.do(ctx, "lambda", http.MethodPost, "/2015-03-31/functions", "application/json", body, "", http.StatusCreated)
	if err != nil {
		return fmt.Errorf("CreateFunction %s: %w", f.Name, err)
	}
	return nil
}

func (c *lambdaClient) deleteFunction(ctx context.Context, name string) error {
	_, _, err := c.do(ctx, "lambda", http.MethodDelete, "/2015-03-31/functions/"+name, "", nil, emptySHA256, http.StatusNoContent)
	return err
}

// invoke calls the function synchronously with payload (whose hex SHA-256
// is sha) and checks that the answer is the payload echoed: HTTP 200, no
// X-Amz-Function-Error, the same JSON value.
func (c *lambdaClient) invoke(ctx context.Context, name string, payload []byte, sha string) error {
	path := "/2015-03-31/functions/" + name + "/invocations"
	resp, body, err := c.do(ctx, "lambda", http.MethodPost, path, "application/json", payload, sha, http.StatusOK)
	if err != nil {
		return err
	}
	if fe := resp.Header.Get("X-Amz-Function-Error"); fe != "" {
		if len(body) > 512 {
			body = body[:512]
		}
		return fmt.Errorf("invoke %s: X-Amz-Function-Error %s: %s", name, fe, body)
	}
	if !sameJSON(body, payload) {
		return fmt.Errorf("invoke %s: the answer %.200q is not the event sent", name, body)
	}
	return nil
}

// sameJSON says whether a and b encode the same JSON value (Python's json
// module and Go's encoder space and order differently).
func sameJSON(a, b []byte) bool {
	if bytes.Equal(a, b) {
		return true
	}
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return bytes.Equal(xa, ya)
}
