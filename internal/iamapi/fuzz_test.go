package iamapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/cockroachdb/pebble/v2/vfs"

	"sluice/internal/auth"
	"sluice/internal/clock"
	"sluice/internal/role"
	"sluice/internal/storage/pebblestore"
)

// FuzzQueryForm sends arbitrary query-protocol forms, signed with the root
// credentials for IAM or STS, in the body or in the URL, and checks what
// every answer must be whatever the form: no panic, no 5xx; an error is
// the service's own XML ErrorResponse (its namespace, Type Sender, a Code
// and a RequestId) with a 4xx status; a success is <Action>Response in the
// service's namespace with a RequestId.
func FuzzQueryForm(f *testing.F) {
	for _, seed := range []struct {
		sts     bool
		inQuery bool
		form    string
	}{
		{false, false, "Action=CreateRole&Version=2010-05-08&RoleName=r&AssumeRolePolicyDocument=" + url.QueryEscape(trust)},
		{false, false, "Action=GetRole&Version=2010-05-08&RoleName=r"},
		{false, true, "Action=ListRoles&Version=2010-05-08&MaxItems=2&PathPrefix=%2F"},
		{false, false, "Action=PutRolePolicy&Version=2010-05-08&RoleName=r&PolicyName=p&PolicyDocument=%7B%7D"},
		{false, false, "Action=AttachRolePolicy&Version=2010-05-08&RoleName=r&PolicyArn=arn%3Aaws%3Aiam%3A%3Aaws%3Apolicy%2FReadOnlyAccess"},
		{false, false, "Action=ListRolePolicies&Version=2010-05-08&RoleName=r&Marker=9"},
		{false, false, "Action=CreateRole&Version=2010-05-08&RoleName=a%2Fb&Path=nope"},
		{false, false, "Action=TagRole&Version=2010-05-08&RoleName=r&Tags.member.1.Key=k&Tags.member.1.Value=v"},
		{true, false, "Action=GetCallerIdentity&Version=2011-06-15"},
		{true, true, "Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A000000000000%3Arole%2Fr&RoleSessionName=s&DurationSeconds=900"},
		{false, false, "Version=2010-05-08"},
		{false, false, "Action=%zz&&=&Version"},
		{true, false, "Action=GetCallerIdentity&Action=DeleteRole"},
	} {
		f.Add(seed.sts, seed.inQuery, seed.form)
	}
	st, err := pebblestore.Open(pebblestore.Options{Dir: "db", FS: vfs.NewMem(), Clock: clock.Real{}})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { st.Close() })
	sessions := role.NewSessions(nil)
	h := New(Config{Roles: role.New(role.Config{Store: st, AccountID: account}), Sessions: sessions, RootAccessKey: rootKey,
		Verifier: &auth.Verifier{Keys: keyring{sessions}, Clock: clock.Real{}}})
	signer := v4.NewSigner()
	creds := aws.Credentials{AccessKeyID: rootKey, SecretAccessKey: rootSecret}

	f.Fuzz(func(t *testing.T, isSTS, inQuery bool, form string) {
		if len(form) > 64<<10 {
			return
		}
		service, ns := "iam", "https://iam.amazonaws.com/doc/2010-05-08/"
		if isSTS {
			service, ns = "sts", "https://sts.amazonaws.com/doc/2011-06-15/"
		}
		target, body := "http://127.0.0.1/", form
		if inQuery {
			// A form that is not a valid query string cannot be a URL's
			// query; the body form covers those bytes.
			if _, err := url.ParseQuery(form); err != nil || strings.ContainsAny(form, "# \t\r\n") {
				return
			}
			target, body = target+"?"+form, ""
		}
		req, err := http.NewRequest(http.MethodPost, target, strings.NewReader(body))
		if err != nil {
			return
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
		sum := sha256.Sum256([]byte(body))
		if err := signer.SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), service, "us-east-1", time.Now()); err != nil {
			t.Fatal(err)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		status, out := rec.Code, rec.Body.Bytes()

		if status >= 500 {
			t.Fatalf("%s form %q: status %d: %s", service, form, status, out)
		}
		if status >= 300 {
			if status < 400 {
				t.Fatalf("%s form %q: status %d", service, form, status)
			}
			var e struct {
				XMLName xml.Name `xml:"ErrorResponse"`
				Error   struct{ Type, Code, Message string }
				ReqID   string `xml:"RequestId"`
			}
			if err := xml.Unmarshal(out, &e); err != nil {
				t.Fatalf("%s form %q: error body is not an ErrorResponse: %v: %s", service, form, err, out)
			}
			if e.XMLName.Space != ns || e.Error.Type != "Sender" || e.Error.Code == "" || e.ReqID == "" {
				t.Fatalf("%s form %q: error %+v, want namespace %s, Type Sender, a Code and a RequestId: %s", service, form, e, ns, out)
			}
			return
		}
		// Success: the action answered in its own envelope. The action is
		// what the handler read (the first Action of the form).
		fv, _ := url.ParseQuery(form)
		action := fv.Get("Action")
		var root struct {
			XMLName xml.Name
			ReqID   string `xml:"ResponseMetadata>RequestId"`
		}
		if err := xml.Unmarshal(out, &root); err != nil {
			t.Fatalf("%s form %q: 200 body is not XML: %v: %s", service, form, err, out)
		}
		if root.XMLName.Local != action+"Response" || root.XMLName.Space != ns || root.ReqID == "" {
			t.Fatalf("%s form %q: 200 with <%s xmlns=%q>, want <%sResponse xmlns=%q> with a RequestId", service, form,
				root.XMLName.Local, root.XMLName.Space, action, ns)
		}
		if !bytes.Contains(out, []byte("<RequestId>")) {
			t.Fatalf("%s form %q: no RequestId", service, form)
		}
	})
}
