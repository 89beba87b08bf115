package auth

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Signature Version 2, as S3 documents it in "Signing and authenticating
// REST requests (AWS signature version 2)" and as botocore's HmacV1Auth and
// HmacV1QueryAuth sign it. boto3 and aws-cli v1 presign S3 URLs with it by
// default in us-east-1 (aws-wire.md 5.3), so it cannot be left out.

const (
	msgV2HeaderInvalid = "AWS authorization header is invalid.  Expected AwsAccessKeyId:signature"
	msgV2QueryParams   = "Query-string authentication requires the Signature, Expires and AWSAccessKeyId parameters"
	msgV2ExpiresNumber = "Invalid date (should be seconds since epoch): "
	v2ServerTimeLayout = "2006-01-02T15:04:05Z"
)

// v2Subresources are the query parameters that belong to the
// CanonicalizedResource: botocore's HmacV1Auth.QSAOfInterest, which
// covers the list in S3's SigV2 documentation (sub-resources and the
// response-* overrides). A parameter outside it is not signed.
var v2Subresources = map[string]bool{
	"accelerate": true, "acl": true, "analytics": true, "cors": true, "defaultObjectAcl": true,
	"delete": true, "inventory": true, "lifecycle": true, "location": true, "logging": true,
	"metrics": true, "notification": true, "object-lock": true, "partNumber": true,
	"policy": true, "replication": true, "requestPayment": true, "restore": true,
	"response-cache-control": true, "response-content-disposition": true,
	"response-content-encoding": true, "response-content-language": true,
	"response-content-type": true, "response-expires": true, "select": true,
	"select-type": true, "storageClass": true, "tagging": true, "torrent": true,
	"uploadId": true, "uploads": true, "versionId": true, "versioning": true,
	"versions": true, "website": true,
}

// v2DateLayouts are the Date forms clients send: RFC 1123 with "GMT"
// (botocore, net/http) or with a numeric zone (S3's documentation
// examples), and the two obsolete HTTP forms.
var v2DateLayouts = []string{http.TimeFormat, time.RFC1123Z, time.RFC1123, time.RFC850, time.ANSIC}

func parseV2Date(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	for _, l := range v2DateLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// verifyV2Header checks "Authorization: AWS AKID:base64(HMAC-SHA1)".
// hostBucket is the bucket a virtual-hosted request names in its Host
// ("" for path style): SigV2's CanonicalizedResource always starts with
// the bucket.
func (v *Verifier) verifyV2Header(r *http.Request, rest string, hostBucket string) (*Result, error) {
	akid, sig, ok := strings.Cut(rest, ":")
	if !ok || akid == "" || sig == "" || len(rest) > maxAuthorizationLen {
		return nil, newErr(KindMalformedHeader, "InvalidArgument", http.StatusBadRequest, msgV2HeaderInvalid,
			Field{"ArgumentName", "Authorization"}, Field{"ArgumentValue", r.Header.Get("Authorization")})
	}
	now := v.Clock.Now().UTC()
	// x-amz-date wins over Date: it is signed among the x-amz-* headers
	// and the Date line stays empty (S3 SigV2 docs, "Time stamp
	// requirement").
	dateLine := ""
	sent := r.Header.Get("X-Amz-Date")
	if sent == "" {
		sent = r.Header.Get("Date")
		dateLine = strings.TrimSpace(sent)
	}
	t, ok := parseV2Date(sent)
	if sent == "" || !ok {
		return nil, newErr(KindMissingDate, "AccessDenied", http.StatusForbidden, msgNoDate)
	}
	if skewed(t, now, v.maxSkew()) {
		return nil, newErr(KindSkewed, "RequestTimeTooSkewed", http.StatusForbidden, msgSkewed,
			Field{"RequestTime", sent},
			Field{"ServerTime", now.Format(serverTimeLayout)},
			Field{"MaxAllowedSkewMilliseconds", strconv.FormatInt(v.maxSkew().Milliseconds(), 10)})
	}
	sts := v2StringToSign(r, dateLine, nil, hostBucket)
	res := &Result{SigV2: true, Time: t}
	return v.finishV2(r, res, akid, sig, sts, r.Header.Get("X-Amz-Security-Token"))
}

// verifyV2Query checks a presigned URL: AWSAccessKeyId, Signature and
// Expires (epoch seconds) in the query.
func (v *Verifier) verifyV2Query(r *http.Request, params []queryParam, hostBucket string) (*Result, error) {
	now := v.Clock.Now().UTC()
	akid, ok1 := getParam(params, "AWSAccessKeyId")
	expStr, ok2 := getParam(params, "Expires")
	// The signature is base64: '+' is a plus even when a client forgot to
	// escape it, so only %XX is decoded.
	rawSig, ok3 := getRawParam(r.URL.RawQuery, "Signature")
	sig, err := pathUnescape(rawSig)
	if !ok1 || !ok2 || !ok3 || akid == "" || sig == "" || err != nil {
		return nil, newErr(KindMalformedQuery, "AccessDenied", http.StatusForbidden, msgV2QueryParams)
	}
	exp, err := strconv.ParseInt(expStr, 10, 64)
	if err != nil {
		return nil, newErr(KindMalformedQuery, "AccessDenied", http.StatusForbidden, msgV2ExpiresNumber+expStr)
	}
	expires := time.Unix(exp, 0).UTC()
	if now.After(expires) {
		return nil, newErr(KindExpired, "AccessDenied", http.StatusForbidden, msgExpired,
			Field{"Expires", expires.Format(v2ServerTimeLayout)},
			Field{"ServerTime", now.Format(v2ServerTimeLayout)})
	}
	// botocore moves the x-amz-* headers of the request it presigns
	// (x-amz-security-token, x-amz-acl, ...) into the query, lower-cased,
	// and signs them as CanonicalizedAmzHeaders.
	var amz [][2]string
	token := r.Header.Get("X-Amz-Security-Token")
	for _, p := range params {
		if lk := strings.ToLower(p.key); strings.HasPrefix(lk, "x-amz-") {
			amz = append(amz, [2]string{lk, p.value})
			if lk == "x-amz-security-token" && token == "" {
				token = p.value
			}
		}
	}
	sts := v2StringToSign(r, expStr, amz, hostBucket)
	res := &Result{SigV2: true, Presigned: true, Time: now}
	return v.finishV2(r, res, akid, sig, sts, token)
}

// finishV2 looks the key up and compares signatures.
func (v *Verifier) finishV2(r *http.Request, res *Result, akid, sig, sts, token string) (*Result, error) {
	creds, ok := v.Keys.Lookup(akid)
	if !ok {
		return nil, newErr(KindUnknownKey, "InvalidAccessKeyId", http.StatusForbidden, msgUnknownKey,
			Field{"AWSAccessKeyId", akid})
	}
	if creds.SessionToken != "" && subtle.ConstantTimeCompare([]byte(creds.SessionToken), []byte(token)) != 1 {
		return nil, newErr(KindBadToken, "InvalidToken", http.StatusBadRequest, msgBadToken,
			Field{"Token-0", token})
	}
	want := SignV2(creds.SecretAccessKey, sts)
	if subtle.ConstantTimeCompare([]byte(want), []byte(sig)) != 1 {
		return nil, newErr(KindSignatureMismatch, "SignatureDoesNotMatch", http.StatusForbidden, msgMismatch,
			Field{"AWSAccessKeyId", akid},
			Field{"StringToSign", sts},
			Field{"SignatureProvided", sig},
			Field{"StringToSignBytes", hexBytes(sts)})
	}
	res.Credentials = creds
	res.Service = "s3"
	res.Signature = sig
	// SigV2 signs no payload hash. An x-amz-content-sha256 the client
	// sent is covered by the signature (it is an x-amz-* header), so a
	// hex digest in it is still checked against the body.
	res.PayloadHash = UnsignedPayload
	if p := r.Header.Get("X-Amz-Content-Sha256"); p == StreamingUnsignedTrailer || isSHA256Hex(p) {
		res.PayloadHash = p
	}
	return res, nil
}

// SignV2 returns base64(HMAC-SHA1(secret, stringToSign)).
func SignV2(secret, stringToSign string) string {
	h := hmac.New(sha1.New, []byte(secret))
	h.Write([]byte(stringToSign))
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// v2StringToSign builds
//
//	VERB\nContent-MD5\nContent-Type\n<Date or Expires>\n<CanonicalizedAmzHeaders><CanonicalizedResource>
//
// extraAmz are x-amz-* values carried in a presigned URL's query.
func v2StringToSign(r *http.Request, date string, extraAmz [][2]string, hostBucket string) string {
	var b strings.Builder
	b.WriteString(r.Method)
	b.WriteByte('\n')
	b.WriteString(v2Positional(r, "Content-Md5"))
	b.WriteByte('\n')
	b.WriteString(v2Positional(r, "Content-Type"))
	b.WriteByte('\n')
	b.WriteString(date)
	b.WriteByte('\n')
	b.WriteString(v2AmzHeaders(r.Header, extraAmz))
	b.WriteString(v2Resource(r, hostBucket))
	return b.String()
}

// v2Positional is a positional header's value; a presigned URL may carry
// it in the query instead (botocore moves content-type and content-md5
// there).
func v2Positional(r *http.Request, name string) string {
	if v := r.Header.Get(name); v != "" {
		return strings.TrimSpace(v)
	}
	if r.URL != nil && r.URL.RawQuery != "" {
		if v, ok := getParam(parseQuery(r.URL.RawQuery), strings.ToLower(name)); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// v2AmzHeaders is CanonicalizedAmzHeaders: every x-amz-* header,
// lower-cased, sorted by name, repeated headers joined by ',', values
// trimmed and unfolded, each line ending in '\n'.
func v2AmzHeaders(h http.Header, extra [][2]string) string {
	vals := map[string][]string{}
	for name, vs := range h {
		lk := strings.ToLower(name)
		if !strings.HasPrefix(lk, "x-amz-") {
			continue
		}
		for _, v := range vs {
			vals[lk] = append(vals[lk], unfold(v))
		}
	}
	for _, kv := range extra {
		vals[kv[0]] = append(vals[kv[0]], unfold(kv[1]))
	}
	if len(vals) == 0 {
		return ""
	}
	names := make([]string, 0, len(vals))
	for n := range vals {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		b.WriteString(n)
		b.WriteByte(':')
		b.WriteString(strings.Join(vals[n], ","))
		b.WriteByte('\n')
	}
	return b.String()
}

// unfold trims a header value and replaces folding (CRLF plus
// whitespace) with one space, as the SigV2 documentation asks.
func unfold(v string) string {
	v = strings.TrimSpace(v)
	if !strings.ContainsAny(v, "\r\n") {
		return v
	}
	f := strings.Fields(strings.NewReplacer("\r", " ", "\n", " ").Replace(v))
	return strings.Join(f, " ")
}

// v2Resource is CanonicalizedResource: "/bucket" (even for a
// virtual-hosted request), the path as sent, then the sub-resources of
// the query sorted by name, values %-decoded (botocore's unquote_v).
func v2Resource(r *http.Request, hostBucket string) string {
	var b strings.Builder
	if hostBucket != "" {
		b.WriteByte('/')
		b.WriteString(hostBucket)
	}
	b.WriteString(wirePath(r))
	if r.URL == nil || r.URL.RawQuery == "" {
		return b.String()
	}
	type kv struct {
		k, v  string
		hasEq bool
	}
	var subs []kv
	for _, pair := range strings.Split(r.URL.RawQuery, "&") {
		k, val, hasEq := strings.Cut(pair, "=")
		if !v2Subresources[k] {
			continue
		}
		if u, err := pathUnescape(val); err == nil {
			val = u
		}
		subs = append(subs, kv{k, val, hasEq})
	}
	if len(subs) == 0 {
		return b.String()
	}
	sort.SliceStable(subs, func(i, j int) bool { return subs[i].k < subs[j].k })
	for i, s := range subs {
		if i == 0 {
			b.WriteByte('?')
		} else {
			b.WriteByte('&')
		}
		b.WriteString(s.k)
		if s.hasEq {
			b.WriteByte('=')
			b.WriteString(s.v)
		}
	}
	return b.String()
}

// getRawParam returns a query parameter's value as sent (not decoded).
func getRawParam(rawQuery, key string) (string, bool) {
	for _, pair := range strings.Split(rawQuery, "&") {
		k, v, _ := strings.Cut(pair, "=")
		if k == key {
			return v, true
		}
	}
	return "", false
}
