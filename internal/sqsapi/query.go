package sqsapi

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"io"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// The query protocol names members differently from the JSON protocol:
// lists are flattened ("AttributeName.1"), maps are lists of Name/Value
// or Key/Value pairs ("Attribute.1.Name", "Attribute.1.Value"). These
// tables translate query names to the JSON members (aws-wire 3.2, from the
// pre-2023 query model), so that one set of input structs serves both.
var queryLists = map[string]string{
	"AttributeName":                            "AttributeNames",
	"MessageAttributeName":                     "MessageAttributeNames",
	"MessageSystemAttributeName":               "MessageSystemAttributeNames",
	"TagKey":                                   "TagKeys",
	"SendMessageBatchRequestEntry":             "Entries",
	"DeleteMessageBatchRequestEntry":           "Entries",
	"ChangeMessageVisibilityBatchRequestEntry": "Entries",
}

var queryMaps = map[string]struct{ member, key string }{
	"Attribute":              {"Attributes", "Name"},
	"MessageAttribute":       {"MessageAttributes", "Name"},
	"MessageSystemAttribute": {"MessageSystemAttributes", "Name"},
	"Tag":                    {"Tags", "Key"},
}

// maxQueryDepth bounds the dotted parts of a parameter name: the deepest
// SQS parameter (SendMessageBatchRequestEntry.N.MessageAttribute.M.
// Value.StringValue) has six, and a deeper name, which no action reads,
// is ignored rather than nested: an 8 MiB "a.a.a..." name must not
// become millions of nested maps (and as deep a recursion).
const maxQueryDepth = 8

// maxQueryIndex bounds list indexes so a form cannot make us allocate for
// "Entry.999999999".
const maxQueryIndex = 1000

// formToJSON converts a query-protocol form into the JSON document the
// JSON protocol would carry for the same request. Scalars stay strings
// (the input structs accept numbers as strings). Entries with a bad index
// are ignored, as AWS ignores unknown parameters.
func formToJSON(form url.Values) ([]byte, error) {
	tree := formTree(form)
	return json.Marshal(tree)
}

type flatParam struct {
	path []string
	val  string
}

func formTree(form url.Values) map[string]any {
	var params []flatParam
	for k, vs := range form {
		if k == "Action" || k == "Version" || len(vs) == 0 || strings.HasPrefix(k, "X-Amz-") {
			continue
		}
		if strings.Count(k, ".") >= maxQueryDepth {
			continue
		}
		params = append(params, flatParam{strings.Split(k, "."), vs[0]})
	}
	return buildTree(params)
}

func buildTree(params []flatParam) map[string]any {
	out := map[string]any{}
	groups := map[string][]flatParam{}
	for _, p := range params {
		if len(p.path) == 1 {
			out[p.path[0]] = p.val
			continue
		}
		groups[p.path[0]] = append(groups[p.path[0]], flatParam{p.path[1:], p.val})
	}
	for head, sub := range groups {
		if member, ok := queryLists[head]; ok {
			out[member] = buildList(sub)
			continue
		}
		if m, ok := queryMaps[head]; ok {
			out[m.member] = buildMap(sub, m.key)
			continue
		}
		// A nested structure ("Value.DataType"), or an index-less name.
		out[head] = buildTree(sub)
	}
	return out
}

// buildList turns ["1", rest...] params into a list ordered by index.
func buildList(params []flatParam) []any {
	byIndex := map[int][]flatParam{}
	for _, p := range params {
		i, err := strconv.Atoi(p.path[0])
		if err != nil || i < 1 || i > maxQueryIndex {
			continue
		}
		byIndex[i] = append(byIndex[i], flatParam{p.path[1:], p.val})
	}
	idx := make([]int, 0, len(byIndex))
	for i := range byIndex {
		idx = append(idx, i)
	}
	sort.Ints(idx)
	out := make([]any, 0, len(idx))
	for _, i := range idx {
		ps := byIndex[i]
		if len(ps) == 1 && len(ps[0].path) == 0 {
			out = append(out, ps[0].val) // a list of scalars
			continue
		}
		var nested []flatParam
		for _, p := range ps {
			if len(p.path) > 0 {
				nested = append(nested, p)
			}
		}
		out = append(out, buildTree(nested))
	}
	return out
}

// buildMap turns "N.Name"/"N.Value[...]" params into a map.
func buildMap(params []flatParam, keyName string) map[string]any {
	out := map[string]any{}
	for _, e := range buildList(params) {
		entry, ok := e.(map[string]any)
		if !ok {
			continue
		}
		k, ok := entry[keyName].(string)
		if !ok {
			continue
		}
		out[k] = entry["Value"]
	}
	return out
}

// Query responses: the JSON output document, rendered as XML. Maps
// become repeated <Attribute><Name/><Value/></Attribute> (or Tag with
// Key), lists are flattened under their query element name.
var xmlMaps = map[string]struct{ elem, key string }{
	"Attributes":        {"Attribute", "Name"},
	"MessageAttributes": {"MessageAttribute", "Name"},
	"Tags":              {"Tag", "Key"},
}

func xmlListElem(action, member string) string {
	switch member {
	case "QueueUrls", "queueUrls":
		return "QueueUrl"
	case "Messages":
		return "Message"
	case "Successful":
		return action + "ResultEntry"
	case "Failed":
		return "BatchResultErrorEntry"
	case "Results":
		return "ListMessageMoveTasksResultEntry"
	}
	return member
}

const queryNamespace = "http://queue.amazonaws.com/doc/2012-11-05/"

// renderQuery writes the query protocol's response for action whose JSON
// output is out.
func renderQuery(w io.Writer, action string, out any, requestID string) error {
	raw, err := json.Marshal(out)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	enc := xml.NewEncoder(w)
	resp := xml.StartElement{Name: xml.Name{Local: action + "Response"}, Attr: []xml.Attr{{Name: xml.Name{Local: "xmlns"}, Value: queryNamespace}}}
	enc.EncodeToken(resp)
	result := xml.StartElement{Name: xml.Name{Local: action + "Result"}}
	enc.EncodeToken(result)
	if tok, err := dec.Token(); err == nil && tok == json.Delim('{') {
		if err := writeObjectMembers(enc, dec, action); err != nil {
			return err
		}
	}
	enc.EncodeToken(result.End())
	enc.EncodeElement(struct {
		RequestID string `xml:"RequestId"`
	}{requestID}, xml.StartElement{Name: xml.Name{Local: "ResponseMetadata"}})
	enc.EncodeToken(resp.End())
	return enc.Flush()
}

// writeObjectMembers writes the members of the JSON object whose '{' was
// just read, up to and including its '}'.
func writeObjectMembers(enc *xml.Encoder, dec *json.Decoder, action string) error {
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		name := tok.(string)
		if m, ok := xmlMaps[name]; ok {
			if err := writeMap(enc, dec, action, m.elem, m.key); err != nil {
				return err
			}
			continue
		}
		if err := writeValue(enc, dec, action, name); err != nil {
			return err
		}
	}
	_, err := dec.Token() // '}'
	return err
}

// writeValue writes the next JSON value as element(s) called name.
func writeValue(enc *xml.Encoder, dec *json.Decoder, action, name string) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	start := xml.StartElement{Name: xml.Name{Local: name}}
	switch t := tok.(type) {
	case json.Delim:
		if t == '[' {
			elem := xmlListElem(action, name)
			for dec.More() {
				if err := writeValue(enc, dec, action, elem); err != nil {
					return err
				}
			}
			_, err := dec.Token() // ']'
			return err
		}
		enc.EncodeToken(start)
		if err := writeObjectMembers(enc, dec, action); err != nil {
			return err
		}
		return enc.EncodeToken(start.End())
	case string:
		return enc.EncodeElement(t, start)
	case json.Number:
		return enc.EncodeElement(t.String(), start)
	case bool:
		return enc.EncodeElement(strconv.FormatBool(t), start)
	case nil:
		return nil
	}
	return nil
}

// writeMap writes a JSON object as repeated <elem><key>k</key><Value>v</Value></elem>.
func writeMap(enc *xml.Encoder, dec *json.Decoder, action, elem, key string) error {
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return err
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		start := xml.StartElement{Name: xml.Name{Local: elem}}
		enc.EncodeToken(start)
		enc.EncodeElement(tok.(string), xml.StartElement{Name: xml.Name{Local: key}})
		if err := writeValue(enc, dec, action, "Value"); err != nil {
			return err
		}
		enc.EncodeToken(start.End())
	}
	_, err := dec.Token()
	return err
}

// renderQueryError writes the query protocol's <ErrorResponse>.
func renderQueryError(w io.Writer, e *apiError, requestID string) error {
	typ := "Sender"
	if e.Receiver {
		typ = "Receiver"
	}
	type errElem struct {
		Type    string
		Code    string
		Message string
		Detail  struct{}
	}
	body, err := xml.Marshal(struct {
		XMLName   xml.Name `xml:"ErrorResponse"`
		Xmlns     string   `xml:"xmlns,attr"`
		Error     errElem
		RequestID string `xml:"RequestId"`
	}{Xmlns: queryNamespace, Error: errElem{Type: typ, Code: e.Code, Message: e.Message}, RequestID: requestID})
	if err != nil {
		return err
	}
	_, err = w.Write(body)
	return err
}
