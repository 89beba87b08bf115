package s3api

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The POST policy document of a browser form upload (S3 API reference,
// "Creating a POST Policy"): base64 JSON with an expiration and a list of
// conditions, each an exact match ({"field": "value"} or
// ["eq", "$field", "value"]), a prefix match (["starts-with", "$field",
// "prefix"]) or the file's size range (["content-length-range", min, max]).
// Field names compare case-insensitively; values exactly.

// Messages S3 sends for a policy (responses recorded from S3 as quoted by
// localstack's POST policy validation and by public issue threads: "Invalid
// according to Policy: Extra input fields: content-type" and so on).
const (
	msgPolicyExpired      = "Invalid according to Policy: Policy expired."
	msgPolicyCondition    = "Invalid according to Policy: Policy Condition failed: "
	msgPolicyExtraFields  = "Invalid according to Policy: Extra input fields: "
	msgPolicyNotJSON      = "Invalid Policy: Invalid JSON."
	msgPolicyNoExpiration = "Invalid Policy: Policy missing expiration."
	msgPolicyBadExpire    = "Invalid Policy: Invalid 'expiration' value: '%s'"
	msgPolicyNoConditions = "Invalid Policy: Policy missing conditions."
	msgPolicySimpleCond   = "Invalid Policy: Invalid Simple-Condition: Simple-Conditions must have exactly one property specified."
	msgPolicyBadCondition = "Invalid Policy: Invalid Condition: %s"
	msgEntityTooSmall     = "Your proposed upload is smaller than the minimum allowed size"
)

// maxPolicyConditions bounds the conditions of one policy; the policy
// field is itself bounded by the form's pre-data limit.
const maxPolicyConditions = 1000

// Condition operators.
const (
	condEq         = "eq"
	condStartsWith = "starts-with"
	condLength     = "content-length-range"
)

// postPolicy is a decoded policy document.
type postPolicy struct {
	expiration time.Time
	conditions []postCondition
}

// postCondition is one condition. field is lower-case without the "$".
type postCondition struct {
	op       string
	field    string
	value    string
	min, max int64
	// text is the condition as S3 quotes it in "Policy Condition failed".
	text string
}

func invalidPolicy(format string, args ...any) *Error {
	return newError(errInvalidPolicyDocument).withMessage(format, args...)
}

func policyDenied(msg string) *Error {
	return newError(errAccessDenied).withMessage("%s", msg)
}

// parsePostPolicy decodes the policy field. Every failure is 400
// InvalidPolicyDocument, as S3 answers.
func parsePostPolicy(b64 string) (*postPolicy, error) {
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(b64))
	if err != nil {
		return nil, newError(errInvalidPolicyDocument)
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(raw, &doc); err != nil || doc == nil {
		return nil, invalidPolicy(msgPolicyNotJSON)
	}
	exp, ok := doc["expiration"]
	if !ok {
		return nil, invalidPolicy(msgPolicyNoExpiration)
	}
	var expStr string
	if json.Unmarshal(exp, &expStr) != nil {
		return nil, invalidPolicy(msgPolicyBadExpire, string(exp))
	}
	t, err := time.Parse(time.RFC3339Nano, expStr)
	if err != nil {
		return nil, invalidPolicy(msgPolicyBadExpire, expStr)
	}
	conds, ok := doc["conditions"]
	if !ok {
		return nil, invalidPolicy(msgPolicyNoConditions)
	}
	var list []json.RawMessage
	if json.Unmarshal(conds, &list) != nil {
		return nil, invalidPolicy(msgPolicyNoConditions)
	}
	if len(list) > maxPolicyConditions {
		return nil, invalidPolicy(msgPolicyBadCondition, "too many conditions")
	}
	p := &postPolicy{expiration: t, conditions: make([]postCondition, 0, len(list))}
	for _, c := range list {
		pc, err := parseCondition(c)
		if err != nil {
			return nil, err
		}
		p.conditions = append(p.conditions, pc)
	}
	return p, nil
}

func parseCondition(raw json.RawMessage) (postCondition, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '{' {
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(raw, &obj); err != nil || len(obj) != 1 {
			return postCondition{}, invalidPolicy(msgPolicySimpleCond)
		}
		for name, v := range obj {
			value, ok := jsonScalar(v)
			if !ok {
				return postCondition{}, invalidPolicy(msgPolicyBadCondition, compact(raw))
			}
			nameJSON, _ := json.Marshal(name)
			return postCondition{op: condEq, field: strings.ToLower(name), value: value,
				text: "{" + string(nameJSON) + ": " + compact(v) + "}"}, nil
		}
	}
	var elems []json.RawMessage
	if err := json.Unmarshal(raw, &elems); err != nil || len(elems) != 3 {
		return postCondition{}, invalidPolicy(msgPolicyBadCondition, compact(raw))
	}
	texts := make([]string, len(elems))
	for i, e := range elems {
		texts[i] = compact(e)
	}
	c := postCondition{text: "[" + strings.Join(texts, ", ") + "]"}
	var op string
	if json.Unmarshal(elems[0], &op) != nil {
		return postCondition{}, invalidPolicy(msgPolicyBadCondition, c.text)
	}
	c.op = strings.ToLower(op)
	switch c.op {
	case condEq, condStartsWith:
		var name string
		value, ok := jsonScalar(elems[2])
		if json.Unmarshal(elems[1], &name) != nil || !strings.HasPrefix(name, "$") || len(name) < 2 || !ok {
			return postCondition{}, invalidPolicy(msgPolicyBadCondition, c.text)
		}
		c.field, c.value = strings.ToLower(name[1:]), value
	case condLength:
		lo, ok1 := jsonInt(elems[1])
		hi, ok2 := jsonInt(elems[2])
		if !ok1 || !ok2 || lo < 0 || hi < lo {
			return postCondition{}, invalidPolicy(msgPolicyBadCondition, c.text)
		}
		c.min, c.max = lo, hi
	default:
		return postCondition{}, invalidPolicy(msgPolicyBadCondition, c.text)
	}
	return c, nil
}

// jsonScalar reads a condition value: a string, or a number or boolean
// compared by its JSON text.
func jsonScalar(raw json.RawMessage) (string, bool) {
	raw = bytes.TrimSpace(raw)
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, true
	}
	if len(raw) > 0 && (raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9' || raw[0] == 't' || raw[0] == 'f') {
		var v any
		if json.Unmarshal(raw, &v) == nil {
			return string(raw), true
		}
	}
	return "", false
}

// jsonInt reads a content-length-range bound: a JSON integer or a string
// of digits.
func jsonInt(raw json.RawMessage) (int64, bool) {
	raw = bytes.TrimSpace(raw)
	var s string
	if json.Unmarshal(raw, &s) != nil {
		s = string(raw)
	}
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	return n, err == nil
}

func compact(raw []byte) string {
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil {
		return string(bytes.TrimSpace(raw))
	}
	return b.String()
}

// exemptFromPolicy are the fields no condition has to name (S3 User
// Guide, "Creating a POST policy": "each form field that you specify in a
// form (except x-amz-signature, file, policy, and field names that have
// an x-ignore- prefix) must appear in the list of conditions"; the SigV2
// page adds signature and AWSAccessKeyId, which boto3's SigV2 policies
// never name).
func exemptFromPolicy(lname string) bool {
	switch lname {
	case "file", "policy", "x-amz-signature", "signature", "awsaccesskeyid":
		return true
	}
	return strings.HasPrefix(lname, "x-ignore-")
}

// check evaluates everything but the file's size: the expiration, every
// condition in order, then that every field is named by a condition. form
// holds the fields (lower-case names, "key" already with ${filename}
// replaced); bucket is the bucket the form was posted to.
func (p *postPolicy) check(now time.Time, bucket string, form *postForm) error {
	if !now.Before(p.expiration) {
		return policyDenied(msgPolicyExpired)
	}
	covered := map[string]bool{}
	for _, c := range p.conditions {
		if c.op == condLength {
			continue
		}
		covered[c.field] = true
		var v string
		if c.field == "bucket" {
			v = bucket
		} else {
			v = form.fields[c.field]
		}
		ok := false
		switch c.op {
		case condEq:
			ok = v == c.value
		case condStartsWith:
			ok = startsWith(c.field, v, c.value)
		}
		if !ok {
			return policyDenied(msgPolicyCondition + c.text)
		}
	}
	var extra []string
	for _, name := range form.names {
		l := strings.ToLower(name)
		if !covered[l] && !exemptFromPolicy(l) {
			extra = append(extra, name)
		}
	}
	if len(extra) > 0 {
		sort.Strings(extra)
		return policyDenied(msgPolicyExtraFields + strings.Join(extra, ", "))
	}
	return nil
}

// startsWith is the prefix match; for Content-Type, a comma-separated
// list of types, each must start with the prefix (S3 User Guide, "Creating
// a POST policy", condition matching).
func startsWith(field, value, prefix string) bool {
	if field != "content-type" {
		return strings.HasPrefix(value, prefix)
	}
	for _, v := range strings.Split(value, ",") {
		if !strings.HasPrefix(strings.TrimSpace(v), prefix) {
			return false
		}
	}
	return true
}

// sizeRange returns the allowed file sizes: the intersection of every
// content-length-range condition; without one, any size S3 accepts.
func (p *postPolicy) sizeRange() (lo, hi int64) {
	lo, hi = 0, -1
	for _, c := range p.conditions {
		if c.op != condLength {
			continue
		}
		lo = max(lo, c.min)
		if hi < 0 || c.max < hi {
			hi = c.max
		}
	}
	return lo, hi
}

// sizeLimitReader enforces a content-length-range while the file streams:
// a byte past hi is EntityTooLarge at once (nothing more is read, so its
// ProposedSize is the bytes seen, hi+1, not the whole file's size), and
// EOF before lo bytes is EntityTooSmall, so that the object store sees a
// failed body and writes nothing.
type sizeLimitReader struct {
	r      io.Reader
	lo, hi int64 // hi < 0: no upper bound here
	n      int64
}

func (s *sizeLimitReader) Read(p []byte) (int, error) {
	if s.hi >= 0 && int64(len(p)) > s.hi+1-s.n {
		p = p[:s.hi+1-s.n]
	}
	n, err := s.r.Read(p)
	s.n += int64(n)
	if s.hi >= 0 && s.n > s.hi {
		return n, newError(errEntityTooLarge,
			"ProposedSize", strconv.FormatInt(s.n, 10),
			"MaxSizeAllowed", strconv.FormatInt(s.hi, 10))
	}
	if errors.Is(err, io.EOF) && s.n < s.lo {
		return n, newError(errEntityTooSmall,
			"ProposedSize", strconv.FormatInt(s.n, 10),
			"MinSizeAllowed", strconv.FormatInt(s.lo, 10)).withMessage(msgEntityTooSmall)
	}
	return n, err
}
