package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"sluice/internal/arn"
)

// Limits bounds a policy document. Each service has its own.
type Limits struct {
	MaxBytes      int // 0 means DefaultMaxBytes
	MaxStatements int // 0 means no limit beyond MaxBytes
}

// DefaultMaxBytes bounds documents for callers that pass zero Limits, so
// that no input is unbounded.
const DefaultMaxBytes = 64 << 10

// SQSLimits: "Amazon SQS policy quotas": Bytes 8,192, Statements 20
// (docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-policies.html).
func SQSLimits() Limits { return Limits{MaxBytes: 8192, MaxStatements: 20} }

// SNSLimits: "Policy quotas": Bytes 30 kb, Statements 100
// (docs.aws.amazon.com/sns/latest/dg/sns-access-policy-language-api-permissions-reference.html).
func SNSLimits() Limits { return Limits{MaxBytes: 30 << 10, MaxStatements: 100} }

// LambdaLimits: "Function resource-based policy: 20 KB" (Lambda quotas,
// docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html); beyond
// it AddPermission answers PolicyLengthExceededException.
func LambdaLimits() Limits { return Limits{MaxBytes: 20 << 10} }

// S3Limits: "Bucket policies are limited to 20 KB in size"
// (docs.aws.amazon.com/AmazonS3/latest/userguide/add-bucket-policy.html).
func S3Limits() Limits { return Limits{MaxBytes: 20 << 10} }

func (l Limits) maxBytes() int {
	if l.MaxBytes <= 0 {
		return DefaultMaxBytes
	}
	return l.MaxBytes
}

// CheckSize returns a *TooLargeError when doc is longer than the limit
// (Lambda checks the whole policy after adding a statement).
func (l Limits) CheckSize(doc []byte) error {
	if len(doc) > l.maxBytes() {
		return &TooLargeError{Size: len(doc), Limit: l.maxBytes()}
	}
	return nil
}

// ErrMalformed is matched (errors.Is) by every *MalformedError.
var ErrMalformed = errors.New("malformed policy")

// MalformedError says what is wrong with a policy document, in words fit
// for the Message of an InvalidAttributeValue, MalformedPolicy or
// InvalidParameterValueException error.
type MalformedError struct {
	Statement int    // index of the offending statement, -1 if not in one
	Reason    string // e.g. `invalid Effect "allow" (want Allow or Deny)`
}

func (e *MalformedError) Error() string {
	if e.Statement >= 0 {
		return fmt.Sprintf("malformed policy: statement %d: %s", e.Statement, e.Reason)
	}
	return "malformed policy: " + e.Reason
}

// Is makes errors.Is(err, ErrMalformed) true.
func (e *MalformedError) Is(target error) bool { return target == ErrMalformed }

// ErrTooLarge is matched by every *TooLargeError.
var ErrTooLarge = errors.New("policy too large")

// TooLargeError reports a document over its service's size or statement
// limit.
type TooLargeError struct {
	Size, Limit int
	Statements  bool // the limit is on statements, not bytes
}

func (e *TooLargeError) Error() string {
	if e.Statements {
		return fmt.Sprintf("policy has %d statements, the limit is %d", e.Size, e.Limit)
	}
	return fmt.Sprintf("policy is %d bytes, the limit is %d", e.Size, e.Limit)
}

// Is makes errors.Is(err, ErrTooLarge) true.
func (e *TooLargeError) Is(target error) bool { return target == ErrTooLarge }

// maxDepth bounds JSON nesting; a valid policy nests four levels deep.
const maxDepth = 16

// Parse parses and validates a policy document. Errors are *TooLargeError
// or *MalformedError.
func Parse(doc []byte, limits Limits) (*Policy, error) {
	if err := limits.CheckSize(doc); err != nil {
		return nil, err
	}
	if !utf8.Valid(doc) {
		return nil, malformed(-1, "document is not valid UTF-8")
	}
	root, err := decodeTree(doc)
	if err != nil {
		return nil, malformed(-1, err.Error())
	}
	if root.kind != kindObject {
		return nil, malformed(-1, "document is not a JSON object")
	}
	p := &Policy{}
	var stmts *node
	for i, k := range root.keys {
		v := root.vals[i]
		switch k {
		case "Version":
			if v.kind != kindString || (v.str != VersionCurrent && v.str != Version2008) {
				return nil, malformed(-1, fmt.Sprintf("invalid Version %s (want %q or %q)", v.describe(), VersionCurrent, Version2008))
			}
			p.Version = v.str
		case "Id":
			if v.kind != kindString {
				return nil, malformed(-1, "Id must be a string")
			}
			p.ID = v.str
		case "Statement":
			stmts = v
		default:
			return nil, malformed(-1, fmt.Sprintf("unknown element %q", k))
		}
	}
	if stmts == nil {
		return nil, malformed(-1, "missing Statement")
	}
	var list []*node
	switch stmts.kind {
	case kindObject:
		p.SingleStatement = true
		list = []*node{stmts}
	case kindArray:
		list = stmts.elems
	default:
		return nil, malformed(-1, "Statement must be an object or an array of objects")
	}
	if limits.MaxStatements > 0 && len(list) > limits.MaxStatements {
		return nil, &TooLargeError{Size: len(list), Limit: limits.MaxStatements, Statements: true}
	}
	sids := map[string]bool{}
	for i, n := range list {
		st, err := parseStatement(i, n)
		if err != nil {
			return nil, err
		}
		if st.Sid != "" {
			if sids[st.Sid] {
				return nil, malformed(i, fmt.Sprintf("duplicate Sid %q", st.Sid))
			}
			sids[st.Sid] = true
		}
		p.Statements = append(p.Statements, st)
	}
	return p, nil
}

func malformed(stmt int, reason string) *MalformedError {
	return &MalformedError{Statement: stmt, Reason: reason}
}

func parseStatement(i int, n *node) (Statement, error) {
	var st Statement
	if n.kind != kindObject {
		return st, malformed(i, "statement is not a JSON object")
	}
	fail := func(format string, a ...any) (Statement, error) {
		return Statement{}, malformed(i, fmt.Sprintf(format, a...))
	}
	for j, k := range n.keys {
		v := n.vals[j]
		var err error
		switch k {
		case "Sid":
			if v.kind != kindString {
				return fail("Sid must be a string")
			}
			st.Sid = v.str
		case "Effect":
			if v.kind != kindString || (v.str != string(Allow) && v.str != string(Deny)) {
				return fail("invalid Effect %s (want Allow or Deny)", v.describe())
			}
			st.Effect = Effect(v.str)
		case "Principal":
			st.Principal, err = parsePrincipal(v, k)
		case "NotPrincipal":
			st.NotPrincipal, err = parsePrincipal(v, k)
		case "Action":
			st.Action, err = parseActions(v, k)
		case "NotAction":
			st.NotAction, err = parseActions(v, k)
		case "Resource":
			st.Resource, err = parseResources(v, k)
		case "NotResource":
			st.NotResource, err = parseResources(v, k)
		case "Condition":
			st.Condition, err = parseConditions(v)
		default:
			return fail("unknown element %q", k)
		}
		if err != nil {
			return fail("%s", err.Error())
		}
	}
	switch {
	case st.Effect == "":
		return fail("missing Effect")
	case st.Principal == nil && st.NotPrincipal == nil:
		return fail("missing Principal")
	case st.Principal != nil && st.NotPrincipal != nil:
		return fail("both Principal and NotPrincipal")
	case st.Action.Values == nil && st.NotAction.Values == nil:
		return fail("missing Action")
	case st.Action.Values != nil && st.NotAction.Values != nil:
		return fail("both Action and NotAction")
	case st.Resource.Values != nil && st.NotResource.Values != nil:
		return fail("both Resource and NotResource")
	}
	return st, nil
}

// parseStrings reads a string or a non-empty array of strings.
func parseStrings(v *node, elem string) (Strings, error) {
	switch v.kind {
	case kindString:
		return One(v.str), nil
	case kindArray:
		if len(v.elems) == 0 {
			return Strings{}, fmt.Errorf("%s is an empty array", elem)
		}
		s := Strings{Values: make([]string, len(v.elems)), Array: true}
		for i, e := range v.elems {
			if e.kind != kindString {
				return Strings{}, fmt.Errorf("%s must hold strings, not %s", elem, e.describe())
			}
			s.Values[i] = e.str
		}
		return s, nil
	default:
		return Strings{}, fmt.Errorf("%s must be a string or an array of strings, not %s", elem, v.describe())
	}
}

func parseActions(v *node, elem string) (Strings, error) {
	s, err := parseStrings(v, elem)
	if err != nil {
		return s, err
	}
	for _, a := range s.Values {
		if a == "*" {
			continue
		}
		// IAM's text for this mistake.
		if svc, name, ok := strings.Cut(a, ":"); !ok || svc == "" || name == "" {
			return s, fmt.Errorf("%s %q: actions must be prefaced by a vendor, e.g. sqs, sns, lambda, s3", elem, a)
		}
	}
	return s, nil
}

func parseResources(v *node, elem string) (Strings, error) {
	s, err := parseStrings(v, elem)
	if err != nil {
		return s, err
	}
	for _, r := range s.Values {
		if r == "*" {
			continue
		}
		if !strings.HasPrefix(r, "arn:") || strings.Count(r, ":") < 5 {
			return s, fmt.Errorf("%s %q must be in ARN format or \"*\"", elem, r)
		}
	}
	return s, nil
}

func parsePrincipal(v *node, elem string) (*Principal, error) {
	if v.kind == kindString {
		if v.str != "*" {
			return nil, fmt.Errorf("invalid principal in policy: %s %q (a string principal must be \"*\")", elem, v.str)
		}
		return &Principal{Any: true}, nil
	}
	if v.kind != kindObject {
		return nil, fmt.Errorf("%s must be \"*\" or an object, not %s", elem, v.describe())
	}
	if len(v.keys) == 0 {
		return nil, fmt.Errorf("%s is an empty object", elem)
	}
	p := &Principal{}
	for i, k := range v.keys {
		s, err := parseStrings(v.vals[i], elem+"."+k)
		if err != nil {
			return nil, err
		}
		switch k {
		case "AWS":
			for _, a := range s.Values {
				if !validAWSPrincipal(a) {
					return nil, fmt.Errorf("invalid principal in policy: \"AWS\":%q", a)
				}
			}
			p.AWS = s
		case "Service":
			for _, a := range s.Values {
				if a == "" || strings.ContainsAny(a, " \t\r\n*") {
					return nil, fmt.Errorf("invalid principal in policy: \"Service\":%q", a)
				}
			}
			p.Service = s
		case "Federated":
			p.Federated = s
		case "CanonicalUser":
			p.CanonicalUser = s
		default:
			return nil, fmt.Errorf("invalid principal type %q in %s (want AWS, Service, Federated or CanonicalUser)", k, elem)
		}
	}
	return p, nil
}

// validAWSPrincipal accepts "*", a 12-digit account id, or an IAM/STS ARN.
func validAWSPrincipal(s string) bool {
	if s == "*" || arn.ValidAccountID(s) {
		return true
	}
	a, err := arn.Parse(s)
	return err == nil && (a.Service == "iam" || a.Service == "sts")
}

func parseConditions(v *node) ([]Condition, error) {
	if v.kind != kindObject {
		return nil, fmt.Errorf("Condition must be an object, not %s", v.describe())
	}
	var out []Condition
	for i, op := range v.keys {
		if _, err := parseOperator(op); err != nil {
			return nil, err
		}
		block := v.vals[i]
		if block.kind != kindObject {
			return nil, fmt.Errorf("condition %s must be an object of keys, not %s", op, block.describe())
		}
		for j, key := range block.keys {
			if key == "" {
				return nil, fmt.Errorf("condition %s has an empty key", op)
			}
			c := Condition{Operator: op, Key: key}
			val := block.vals[j]
			items := []*node{val}
			if val.kind == kindArray {
				c.Array = true
				items = val.elems
				if len(items) == 0 {
					return nil, fmt.Errorf("condition %s %s has an empty array", op, key)
				}
			}
			for n, it := range items {
				switch it.kind {
				case kindString:
				case kindNumber, kindBool:
					if c.literal == nil {
						c.literal = make([]bool, len(items))
					}
					c.literal[n] = true
				default:
					return nil, fmt.Errorf("condition %s %s: values must be strings, numbers or booleans, not %s", op, key, it.describe())
				}
				c.Values = append(c.Values, it.str)
			}
			if err := checkValues(c); err != nil {
				return nil, err
			}
			out = append(out, c)
		}
	}
	return out, nil
}

// The JSON tree that Parse validates. encoding/json's struct decoding is not
// used because it matches field names case-insensitively (IAM element names
// are case-sensitive) and loses key order.

type nodeKind int

const (
	kindNull nodeKind = iota
	kindBool
	kindNumber
	kindString
	kindArray
	kindObject
)

type node struct {
	kind  nodeKind
	str   string // string value, number text, or "true"/"false"
	keys  []string
	vals  []*node
	elems []*node
}

func (n *node) describe() string {
	switch n.kind {
	case kindNull:
		return "null"
	case kindBool:
		return "boolean " + n.str
	case kindNumber:
		return "number " + n.str
	case kindString:
		return fmt.Sprintf("%q", n.str)
	case kindArray:
		return "an array"
	default:
		return "an object"
	}
}

func decodeTree(doc []byte) (*node, error) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	root, err := decodeValue(dec, 0)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("invalid JSON: data after the top-level object")
	}
	return root, nil
}

func decodeValue(dec *json.Decoder, depth int) (*node, error) {
	if depth > maxDepth {
		return nil, errors.New("JSON nested too deeply")
	}
	tok, err := dec.Token()
	if err != nil {
		if err == io.EOF {
			return nil, errors.New("invalid JSON: unexpected end of document")
		}
		return nil, fmt.Errorf("invalid JSON: %v", err)
	}
	switch t := tok.(type) {
	case nil:
		return &node{kind: kindNull}, nil
	case bool:
		return &node{kind: kindBool, str: fmt.Sprint(t)}, nil
	case json.Number:
		return &node{kind: kindNumber, str: t.String()}, nil
	case string:
		return &node{kind: kindString, str: t}, nil
	case json.Delim:
		switch t {
		case '[':
			n := &node{kind: kindArray}
			for dec.More() {
				e, err := decodeValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				n.elems = append(n.elems, e)
			}
			if _, err := dec.Token(); err != nil {
				return nil, fmt.Errorf("invalid JSON: %v", err)
			}
			return n, nil
		case '{':
			n := &node{kind: kindObject}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, fmt.Errorf("invalid JSON: %v", err)
				}
				k, ok := kt.(string)
				if !ok {
					return nil, errors.New("invalid JSON: object key is not a string")
				}
				v, err := decodeValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				if i := indexOf(n.keys, k); i >= 0 {
					n.vals[i] = v // last one wins, first position kept
					continue
				}
				n.keys = append(n.keys, k)
				n.vals = append(n.vals, v)
			}
			if _, err := dec.Token(); err != nil {
				return nil, fmt.Errorf("invalid JSON: %v", err)
			}
			return n, nil
		}
	}
	return nil, fmt.Errorf("invalid JSON: unexpected %v", tok)
}

func indexOf(keys []string, k string) int {
	for i, s := range keys {
		if s == k {
			return i
		}
	}
	return -1
}
