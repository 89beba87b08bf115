package lambdaapi

import (
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

// TestRecursionConfigSDK drives Put/GetFunctionRecursionConfig with
// aws-sdk-go-v2 (path date 2024-08-31): the default, a round trip, and
// AWS's errors.
func TestRecursionConfigSDK(t *testing.T) {
	e := newEnv(t)
	e.create("fn")
	get, err := e.client.GetFunctionRecursionConfig(e.ctx, &lambda.GetFunctionRecursionConfigInput{FunctionName: aws.String("fn")})
	if err != nil || get.RecursiveLoop != types.RecursiveLoopTerminate {
		t.Fatalf("Get before Put = %+v, %v, want Terminate", get, err)
	}
	put, err := e.client.PutFunctionRecursionConfig(e.ctx, &lambda.PutFunctionRecursionConfigInput{FunctionName: aws.String("fn"),
		RecursiveLoop: types.RecursiveLoopAllow})
	if err != nil || put.RecursiveLoop != types.RecursiveLoopAllow {
		t.Fatalf("Put Allow = %+v, %v", put, err)
	}
	get, err = e.client.GetFunctionRecursionConfig(e.ctx, &lambda.GetFunctionRecursionConfigInput{
		FunctionName: aws.String("arn:aws:lambda:us-east-1:000000000000:function:fn")})
	if err != nil || get.RecursiveLoop != types.RecursiveLoopAllow {
		t.Fatalf("Get after Put Allow = %+v, %v", get, err)
	}
	put, err = e.client.PutFunctionRecursionConfig(e.ctx, &lambda.PutFunctionRecursionConfigInput{FunctionName: aws.String("fn"),
		RecursiveLoop: types.RecursiveLoopTerminate})
	if err != nil || put.RecursiveLoop != types.RecursiveLoopTerminate {
		t.Fatalf("Put Terminate = %+v, %v", put, err)
	}

	_, err = e.client.PutFunctionRecursionConfig(e.ctx, &lambda.PutFunctionRecursionConfigInput{FunctionName: aws.String("fn"),
		RecursiveLoop: types.RecursiveLoop("Sometimes")})
	if code, status := apiErr(t, err); code != "ValidationException" || status != 400 {
		t.Fatalf("RecursiveLoop Sometimes = %s %d, want ValidationException 400", code, status)
	}
	var ae interface{ ErrorMessage() string }
	if !errors.As(err, &ae) || ae.ErrorMessage() != "1 validation error detected: Value 'Sometimes' at 'recursiveLoop' failed to satisfy constraint: Member must satisfy enum value set: [Allow, Terminate]" {
		t.Fatalf("validation message: %v", err)
	}
	get, err = e.client.GetFunctionRecursionConfig(e.ctx, &lambda.GetFunctionRecursionConfigInput{FunctionName: aws.String("fn")})
	if err != nil || get.RecursiveLoop != types.RecursiveLoopTerminate {
		t.Fatalf("Get after a refused Put = %+v, %v, want Terminate unchanged", get, err)
	}

	var nf *types.ResourceNotFoundException
	_, err = e.client.PutFunctionRecursionConfig(e.ctx, &lambda.PutFunctionRecursionConfigInput{FunctionName: aws.String("nope"),
		RecursiveLoop: types.RecursiveLoopAllow})
	if !errors.As(err, &nf) || aws.ToString(nf.Message) != "Function not found: arn:aws:lambda:us-east-1:000000000000:function:nope" {
		t.Fatalf("Put on a missing function: %v", err)
	}
	_, err = e.client.GetFunctionRecursionConfig(e.ctx, &lambda.GetFunctionRecursionConfigInput{FunctionName: aws.String("nope")})
	if code, status := apiErr(t, err); code != "ResourceNotFoundException" || status != 404 {
		t.Fatalf("Get on a missing function = %s %d", code, status)
	}
}
