package lambdaapi

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

// TestVersionsAndAliasesSDK drives the version and alias operations with
// aws-sdk-go-v2: paths, status codes, shapes, paginators and the modeled
// errors the SDK raises.
func TestVersionsAndAliasesSDK(t *testing.T) {
	e := newEnv(t)
	const fnARN = "arn:aws:lambda:us-east-1:000000000000:function:vers"
	e.create("vers")
	v1, err := e.client.PublishVersion(e.ctx, &lambda.PublishVersionInput{FunctionName: aws.String("vers"), Description: aws.String("one")})
	if err != nil || aws.ToString(v1.Version) != "1" || aws.ToString(v1.FunctionArn) != fnARN+":1" || aws.ToString(v1.Description) != "one" {
		t.Fatalf("PublishVersion = %+v, %v", v1, err)
	}
	_, err = e.client.PublishVersion(e.ctx, &lambda.PublishVersionInput{FunctionName: aws.String("vers"), CodeSha256: aws.String("bad")})
	var inv *types.InvalidParameterValueException
	if !errors.As(err, &inv) {
		t.Fatalf("PublishVersion with a wrong CodeSha256: %v", err)
	}
	if _, err := e.client.UpdateFunctionConfiguration(e.ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("vers"), Timeout: aws.Int32(9)}); err != nil {
		t.Fatal(err)
	}
	if v2, err := e.client.PublishVersion(e.ctx, &lambda.PublishVersionInput{FunctionName: aws.String("vers")}); err != nil || aws.ToString(v2.Version) != "2" || aws.ToInt32(v2.Timeout) != 9 {
		t.Fatalf("second PublishVersion = %+v, %v", v2, err)
	}
	var versions []string
	p := lambda.NewListVersionsByFunctionPaginator(e.client, &lambda.ListVersionsByFunctionInput{FunctionName: aws.String("vers"), MaxItems: aws.Int32(2)})
	for p.HasMorePages() {
		page, err := p.NextPage(e.ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range page.Versions {
			versions = append(versions, aws.ToString(v.Version))
		}
	}
	if strings.Join(versions, ",") != "$LATEST,1,2" {
		t.Fatalf("ListVersionsByFunction pages = %v", versions)
	}
	got, err := e.client.GetFunctionConfiguration(e.ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("vers"), Qualifier: aws.String("1")})
	if err != nil || aws.ToInt32(got.Timeout) != 3 || aws.ToString(got.Version) != "1" {
		t.Fatalf("GetFunctionConfiguration(1) = %+v, %v; want version 1's own Timeout 3", got, err)
	}

	a, err := e.client.CreateAlias(e.ctx, &lambda.CreateAliasInput{FunctionName: aws.String("vers"), Name: aws.String("live"),
		FunctionVersion: aws.String("1"), Description: aws.String("prod"),
		RoutingConfig: &types.AliasRoutingConfiguration{AdditionalVersionWeights: map[string]float64{"2": 0.25}}})
	if err != nil || aws.ToString(a.AliasArn) != fnARN+":live" || a.RoutingConfig.AdditionalVersionWeights["2"] != 0.25 {
		t.Fatalf("CreateAlias = %+v, %v", a, err)
	}
	_, err = e.client.CreateAlias(e.ctx, &lambda.CreateAliasInput{FunctionName: aws.String("vers"), Name: aws.String("live"), FunctionVersion: aws.String("1")})
	var conflict *types.ResourceConflictException
	if !errors.As(err, &conflict) || !strings.Contains(err.Error(), "Alias already exists") {
		t.Fatalf("CreateAlias twice: %v", err)
	}
	_, err = e.client.GetAlias(e.ctx, &lambda.GetAliasInput{FunctionName: aws.String("vers"), Name: aws.String("gone")})
	var nf *types.ResourceNotFoundException
	if !errors.As(err, &nf) {
		t.Fatalf("GetAlias of a missing alias: %v", err)
	}
	up, err := e.client.UpdateAlias(e.ctx, &lambda.UpdateAliasInput{FunctionName: aws.String("vers"), Name: aws.String("live"),
		FunctionVersion: aws.String("2"), RoutingConfig: &types.AliasRoutingConfiguration{}, RevisionId: a.RevisionId})
	if err != nil || aws.ToString(up.FunctionVersion) != "2" || up.RoutingConfig != nil {
		t.Fatalf("UpdateAlias = %+v, %v", up, err)
	}
	_, err = e.client.UpdateAlias(e.ctx, &lambda.UpdateAliasInput{FunctionName: aws.String("vers"), Name: aws.String("live"), RevisionId: a.RevisionId})
	var pre *types.PreconditionFailedException
	if !errors.As(err, &pre) {
		t.Fatalf("UpdateAlias with a stale RevisionId: %v", err)
	}
	al, err := e.client.ListAliases(e.ctx, &lambda.ListAliasesInput{FunctionName: aws.String("vers")})
	if err != nil || len(al.Aliases) != 1 || aws.ToString(al.Aliases[0].Name) != "live" {
		t.Fatalf("ListAliases = %+v, %v", al, err)
	}
	// Invoke names a missing qualifier: 404 with the qualified ARN.
	_, err = e.client.Invoke(e.ctx, &lambda.InvokeInput{FunctionName: aws.String("vers:nope")})
	if !errors.As(err, &nf) || !strings.Contains(err.Error(), fnARN+":nope") {
		t.Fatalf("Invoke vers:nope: %v", err)
	}
	// Per-qualifier policy through the wire.
	if _, err := e.client.AddPermission(e.ctx, &lambda.AddPermissionInput{FunctionName: aws.String("vers"), Qualifier: aws.String("live"),
		StatementId: aws.String("s3"), Action: aws.String("lambda:InvokeFunction"), Principal: aws.String("s3.amazonaws.com")}); err != nil {
		t.Fatal(err)
	}
	pol, err := e.client.GetPolicy(e.ctx, &lambda.GetPolicyInput{FunctionName: aws.String("vers"), Qualifier: aws.String("live")})
	if err != nil || !strings.Contains(aws.ToString(pol.Policy), fnARN+":live") {
		t.Fatalf("GetPolicy(live) = %v, %v", pol, err)
	}
	if _, err := e.client.GetPolicy(e.ctx, &lambda.GetPolicyInput{FunctionName: aws.String("vers")}); !errors.As(err, &nf) {
		t.Fatalf("GetPolicy($LATEST) after a grant on the alias: %v", err)
	}
	_, err = e.client.DeleteFunction(e.ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String("vers"), Qualifier: aws.String("2")})
	if code, status := apiErr(t, err); code != "ResourceConflictException" || status != http.StatusConflict {
		t.Fatalf("DeleteFunction of version 2 (aliased) = %s %d", code, status)
	}
	if _, err := e.client.DeleteAlias(e.ctx, &lambda.DeleteAliasInput{FunctionName: aws.String("vers"), Name: aws.String("live")}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.DeleteFunction(e.ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String("vers"), Qualifier: aws.String("2")}); err != nil {
		t.Fatal(err)
	}
	_, err = e.client.GetFunction(e.ctx, &lambda.GetFunctionInput{FunctionName: aws.String("vers"), Qualifier: aws.String("2")})
	if !errors.As(err, &nf) {
		t.Fatalf("GetFunction of a deleted version: %v", err)
	}
	// CreateFunction with Publish answers version 1.
	pub, err := e.client.CreateFunction(e.ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("pub"), Role: aws.String(roleARN),
		Runtime: types.RuntimeProvidedal2023, Handler: aws.String("bootstrap"), Code: &types.FunctionCode{ZipFile: zipOf(t, "#!/bin/sh\n")}, Publish: true})
	if err != nil || aws.ToString(pub.Version) != "1" {
		t.Fatalf("CreateFunction Publish = %+v, %v", pub, err)
	}
}
