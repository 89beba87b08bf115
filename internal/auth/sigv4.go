package auth

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"io"
	"net/http"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"sluice/internal/clock"
)

// Algorithm is the only SigV4 algorithm Sluice verifies (SigV4a's
// AWS4-ECDSA-P256-SHA256 is not supported).
const Algorithm = "AWS4-HMAC-SHA256"

// Payload hash values a client may sign instead of a hex digest (S3 only).
const (
	UnsignedPayload            = "UNSIGNED-PAYLOAD"
	StreamingPayload           = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
	StreamingPayloadTrailer    = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
	StreamingUnsignedTrailer   = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
	streamingECDSAPayload      = "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD"
	streamingECDSAPayloadTrail = "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER"
	emptySHA256                = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	iso8601Basic               = "20060102T150405Z"
	serverTimeLayout           = "2006-01-02T15:04:05Z"
	maxPresignExpires          = 604800 // one week, AWS's limit
	defaultMaxSkew             = 15 * time.Minute
	defaultQueryBodyLimit      = 8 << 20  // SQS/SNS/IAM/STS bodies are far smaller; bounds memory
	defaultLambdaBodyLimit     = 70 << 20 // CreateFunction carries a base64 zip of up to 50 MB
	maxAuthorizationLen        = 16 << 10
	maxQueryLen                = 64 << 10
	maxSignedHeaders           = 256
)

// Credentials are one access key and what it stands for.
type Credentials struct {
	AccessKeyID     string
	SecretAccessKey string
	// SessionToken, when set, must be sent by the client as
	// X-Amz-Security-Token (temporary credentials, e.g. a function's).
	SessionToken string
	// Principal is the identity the key acts as (for userIdentity and
	// policy evaluation), e.g. the root user's id.
	Principal string
}

// Keyring finds the credentials of an access key.
type Keyring interface {
	Lookup(accessKeyID string) (Credentials, bool)
}

// StaticKeyring is a fixed set of credentials keyed by access key id. It
// is not modified after construction, so it is safe for concurrent use.
type StaticKeyring map[string]Credentials

// NewStaticKeyring returns a keyring holding creds.
func NewStaticKeyring(creds ...Credentials) StaticKeyring {
	k := make(StaticKeyring, len(creds))
	for _, c := range creds {
		k[c.AccessKeyID] = c
	}
	return k
}

// Lookup implements Keyring.
func (k StaticKeyring) Lookup(id string) (Credentials, bool) {
	c, ok := k[id]
	return c, ok
}

// Verifier checks SigV4 signatures. Its fields are read-only after
// construction; one Verifier serves concurrent requests.
type Verifier struct {
	Keys  Keyring
	Clock clock.Clock
	// MaxSkew is the allowed difference between the request's date and
	// the clock (default 15 minutes, as AWS).
	MaxSkew time.Duration
	// BodyLimit gives, per service, how many body bytes may be read to
	// hash the payload of a non-S3 request. Nil means 70 MiB for lambda
	// and 8 MiB for every other service.
	BodyLimit func(service string) int64

	// signingKeys caches derived signing keys: a client signs every
	// request of a day with the same key, and deriving it is four HMACs.
	signingKeys keyCache
}

// keyCache maps a secret and a scope to its derived signing key. The zero
// value is ready; it is cleared when full, so it stays small whatever
// scopes clients send.
type keyCache struct {
	mu sync.Mutex
	m  map[keyScope][]byte
}

type keyScope struct{ secret, date, region, service string }

// maxCachedKeys bounds the cache: one entry per credential, day, region
// and service in use.
const maxCachedKeys = 256

// get returns the signing key of the scope, deriving it on a miss. The
// returned slice is shared: callers must not modify it.
func (c *keyCache) get(secret, date, region, service string) []byte {
	ks := keyScope{secret, date, region, service}
	c.mu.Lock()
	k, ok := c.m[ks]
	c.mu.Unlock()
	if ok {
		return k
	}
	k = DerivedKey(secret, date, region, service)
	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxCachedKeys {
		c.m = make(map[keyScope][]byte)
	}
	c.m[ks] = k
	c.mu.Unlock()
	return k
}

// Result is a verified request's identity and signing context.
type Result struct {
	Credentials
	Service string
	Region  string
	// Date is the scope date (YYYYMMDD); AmzDate the full request time as
	// signed (YYYYMMDDTHHMMSSZ); Time the same parsed.
	Date    string
	AmzDate string
	Time    time.Time
	// Scope is "date/region/service/aws4_request".
	Scope         string
	SignedHeaders []string
	Presigned     bool
	// SigV2 marks a Signature Version 2 request (sigv2.go): it has no
	// Region, Scope or SigningKey, so it cannot carry signed chunks.
	SigV2 bool
	// PayloadHash is the x-amz-content-sha256 value as signed (a hex
	// digest or one of the UNSIGNED/STREAMING values); UNSIGNED-PAYLOAD for
	// an S3 presigned URL without one; the body's digest for non-S3
	// services.
	PayloadHash string
	// Signature is the verified request signature: the seed of an
	// aws-chunked body's chunk signatures.
	Signature string
	// SigningKey is the derived key for Scope. It may be shared with
	// other Results: do not modify it.
	SigningKey []byte
}

// ChunkSignature returns the signature of one aws-chunked chunk whose
// data hashes to chunkSHA256 (hex), given the previous chunk's signature
// (the request Signature for the first chunk), as in AWS "Signature
// Calculations for the Authorization Header: Transferring Payload in
// Multiple Chunks".
func (res *Result) ChunkSignature(prevSignature, chunkSHA256 string) string {
	sts := "AWS4-HMAC-SHA256-PAYLOAD\n" + res.AmzDate + "\n" + res.Scope + "\n" +
		prevSignature + "\n" + emptySHA256 + "\n" + chunkSHA256
	return hex.EncodeToString(hmacSHA256(res.SigningKey, []byte(sts)))
}

// DerivedKey returns the SigV4 signing key for a secret and scope.
func DerivedKey(secret, date, region, service string) []byte {
	k := hmacSHA256([]byte("AWS4"+secret), []byte(date))
	k = hmacSHA256(k, []byte(region))
	k = hmacSHA256(k, []byte(service))
	return hmacSHA256(k, []byte("aws4_request"))
}

func hmacSHA256(key, data []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write(data)
	return h.Sum(nil)
}

// hmacSHA256Fixed is hmacSHA256 (RFC 2104) without the heap for SigV4's
// short messages: crypto/hmac allocates two digests and its state per
// call, and every request verifies one signature.
func hmacSHA256Fixed(key, data []byte) [sha256.Size]byte {
	const block = 64
	var hashedKey [sha256.Size]byte
	if len(key) > block {
		hashedKey = sha256.Sum256(key)
		key = hashedKey[:]
	}
	var buf [block + 256]byte
	in := buf[:block]
	copy(in, key)
	for i := range in {
		in[i] ^= 0x36
	}
	// append copies data; past the stack buffer it moves to the heap.
	inner := sha256.Sum256(append(in, data...))
	var outer [block + sha256.Size]byte
	copy(outer[:], key)
	for i := range block {
		outer[i] ^= 0x5c
	}
	copy(outer[block:], inner[:])
	return sha256.Sum256(outer[:])
}

// authorization is the parsed "Credential=..., SignedHeaders=...,
// Signature=..." part of an Authorization header.
type authorization struct {
	Credential    string
	SignedHeaders string
	Signature     string
}

// parseAuthorization reads the part of a SigV4 Authorization header after
// the algorithm. Components are separated by commas with optional spaces,
// in any order, each exactly once.
func parseAuthorization(rest string) (authorization, bool) {
	var a authorization
	if len(rest) > maxAuthorizationLen {
		return a, false
	}
	var seen [3]bool
	// strings.Cut instead of strings.Split: no slice per request.
	for more := true; more; {
		var part string
		part, rest, more = strings.Cut(rest, ",")
		part = strings.TrimSpace(part)
		name, val, ok := strings.Cut(part, "=")
		if !ok {
			return a, false
		}
		var i int
		switch name {
		case "Credential":
			i, a.Credential = 0, val
		case "SignedHeaders":
			i, a.SignedHeaders = 1, val
		case "Signature":
			i, a.Signature = 2, val
		default:
			return a, false
		}
		if seen[i] {
			return a, false
		}
		seen[i] = true
	}
	if !seen[0] || !seen[1] || !seen[2] || a.Credential == "" || a.SignedHeaders == "" || a.Signature == "" {
		return a, false
	}
	return a, true
}

// scope is a parsed credential "AKID/date/region/service/aws4_request".
type scope struct {
	AccessKeyID, Date, Region, Service string
}

// parseCredential checks a credential's shape and returns the fault text
// AWS gives (after its "The authorization header is malformed; " or
// "Error parsing the X-Amz-Credential parameter; " prefix). Sluice
// accepts any non-empty region (DESIGN.md, Region), so AWS's "the region
// ... is wrong" never applies.
func parseCredential(cred string) (scope, string, []Field) {
	// The five parts in an array rather than a strings.Split slice: no
	// allocation on every request. n counts all parts, kept or not.
	var parts [5]string
	n := 0
	for more := true; more; n++ {
		var part string
		part, cred, more = strings.Cut(cred, "/")
		if n < len(parts) {
			parts[n] = part
		}
	}
	if n != 5 || parts[0] == "" || parts[1] == "" || parts[3] == "" {
		return scope{}, msgCredentialFormat, nil
	}
	if parts[2] == "" {
		return scope{}, msgEmptyRegion, nil
	}
	if parts[4] != "aws4_request" {
		return scope{}, `incorrect terminal "` + parts[4] + `". This endpoint uses "aws4_request".`, nil
	}
	return scope{AccessKeyID: parts[0], Date: parts[1], Region: parts[2], Service: parts[3]}, "", nil
}

// queryParam is one query parameter: the raw form and the decoded form.
type queryParam struct {
	key, value string
}

// parseQuery splits a raw query into decoded parameters, in order. A
// parameter that does not decode is kept as sent, since the client signed
// whatever it meant by it; empty pairs ("a&&b") are skipped as the SDKs
// do.
func parseQuery(raw string) []queryParam {
	if raw == "" {
		return nil
	}
	params := make([]queryParam, 0, strings.Count(raw, "&")+1)
	for _, pair := range strings.Split(raw, "&") {
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		params = append(params, queryParam{key: unescapeQuery(k), value: unescapeQuery(v)})
	}
	return params
}

func unescapeQuery(s string) string {
	if !strings.ContainsAny(s, "%+") {
		return s
	}
	if u, err := queryUnescape(s); err == nil {
		return u
	}
	return s
}

// queryUnescape decodes %XX and '+' (as a space), as url.QueryUnescape.
func queryUnescape(s string) (string, error) {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '+':
			b.WriteByte(' ')
		case '%':
			if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
				return "", errBadEscape
			}
			b.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
			i += 2
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

type escapeError struct{}

func (escapeError) Error() string { return "invalid percent escape" }

var errBadEscape error = escapeError{}

func isHex(c byte) bool {
	return ('0' <= c && c <= '9') || ('a' <= c && c <= 'f') || ('A' <= c && c <= 'F')
}

func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

func getParam(params []queryParam, key string) (string, bool) {
	for _, p := range params {
		if p.key == key {
			return p.value, true
		}
	}
	return "", false
}

// canonicalQuery is the SigV4 canonical query string: every parameter
// (except X-Amz-Signature when presigned), key and value URI-encoded with
// the RFC 3986 unreserved set, sorted by encoded key then value, an empty
// value keeping its '='.
func canonicalQuery(params []queryParam, presigned bool) string {
	type kv struct{ k, v string }
	enc := make([]kv, 0, len(params))
	for _, p := range params {
		if presigned && p.key == "X-Amz-Signature" {
			continue
		}
		enc = append(enc, kv{uriEncode(p.key, true), uriEncode(p.value, true)})
	}
	if len(enc) > 1 { // sort.Slice allocates even for nothing to sort
		sort.Slice(enc, func(i, j int) bool {
			if enc[i].k != enc[j].k {
				return enc[i].k < enc[j].k
			}
			return enc[i].v < enc[j].v
		})
	}
	var b strings.Builder
	for i, p := range enc {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(p.k)
		b.WriteByte('=')
		b.WriteString(p.v)
	}
	return b.String()
}

// uriEncode percent-encodes every byte outside A-Za-z0-9-._~ (upper-case
// hex); '/' too when encodeSlash.
func uriEncode(s string, encodeSlash bool) string {
	const hexDigits = "0123456789ABCDEF"
	clean := true // most paths need no escape: return s itself, not a copy
	for i := 0; i < len(s) && clean; i++ {
		clean = isUnreserved(s[i]) || (s[i] == '/' && !encodeSlash)
	}
	if clean {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isUnreserved(c) || (c == '/' && !encodeSlash) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
	return b.String()
}

func isUnreserved(c byte) bool {
	return ('A' <= c && c <= 'Z') || ('a' <= c && c <= 'z') || ('0' <= c && c <= '9') ||
		c == '-' || c == '.' || c == '_' || c == '~'
}

// wirePath returns the request path as the client sent it (still
// encoded). On the server that is the RequestURI, which net/url would
// otherwise re-encode its own way; requests built by a client (tests)
// have only URL.
func wirePath(r *http.Request) string {
	p := r.RequestURI
	if p == "" || p == "*" {
		p = r.URL.EscapedPath()
	} else {
		if i := strings.IndexByte(p, '?'); i >= 0 {
			p = p[:i]
		}
		if !strings.HasPrefix(p, "/") {
			// absolute-form request target: scheme://host/path
			if i := strings.Index(p, "://"); i >= 0 {
				rest := p[i+3:]
				if j := strings.IndexByte(rest, '/'); j >= 0 {
					p = rest[j:]
				} else {
					p = "/"
				}
			}
		}
	}
	if p == "" {
		p = "/"
	}
	return p
}

// canonicalURIs returns the canonical URIs to try, the preferred first.
// S3: the path decoded and encoded once, never normalised; then the path
// exactly as sent, for clients that encode fewer characters than the SDKs
// (S3 itself has always accepted both). Other services: the sent path
// encoded again (go-v2), then normalised and encoded again (botocore
// normalises '.', '..' and '//').
//
// The URIs are appended to dst[:0] (a caller's array: no allocation for
// the slice on every request).
func canonicalURIs(dst *[2]string, r *http.Request, s3 bool) []string {
	uris := dst[:0]
	raw := wirePath(r)
	if s3 {
		decoded, err := pathUnescape(raw)
		if err != nil {
			return append(uris, raw)
		}
		once := uriEncode(decoded, false)
		if once == raw {
			return append(uris, once)
		}
		return append(uris, once, raw)
	}
	twice := uriEncode(raw, false)
	norm := path.Clean(raw)
	if strings.HasSuffix(raw, "/") && norm != "/" {
		norm += "/"
	}
	if normTwice := uriEncode(norm, false); normTwice != twice {
		return append(uris, twice, normTwice)
	}
	return append(uris, twice)
}

// pathUnescape decodes %XX only ('+' is a plus in a path).
func pathUnescape(s string) (string, error) {
	if !strings.Contains(s, "%") {
		return s, nil
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '%' {
			b.WriteByte(c)
			continue
		}
		if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
			return "", errBadEscape
		}
		b.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
		i += 2
	}
	return b.String(), nil
}

// headerValue returns the canonical value of one signed header: values
// trimmed, inner runs of spaces collapsed, several joined by ','. Host,
// Content-Length and Transfer-Encoding are taken from where net/http moves
// them.
func headerValue(r *http.Request, name string) string {
	switch name {
	case "host":
		h := r.Host
		if h == "" && r.URL != nil {
			h = r.URL.Host
		}
		return stripSpaces(h)
	case "content-length":
		if vs := r.Header.Values("Content-Length"); len(vs) > 0 {
			return joinValues(vs)
		}
		if r.ContentLength >= 0 && (r.ContentLength > 0 || r.Body != nil && r.Body != http.NoBody) {
			return strconv.FormatInt(r.ContentLength, 10)
		}
		return ""
	case "transfer-encoding":
		if vs := r.Header.Values("Transfer-Encoding"); len(vs) > 0 {
			return joinValues(vs)
		}
		return strings.Join(r.TransferEncoding, ",")
	}
	return joinValues(headerValues(r.Header, name))
}

// headerGet is h.Get(name) for a name already in canonical form (the
// literals of this file): Header.Get scans the name to canonicalise it on
// every call, and every request looks up five.
func headerGet(h http.Header, name string) string {
	if v := h[name]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// headerValues is h.Values(name) for a lower-case signed header name.
// http.Header.Values canonicalises name into a new string on every call;
// for the names clients sign (letters, digits and '-') the canonical form
// is built on the stack here instead, with the same result
// (TestHeaderValuesCanonical). Anything else goes through net/http.
func headerValues(h http.Header, name string) []string {
	var buf [64]byte
	if len(name) == 0 || len(name) > len(buf) {
		return h.Values(name)
	}
	upper := true
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case 'a' <= c && c <= 'z':
			if upper {
				c -= 'a' - 'A'
			}
		case '0' <= c && c <= '9', c == '-':
		default:
			return h.Values(name)
		}
		buf[i] = c
		upper = c == '-'
	}
	return h[string(buf[:len(name)])] // no allocation for a map lookup
}

func joinValues(vs []string) string {
	if len(vs) == 1 {
		return stripSpaces(vs[0])
	}
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = stripSpaces(v)
	}
	return strings.Join(out, ",")
}

// stripSpaces trims spaces and collapses inner runs of spaces to one, as
// the SDK signers do (only ' ', not tabs: that is what go-v2 and botocore
// sign).
func stripSpaces(s string) string {
	s = strings.Trim(s, " ")
	if !strings.Contains(s, "  ") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for i := 0; i < len(s); i++ {
		if s[i] == ' ' {
			if space {
				continue
			}
			space = true
		} else {
			space = false
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// appendCanonicalHeaders appends the canonical headers block (each name,
// ':', value, '\n') to b, so that it goes straight into the canonical
// request's buffer.
func appendCanonicalHeaders(b []byte, r *http.Request, names []string) []byte {
	for _, n := range names {
		b = append(b, n...)
		b = append(b, ':')
		b = append(b, headerValue(r, n)...)
		b = append(b, '\n')
	}
	return b
}

func parseSignedHeaders(s string) ([]string, bool) {
	if s == "" || strings.Count(s, ";") >= maxSignedHeaders {
		return nil, false
	}
	names := strings.Split(s, ";")
	for i, n := range names {
		if n == "" {
			return nil, false
		}
		names[i] = strings.ToLower(n)
	}
	return names, true
}

// hasNameFold is hasName(names, strings.ToLower(n)) without building the
// lower-case string when n is ASCII (header names from net/http always are).
func hasNameFold(names []string, n string) bool {
	for i := 0; i < len(n); i++ {
		if n[i] >= 0x80 {
			return hasName(names, strings.ToLower(n))
		}
	}
	for _, x := range names {
		if len(x) == len(n) && lowerASCIIEqual(x, n) {
			return true
		}
	}
	return false
}

// lowerASCIIEqual reports whether lower == the ASCII lower case of n
// (same lengths).
func lowerASCIIEqual(lower, n string) bool {
	for i := 0; i < len(n); i++ {
		c := n[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

func hasName(names []string, n string) bool {
	for _, x := range names {
		if x == n {
			return true
		}
	}
	return false
}

// parseAmzDate parses ISO 8601 basic format (20260101T000000Z).
//
// It accepts exactly what time.Parse(iso8601Basic, s) accepts (fixed
// digits, each field in range, the day within its month;
// FuzzParseAmzDate compares them) without time.Parse's general layout
// walk, which every signed request paid.
func parseAmzDate(s string) (time.Time, bool) {
	if len(s) != len(iso8601Basic) || s[8] != 'T' || s[15] != 'Z' {
		return time.Time{}, false
	}
	num := func(s string) int { // -1 unless all digits
		n := 0
		for i := 0; i < len(s); i++ {
			if s[i] < '0' || s[i] > '9' {
				return -1
			}
			n = n*10 + int(s[i]-'0')
		}
		return n
	}
	year, month, day := num(s[0:4]), num(s[4:6]), num(s[6:8])
	hour, minute, sec := num(s[9:11]), num(s[11:13]), num(s[13:15])
	if year < 0 || month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23 ||
		minute < 0 || minute > 59 || sec < 0 || sec > 59 {
		return time.Time{}, false
	}
	// The last day of the month: day 0 of the next one.
	if day > time.Date(year, time.Month(month)+1, 0, 0, 0, 0, 0, time.UTC).Day() {
		return time.Time{}, false
	}
	return time.Date(year, time.Month(month), day, hour, minute, sec, 0, time.UTC), true
}

// validS3PayloadHash says whether v is a value S3 accepts in
// x-amz-content-sha256.
func validS3PayloadHash(v string) bool {
	switch v {
	case UnsignedPayload, StreamingPayload, StreamingPayloadTrailer, StreamingUnsignedTrailer,
		streamingECDSAPayload, streamingECDSAPayloadTrail:
		return true
	}
	return isSHA256Hex(v)
}

func isSHA256Hex(v string) bool {
	if len(v) != 64 {
		return false
	}
	for i := 0; i < len(v); i++ {
		if !isHex(v[i]) {
			return false
		}
	}
	return true
}

func (v *Verifier) maxSkew() time.Duration {
	if v.MaxSkew > 0 {
		return v.MaxSkew
	}
	return defaultMaxSkew
}

func (v *Verifier) bodyLimit(service string) int64 {
	if v.BodyLimit != nil {
		return v.BodyLimit(service)
	}
	if service == "lambda" {
		return defaultLambdaBodyLimit
	}
	return defaultQueryBodyLimit
}

func skewed(t, now time.Time, max time.Duration) bool {
	d := now.Sub(t)
	return d > max || d < -max
}

// Verify checks the request's SigV4 signature, header or presigned form.
// Outcomes:
//   - a valid signature: the Result, nil;
//   - no credentials at all: ErrMissingAuth (403 AccessDenied);
//   - a SigV2 request (header or presigned) is verified as S3 path-style
//     (VerifyS3 names the bucket of a virtual-hosted one);
//   - anything else wrong: an *Error with S3's code, status and message
//     (see Kind for the list), checked in the order AWS checks them.
//
// For services other than s3 the body may be read (bounded by BodyLimit)
// to hash it; r.Body is then replaced by an in-memory reader of the same
// bytes.
func (v *Verifier) Verify(r *http.Request) (*Result, error) {
	return v.VerifyS3(r, "")
}

// VerifyS3 is Verify for a request the S3 edge has addressed: hostBucket
// is the bucket named by the Host of a virtual-hosted style request, ""
// for path style. Only SigV2 needs it, since its CanonicalizedResource
// always starts with the bucket.
func (v *Verifier) VerifyS3(r *http.Request, hostBucket string) (*Result, error) {
	if len(r.URL.RawQuery) > maxQueryLen {
		return nil, errQuery("The query string is too long.")
	}
	params := parseQuery(r.URL.RawQuery)
	_, presigned := getParam(params, "X-Amz-Algorithm")
	_, v2Query := getParam(params, "Signature")
	authz := headerGet(r.Header, "Authorization")
	if authz != "" {
		// Built only for an error: the fields slice would be allocated on
		// every request.
		invalid := func(msg string) error {
			return newErr(KindUnsupportedAuth, "InvalidArgument", http.StatusBadRequest, msg,
				Field{"ArgumentName", "Authorization"}, Field{"ArgumentValue", authz})
		}
		if presigned || v2Query {
			return nil, invalid(msgOneMechanism)
		}
		scheme, rest, ok := strings.Cut(authz, " ")
		if !ok {
			return nil, invalid("Authorization header is invalid -- one and only one ' ' (space) required")
		}
		if strings.EqualFold(scheme, "AWS") {
			return v.verifyV2Header(r, rest, hostBucket)
		}
		if !strings.EqualFold(scheme, Algorithm) {
			return nil, invalid(msgUnsupportedType)
		}
		return v.verifyHeader(r, rest, params)
	}
	if presigned {
		if v2Query {
			return nil, newErr(KindUnsupportedAuth, "InvalidArgument", http.StatusBadRequest, msgOneMechanism,
				Field{"ArgumentName", "Authorization"})
		}
		return v.verifyQuery(r, params)
	}
	if v2Query {
		return v.verifyV2Query(r, params, hostBucket)
	}
	return nil, ErrMissingAuth()
}

func (v *Verifier) verifyHeader(r *http.Request, rest string, params []queryParam) (*Result, error) {
	now := v.Clock.Now().UTC()
	amzDate := headerGet(r.Header, "X-Amz-Date")
	var t time.Time
	if amzDate != "" {
		var ok bool
		if t, ok = parseAmzDate(amzDate); !ok {
			return nil, newErr(KindMissingDate, "AccessDenied", http.StatusForbidden, msgNoDate)
		}
	} else {
		d := headerGet(r.Header, "Date")
		pt, err := http.ParseTime(d)
		if d == "" || err != nil {
			return nil, newErr(KindMissingDate, "AccessDenied", http.StatusForbidden, msgNoDate)
		}
		t, amzDate = pt.UTC(), pt.UTC().Format(iso8601Basic)
	}
	if skewed(t, now, v.maxSkew()) {
		sent := headerGet(r.Header, "X-Amz-Date")
		if sent == "" {
			sent = headerGet(r.Header, "Date")
		}
		return nil, newErr(KindSkewed, "RequestTimeTooSkewed", http.StatusForbidden, msgSkewed,
			Field{"RequestTime", sent},
			Field{"ServerTime", now.Format(serverTimeLayout)},
			Field{"MaxAllowedSkewMilliseconds", strconv.FormatInt(v.maxSkew().Milliseconds(), 10)})
	}
	a, ok := parseAuthorization(rest)
	if !ok {
		return nil, errMalformedHeader(msgThreeComponents)
	}
	sc, fault, fields := parseCredential(a.Credential)
	if fault != "" {
		return nil, errMalformedHeader(fault, fields...)
	}
	if sc.Date != amzDate[:8] {
		return nil, errMalformedHeader(msgHeaderDate)
	}
	signed, ok := parseSignedHeaders(a.SignedHeaders)
	if !ok {
		return nil, errMalformedHeader(msgThreeComponents)
	}
	isS3 := sc.Service == "s3"
	var payload string
	if isS3 {
		payload = headerGet(r.Header, "X-Amz-Content-Sha256")
		if payload == "" {
			return nil, newErr(KindMissingContentSHA, "InvalidRequest", http.StatusBadRequest, msgMissingSHA)
		}
		if !validS3PayloadHash(payload) {
			return nil, newErr(KindBadContentSHA, "InvalidArgument", http.StatusBadRequest, msgBadSHA,
				Field{"ArgumentName", "x-amz-content-sha256"}, Field{"ArgumentValue", payload})
		}
	}
	res := &Result{
		Service: sc.Service, Region: sc.Region, Date: sc.Date, AmzDate: amzDate, Time: t,
		SignedHeaders: signed, Signature: a.Signature,
	}
	return v.finish(r, res, sc, params, a.SignedHeaders, payload, headerGet(r.Header, "X-Amz-Security-Token"))
}

func (v *Verifier) verifyQuery(r *http.Request, params []queryParam) (*Result, error) {
	now := v.Clock.Now().UTC()
	alg, _ := getParam(params, "X-Amz-Algorithm")
	if alg != Algorithm {
		return nil, errQuery(msgQueryAlgorithm)
	}
	var vals [5]string
	for i, name := range [...]string{"X-Amz-Credential", "X-Amz-Signature", "X-Amz-Date", "X-Amz-SignedHeaders", "X-Amz-Expires"} {
		val, ok := getParam(params, name)
		if !ok {
			return nil, errQuery(msgQueryParams)
		}
		vals[i] = val
	}
	cred, sig, amzDate, signedStr, expStr := vals[0], vals[1], vals[2], vals[3], vals[4]
	t, ok := parseAmzDate(amzDate)
	if !ok {
		return nil, errQuery(msgQueryDate)
	}
	exp, err := strconv.ParseInt(expStr, 10, 64)
	if err != nil {
		return nil, errQuery(msgExpiresNumber)
	}
	if exp < 0 {
		return nil, errQuery(msgExpiresNegative)
	}
	if exp > maxPresignExpires {
		return nil, errQuery(msgExpiresWeek)
	}
	expiresAt := t.Add(time.Duration(exp) * time.Second).Format(serverTimeLayout)
	if t.Sub(now) > v.maxSkew() {
		return nil, newErr(KindNotYetValid, "AccessDenied", http.StatusForbidden, msgNotYetValid,
			Field{"X-Amz-Date", amzDate},
			Field{"Expires", expiresAt},
			Field{"ServerTime", now.Format(serverTimeLayout)})
	}
	if now.Sub(t) > time.Duration(exp)*time.Second {
		return nil, newErr(KindExpired, "AccessDenied", http.StatusForbidden, msgExpired,
			Field{"X-Amz-Expires", expStr},
			Field{"Expires", expiresAt},
			Field{"ServerTime", now.Format(serverTimeLayout)})
	}
	sc, fault, fields := parseCredential(cred)
	if fault != "" {
		return nil, errQuery(msgQueryCredential+fault, fields...)
	}
	if sc.Date != amzDate[:8] {
		return nil, errQuery(`Invalid credential date "` + sc.Date + `". This date is not the same as X-Amz-Date: "` + amzDate[:8] + `".`)
	}
	signed, ok := parseSignedHeaders(signedStr)
	if !ok {
		return nil, errQuery(msgQueryParams)
	}
	payload := ""
	if sc.Service == "s3" {
		payload = UnsignedPayload
		if p, ok := getParam(params, "X-Amz-Content-Sha256"); ok {
			payload = p
		}
	}
	token, _ := getParam(params, "X-Amz-Security-Token")
	res := &Result{
		Service: sc.Service, Region: sc.Region, Date: sc.Date, AmzDate: amzDate, Time: t,
		SignedHeaders: signed, Signature: sig, Presigned: true,
	}
	return v.finish(r, res, sc, params, signedStr, payload, token)
}

// finish does the checks common to both forms once the scope is known:
// the host header is signed, (S3) no x-amz-* header is unsigned, the body
// hash (non-S3), the access key, the session token and the signature.
func (v *Verifier) finish(r *http.Request, res *Result, sc scope, params []queryParam, signedStr, payload, token string) (*Result, error) {
	isS3 := sc.Service == "s3"
	if !hasName(res.SignedHeaders, "host") {
		return nil, newErr(KindUnsignedHeaders, "AccessDenied", http.StatusForbidden, msgUnsignedHeaders,
			Field{"HeadersNotSigned", "host"})
	}
	if isS3 {
		// S3 refuses x-amz-* headers that the signature does not cover,
		// so they cannot be added to a presigned URL by whoever holds it.
		var unsigned []string
		for name := range r.Header {
			// Lower-case only the x-amz-* names: ToLower allocates for
			// every canonical (capitalised) name, on every request.
			if len(name) < 6 || !strings.EqualFold(name[:6], "x-amz-") {
				continue
			}
			if !hasNameFold(res.SignedHeaders, name) {
				unsigned = append(unsigned, strings.ToLower(name))
			}
		}
		if len(unsigned) > 0 {
			sort.Strings(unsigned)
			return nil, newErr(KindUnsignedHeaders, "AccessDenied", http.StatusForbidden, msgUnsignedHeaders,
				Field{"HeadersNotSigned", strings.Join(unsigned, ", ")})
		}
	} else {
		sum, err := v.hashBody(r, sc.Service)
		if err != nil {
			return nil, err
		}
		if payload == "" {
			payload = headerGet(r.Header, "X-Amz-Content-Sha256")
		}
		if payload == "" {
			payload = sum
		} else if isSHA256Hex(payload) && !strings.EqualFold(payload, sum) {
			return nil, ErrContentSHA256Mismatch(payload, sum)
		}
	}
	res.PayloadHash = payload
	creds, ok := v.Keys.Lookup(sc.AccessKeyID)
	if !ok {
		return nil, newErr(KindUnknownKey, "InvalidAccessKeyId", http.StatusForbidden, msgUnknownKey,
			Field{"AWSAccessKeyId", sc.AccessKeyID})
	}
	if creds.SessionToken != "" && subtle.ConstantTimeCompare([]byte(creds.SessionToken), []byte(token)) != 1 {
		return nil, newErr(KindBadToken, "InvalidToken", http.StatusBadRequest, msgBadToken,
			Field{"Token-0", token})
	}
	res.Credentials = creds
	res.Scope = sc.Date + "/" + sc.Region + "/" + sc.Service + "/aws4_request"
	res.SigningKey = v.signingKeys.get(creds.SecretAccessKey, sc.Date, sc.Region, sc.Service)

	query := canonicalQuery(params, res.Presigned)
	var uriBuf [2]string
	uris := canonicalURIs(&uriBuf, r, isS3)
	// Every request takes this path, so the canonical request is hashed
	// as it is written and the string to sign and the HMAC are built in
	// stack buffers; the strings are only assembled for the error below.
	var crBuf [2048]byte // longer canonical requests spill to the heap
	var sts [256]byte
	for _, uri := range uris {
		cr := append(crBuf[:0], r.Method...)
		for _, part := range [...]string{"\n", uri, "\n", query, "\n"} {
			cr = append(cr, part...)
		}
		cr = appendCanonicalHeaders(cr, r, res.SignedHeaders)
		for _, part := range [...]string{"\n", signedStr, "\n", payload} {
			cr = append(cr, part...)
		}
		crHash := sha256.Sum256(cr)
		b := append(sts[:0], Algorithm+"\n"...)
		b = append(b, res.AmzDate...)
		b = append(b, '\n')
		b = append(b, res.Scope...)
		b = append(b, '\n')
		b = hex.AppendEncode(b, crHash[:])
		mac := hmacSHA256Fixed(res.SigningKey, b)
		var want [2 * sha256.Size]byte
		hex.Encode(want[:], mac[:])
		if subtle.ConstantTimeCompare(want[:], []byte(res.Signature)) == 1 {
			return res, nil
		}
	}
	headers := string(appendCanonicalHeaders(nil, r, res.SignedHeaders))
	firstCR := r.Method + "\n" + uris[0] + "\n" + query + "\n" + headers + "\n" + signedStr + "\n" + payload
	crHash := sha256.Sum256([]byte(firstCR))
	firstSTS := Algorithm + "\n" + res.AmzDate + "\n" + res.Scope + "\n" + hex.EncodeToString(crHash[:])
	return nil, newErr(KindSignatureMismatch, "SignatureDoesNotMatch", http.StatusForbidden, msgMismatch,
		Field{"AWSAccessKeyId", sc.AccessKeyID},
		Field{"StringToSign", firstSTS},
		Field{"SignatureProvided", res.Signature},
		Field{"StringToSignBytes", hexBytes(firstSTS)},
		Field{"CanonicalRequest", firstCR},
		Field{"CanonicalRequestBytes", hexBytes(firstCR)})
}

// hashBody reads at most the service's body limit, hashes it and puts
// the bytes back on r so the handler reads the same body.
func (v *Verifier) hashBody(r *http.Request, service string) (string, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return emptySHA256, nil
	}
	limit := v.bodyLimit(service)
	if r.ContentLength > limit {
		return "", newErr(KindBodyTooLarge, "MaxMessageLengthExceeded", http.StatusBadRequest, msgTooLarge)
	}
	data, err := readBody(r.Body, r.ContentLength, limit)
	r.Body.Close()
	if err != nil {
		return "", newErr(KindBodyTooLarge, "IncompleteBody", http.StatusBadRequest,
			"The request body could not be read: "+err.Error())
	}
	if int64(len(data)) > limit {
		return "", newErr(KindBodyTooLarge, "MaxMessageLengthExceeded", http.StatusBadRequest, msgTooLarge)
	}
	r.Body = io.NopCloser(bytes.NewReader(data))
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:]), nil
}

// readBody reads body whole, at most limit+1 bytes (the caller refuses
// more than limit). A declared length sizes the buffer once instead of
// io.ReadAll's doubling from 512 bytes (net/http has already bounded such
// a body to its Content-Length).
func readBody(body io.Reader, contentLength, limit int64) ([]byte, error) {
	if contentLength < 0 || contentLength > limit {
		return io.ReadAll(io.LimitReader(body, limit+1))
	}
	data := make([]byte, contentLength)
	if _, err := io.ReadFull(body, data); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return data, nil
}

// ParseScope reads the service and region of the credential scope from
// the Authorization header or the X-Amz-Credential query parameter,
// without verifying anything. It is for routing a request to its service
// before authentication; ok is false when there is no SigV4 scope.
func ParseScope(r *http.Request) (service, region string, ok bool) {
	var cred string
	if authz := headerGet(r.Header, "Authorization"); authz != "" {
		scheme, rest, found := strings.Cut(authz, " ")
		if !found || !strings.EqualFold(scheme, Algorithm) || len(rest) > maxAuthorizationLen {
			return "", "", false
		}
		i := strings.Index(rest, "Credential=")
		if i < 0 {
			return "", "", false
		}
		cred = rest[i+len("Credential="):]
		if j := strings.IndexByte(cred, ','); j >= 0 {
			cred = cred[:j]
		}
		cred = strings.TrimSpace(cred)
	} else {
		if len(r.URL.RawQuery) > maxQueryLen {
			return "", "", false
		}
		c, found := getParam(parseQuery(r.URL.RawQuery), "X-Amz-Credential")
		if !found {
			return "", "", false
		}
		cred = c
	}
	// access-key/date/region/service/aws4_request: exactly five parts,
	// cut in place (routing asks this of every request).
	var parts [5]string
	for i := range 4 {
		var ok bool
		if parts[i], cred, ok = strings.Cut(cred, "/"); !ok {
			return "", "", false
		}
	}
	if strings.Contains(cred, "/") || parts[3] == "" {
		return "", "", false
	}
	return parts[3], parts[2], true
}
