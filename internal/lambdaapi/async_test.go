package lambdaapi

import (
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

// TestEventInvokeConfigSDK drives the event invoke configuration
// operations and DeadLetterConfig with aws-sdk-go-v2 (path date
// 2019-09-25, LastModified as epoch seconds).
func TestEventInvokeConfigSDK(t *testing.T) {
	e := newEnv(t)
	e.create("fn")
	const failQ = "arn:aws:sqs:us-east-1:000000000000:failed"
	_, err := e.client.GetFunctionEventInvokeConfig(e.ctx, &lambda.GetFunctionEventInvokeConfigInput{FunctionName: aws.String("fn")})
	var nf *types.ResourceNotFoundException
	if !errors.As(err, &nf) || aws.ToString(nf.Message) != "The function arn:aws:lambda:us-east-1:000000000000:function:fn:$LATEST doesn't have an EventInvokeConfig" {
		t.Fatalf("Get before Put: %v", err)
	}
	put, err := e.client.PutFunctionEventInvokeConfig(e.ctx, &lambda.PutFunctionEventInvokeConfigInput{FunctionName: aws.String("fn"),
		MaximumRetryAttempts: aws.Int32(1), MaximumEventAgeInSeconds: aws.Int32(3600),
		DestinationConfig: &types.DestinationConfig{OnFailure: &types.OnFailure{Destination: aws.String(failQ)}}})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(put.FunctionArn) != "arn:aws:lambda:us-east-1:000000000000:function:fn:$LATEST" || aws.ToInt32(put.MaximumRetryAttempts) != 1 ||
		aws.ToInt32(put.MaximumEventAgeInSeconds) != 3600 || put.LastModified == nil || put.LastModified.IsZero() ||
		aws.ToString(put.DestinationConfig.OnFailure.Destination) != failQ {
		t.Fatalf("Put = %+v", put)
	}
	up, err := e.client.UpdateFunctionEventInvokeConfig(e.ctx, &lambda.UpdateFunctionEventInvokeConfigInput{FunctionName: aws.String("fn"),
		MaximumRetryAttempts: aws.Int32(0)})
	if err != nil || aws.ToInt32(up.MaximumRetryAttempts) != 0 || aws.ToInt32(up.MaximumEventAgeInSeconds) != 3600 {
		t.Fatalf("Update = %+v, %v", up, err)
	}
	list, err := e.client.ListFunctionEventInvokeConfigs(e.ctx, &lambda.ListFunctionEventInvokeConfigsInput{FunctionName: aws.String("fn")})
	if err != nil || len(list.FunctionEventInvokeConfigs) != 1 {
		t.Fatalf("List = %+v, %v", list, err)
	}
	_, err = e.client.PutFunctionEventInvokeConfig(e.ctx, &lambda.PutFunctionEventInvokeConfigInput{FunctionName: aws.String("fn"),
		MaximumRetryAttempts: aws.Int32(3)})
	if code, status := apiErr(t, err); code != "ValidationException" || status != 400 {
		t.Fatalf("retries 3 = %s %d", code, status)
	}
	_, err = e.client.PutFunctionEventInvokeConfig(e.ctx, &lambda.PutFunctionEventInvokeConfigInput{FunctionName: aws.String("fn"),
		DestinationConfig: &types.DestinationConfig{OnSuccess: &types.OnSuccess{Destination: aws.String("arn:aws:events:us-east-1:000000000000:event-bus/default")}}})
	var ipv *types.InvalidParameterValueException
	if !errors.As(err, &ipv) {
		t.Fatalf("EventBridge destination: %v", err)
	}
	if _, err := e.client.DeleteFunctionEventInvokeConfig(e.ctx, &lambda.DeleteFunctionEventInvokeConfigInput{FunctionName: aws.String("fn")}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.GetFunctionEventInvokeConfig(e.ctx, &lambda.GetFunctionEventInvokeConfigInput{FunctionName: aws.String("fn")}); !errors.As(err, &nf) {
		t.Fatalf("Get after Delete: %v", err)
	}

	// DeadLetterConfig on UpdateFunctionConfiguration and back in GetFunctionConfiguration.
	const dlq = "arn:aws:sqs:us-east-1:000000000000:dlq"
	if _, err := e.client.UpdateFunctionConfiguration(e.ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("fn"),
		DeadLetterConfig: &types.DeadLetterConfig{TargetArn: aws.String(dlq)}}); err != nil {
		t.Fatal(err)
	}
	c, err := e.client.GetFunctionConfiguration(e.ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("fn")})
	if err != nil || c.DeadLetterConfig == nil || aws.ToString(c.DeadLetterConfig.TargetArn) != dlq {
		t.Fatalf("DeadLetterConfig = %+v, %v", c.DeadLetterConfig, err)
	}
	if _, err := e.client.UpdateFunctionConfiguration(e.ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("fn"),
		DeadLetterConfig: &types.DeadLetterConfig{}}); err != nil {
		t.Fatal(err)
	}
	c, err = e.client.GetFunctionConfiguration(e.ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("fn")})
	if err != nil || c.DeadLetterConfig != nil {
		t.Fatalf("DeadLetterConfig after removal = %+v, %v", c.DeadLetterConfig, err)
	}
}
