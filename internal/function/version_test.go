package function_test

import (
	"errors"
	"strings"
	"testing"

	"sluice/internal/function"
)

func (e *env) invokeQ(name, qualifier string, payload string) function.InvokeOutput {
	e.t.Helper()
	out, err := e.svc.Invoke(e.ctx, function.InvokeInput{Name: name, Qualifier: qualifier, Payload: []byte(payload)})
	if err != nil {
		e.t.Fatalf("Invoke(%s, %q): %v", name, qualifier, err)
	}
	if out.FunctionError != "" {
		e.t.Fatalf("Invoke(%s, %q): function error %s", name, qualifier, out.Payload)
	}
	return out
}

func wantKind(t *testing.T, what string, err, kind error, msg string) {
	t.Helper()
	var fe *function.Error
	if !errors.Is(err, kind) || !errors.As(err, &fe) || !strings.Contains(fe.Message, msg) {
		t.Fatalf("%s: err = %v, want %v with message containing %q", what, err, kind, msg)
	}
}

func TestVersionsAndAliases(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	const fnARN = "arn:aws:lambda:us-east-1:000000000000:function:ver"
	latest := e.create("ver", "provided.al2023", "bootstrap", goZip(t), func(in *function.CreateInput) {
		in.Environment = map[string]string{"VV": "one"}
	})
	v1, err := e.svc.PublishVersion(e.ctx, "ver", latest.CodeSha256, "first", "")
	if err != nil {
		t.Fatal(err)
	}
	if v1.Version != "1" || v1.FunctionArn != fnARN+":1" || v1.Description != "first" || v1.CodeSha256 != latest.CodeSha256 {
		t.Fatalf("PublishVersion = version %q arn %q desc %q", v1.Version, v1.FunctionArn, v1.Description)
	}
	again, err := e.svc.PublishVersion(e.ctx, "ver", "", "", "")
	if err != nil || again.Version != "1" {
		t.Fatalf("publish of an unchanged $LATEST = %q, %v; want version 1 again", again.Version, err)
	}
	_, err = e.svc.PublishVersion(e.ctx, "ver", "AAAA", "", "")
	wantKind(t, "publish with a wrong CodeSha256", err, function.ErrInvalidParameter, "CodeSHA256 (AAAA) is different from current CodeSHA256 in $LATEST")

	if _, err := e.svc.UpdateConfiguration(e.ctx, "ver", function.UpdateConfigInput{Environment: &map[string]string{"VV": "two"}}); err != nil {
		t.Fatal(err)
	}
	// The version is a snapshot: $LATEST's new environment does not reach it.
	lat := decode(t, e.invokeQ("ver", "", `{"op":"env"}`).Payload)
	one := e.invokeQ("ver", "1", `{"op":"env"}`)
	onev := decode(t, one.Payload)
	if lat["VV"] != "two" || lat["AWS_LAMBDA_FUNCTION_VERSION"] != "$LATEST" {
		t.Errorf("$LATEST ran with V=%v version %v; want two, $LATEST", lat["VV"], lat["AWS_LAMBDA_FUNCTION_VERSION"])
	}
	if onev["VV"] != "one" || onev["AWS_LAMBDA_FUNCTION_VERSION"] != "1" || one.ExecutedVersion != "1" {
		t.Errorf("version 1 ran with V=%v version env %v executed %q; want one, 1, 1", onev["VV"], onev["AWS_LAMBDA_FUNCTION_VERSION"], one.ExecutedVersion)
	}

	// Instances are per version, and each stays warm for its own version.
	pl := decode(t, e.invokeQ("ver", "$LATEST", `{"op":"echo"}`).Payload)
	p1 := decode(t, e.invokeQ(fnARN+":1", "", `{"op":"echo"}`).Payload)
	pl2 := decode(t, e.invokeQ("ver", "", `{"op":"echo"}`).Payload)
	if pl["pid"] == p1["pid"] || pl2["pid"] != pl["pid"] {
		t.Errorf("pids: $LATEST %v, version 1 %v, $LATEST again %v; want versions apart and $LATEST reused", pl["pid"], p1["pid"], pl2["pid"])
	}
	if p1["arn"] != fnARN+":1" {
		t.Errorf("version 1 saw InvokedFunctionArn %v", p1["arn"])
	}

	// Aliases.
	a, err := e.svc.CreateAlias(e.ctx, "ver", "live", function.AliasInput{FunctionVersion: ptr("1"), Description: ptr("prod")})
	if err != nil {
		t.Fatal(err)
	}
	if a.AliasArn != fnARN+":live" || a.FunctionVersion != "1" || a.Description != "prod" || a.RevisionId == "" {
		t.Fatalf("CreateAlias = %+v", a)
	}
	_, err = e.svc.CreateAlias(e.ctx, "ver", "live", function.AliasInput{FunctionVersion: ptr("1")})
	wantKind(t, "second CreateAlias", err, function.ErrConflict, "Alias already exists: "+fnARN+":live")
	_, err = e.svc.CreateAlias(e.ctx, "ver", "next", function.AliasInput{FunctionVersion: ptr("9")})
	wantKind(t, "alias to a missing version", err, function.ErrNotFound, "Function not found: "+fnARN+":9")
	_, err = e.svc.CreateAlias(e.ctx, "ver", "123", function.AliasInput{FunctionVersion: ptr("1")})
	wantKind(t, "numeric alias name", err, function.ErrValidation, "at 'name'")
	_, err = e.svc.CreateAlias(e.ctx, "ver", "canary", function.AliasInput{FunctionVersion: ptr("1"),
		RoutingConfig: &function.RoutingConfig{AdditionalVersionWeights: map[string]float64{"1": 0.5}}})
	wantKind(t, "routing to the alias's own version", err, function.ErrInvalidParameter, "already included")

	viaAlias := e.invokeQ("ver:live", "", `{"op":"echo"}`)
	if viaAlias.ExecutedVersion != "1" || decode(t, viaAlias.Payload)["arn"] != fnARN+":live" || decode(t, viaAlias.Payload)["pid"] != p1["pid"] {
		t.Errorf("alias live ran version %q with arn %v pid %v; want 1, the alias ARN, version 1's warm pid %v",
			viaAlias.ExecutedVersion, decode(t, viaAlias.Payload)["arn"], decode(t, viaAlias.Payload)["pid"], p1["pid"])
	}
	_, err = e.svc.Invoke(e.ctx, function.InvokeInput{Name: "ver", Qualifier: "7"})
	wantKind(t, "missing version", err, function.ErrNotFound, "Function not found: "+fnARN+":7")
	_, err = e.svc.Invoke(e.ctx, function.InvokeInput{Name: "ver", Qualifier: "nope"})
	wantKind(t, "missing alias", err, function.ErrNotFound, "Function not found: "+fnARN+":nope")
	_, err = e.svc.GetAlias(e.ctx, "ver", "nope")
	wantKind(t, "GetAlias of a missing alias", err, function.ErrNotFound, "Alias not found: "+fnARN+":nope")
	cfg, err := e.svc.GetConfiguration(e.ctx, "ver", "live")
	if err != nil || cfg.Version != "1" || cfg.Environment.Variables["VV"] != "one" {
		t.Fatalf("GetFunctionConfiguration(live) = %+v, %v", cfg, err)
	}

	// Per-qualifier policies.
	if _, err := e.svc.AddPermission(e.ctx, "ver", function.PermissionInput{StatementId: "s3", Action: "lambda:InvokeFunction",
		Principal: "s3.amazonaws.com", SourceArn: "arn:aws:s3:::photos", Qualifier: "live"}); err != nil {
		t.Fatal(err)
	}
	doc, _, err := e.svc.GetPolicy(e.ctx, "ver", "live")
	if err != nil || !strings.Contains(doc, `"Resource":"`+fnARN+`:live"`) {
		t.Fatalf("GetPolicy(live) = %s, %v", doc, err)
	}
	_, _, err = e.svc.GetPolicy(e.ctx, "ver", "")
	wantKind(t, "unqualified policy", err, function.ErrNotFound, "The resource you requested does not exist.")
	res, err := e.svc.Allows(e.ctx, fnARN+":live", "s3.amazonaws.com", "arn:aws:s3:::photos", "000000000000")
	if err != nil || !res.Allowed() {
		t.Fatalf("Allows(alias ARN) = %+v, %v; want Allow", res, err)
	}
	res, err = e.svc.Allows(e.ctx, fnARN, "s3.amazonaws.com", "arn:aws:s3:::photos", "000000000000")
	if err != nil || res.Allowed() {
		t.Fatalf("Allows(unqualified ARN) = %+v, %v; want a denial (the grant is the alias's)", res, err)
	}
	if err := e.svc.RemovePermission(e.ctx, "ver", "live", "s3", ""); err != nil {
		t.Fatal(err)
	}

	// A version an alias points at cannot be deleted.
	err = e.svc.Delete(e.ctx, "ver", "1")
	wantKind(t, "delete of an aliased version", err, function.ErrConflict, "[live]")
	up, err := e.svc.UpdateAlias(e.ctx, "ver", "live", function.AliasInput{FunctionVersion: ptr("$LATEST"), RevisionId: a.RevisionId})
	if err != nil || up.FunctionVersion != "$LATEST" {
		t.Fatalf("UpdateAlias = %+v, %v", up, err)
	}
	_, err = e.svc.UpdateAlias(e.ctx, "ver", "live", function.AliasInput{Description: ptr("x"), RevisionId: a.RevisionId})
	wantKind(t, "UpdateAlias with a stale RevisionId", err, function.ErrPreconditionFailed, "Revision Id")
	if out := e.invokeQ("ver", "live", `{"op":"echo"}`); out.ExecutedVersion != "$LATEST" {
		t.Errorf("alias at $LATEST executed %q", out.ExecutedVersion)
	}

	// Publish through UpdateFunctionCode.
	v2, err := e.svc.UpdateCode(e.ctx, "ver", function.UpdateCodeInput{ZipFile: goZip(t), Publish: true})
	if err != nil || v2.Version != "2" {
		t.Fatalf("UpdateFunctionCode Publish = version %q, %v; want 2", v2.Version, err)
	}
	vs, next, err := e.svc.ListVersions(e.ctx, "ver", "", 0)
	if err != nil || next != "" || len(vs) != 3 || vs[0].Version != "$LATEST" || vs[0].FunctionArn != fnARN+":$LATEST" || vs[1].Version != "1" || vs[2].Version != "2" {
		t.Fatalf("ListVersions = %v, next %q, %v", versionsOf(vs), next, err)
	}
	page, next, err := e.svc.ListVersions(e.ctx, "ver", "", 2)
	if err != nil || len(page) != 2 || next != "1" {
		t.Fatalf("ListVersions page 1 = %v next %q %v", versionsOf(page), next, err)
	}
	page, next, err = e.svc.ListVersions(e.ctx, "ver", next, 2)
	if err != nil || len(page) != 1 || page[0].Version != "2" || next != "" {
		t.Fatalf("ListVersions page 2 = %v next %q %v", versionsOf(page), next, err)
	}
	if _, err := e.svc.CreateAlias(e.ctx, "ver", "blue", function.AliasInput{FunctionVersion: ptr("2"),
		RoutingConfig: &function.RoutingConfig{AdditionalVersionWeights: map[string]float64{"1": 1}}}); err != nil {
		t.Fatal(err)
	}
	// Weight 1.0 sends every invocation to the additional version.
	if out := e.invokeQ("ver", "blue", `{"op":"echo"}`); out.ExecutedVersion != "1" {
		t.Errorf("alias blue with weight 1.0 on version 1 executed %q", out.ExecutedVersion)
	}
	as, _, err := e.svc.ListAliases(e.ctx, "ver", "2", "", 0)
	if err != nil || len(as) != 1 || as[0].Name != "blue" || as[0].RoutingConfig == nil {
		t.Fatalf("ListAliases(FunctionVersion 2) = %+v, %v", as, err)
	}
	if err := e.svc.DeleteAlias(e.ctx, "ver", "blue"); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Delete(e.ctx, "ver", "1"); err != nil {
		t.Fatalf("delete version 1: %v", err)
	}
	_, err = e.svc.Invoke(e.ctx, function.InvokeInput{Name: "ver", Qualifier: "1"})
	wantKind(t, "invoke of a deleted version", err, function.ErrNotFound, fnARN+":1")
	err = e.svc.Delete(e.ctx, "ver", "$LATEST")
	wantKind(t, "delete of $LATEST by qualifier", err, function.ErrInvalidParameter, "$LATEST version cannot be deleted")

	// Deleting the function removes its versions and aliases.
	if err := e.svc.Delete(e.ctx, "ver", ""); err != nil {
		t.Fatal(err)
	}
	e.create("ver", "provided.al2023", "bootstrap", goZip(t), nil)
	vs, _, _ = e.svc.ListVersions(e.ctx, "ver", "", 0)
	as, _, _ = e.svc.ListAliases(e.ctx, "ver", "", "", 0)
	if len(vs) != 1 || len(as) != 0 {
		t.Fatalf("after delete and re-create: versions %v aliases %+v; want only $LATEST", versionsOf(vs), as)
	}
}

func versionsOf(cs []function.Configuration) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Version)
	}
	return out
}
