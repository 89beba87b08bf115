package sqsapi

import (
	"encoding/base64"
	"slices"
	"unicode/utf8"
)

// decodeSendFast decodes the SendMessage request most clients send, a
// JSON object of QueueUrl and MessageBody whose strings need no
// unescaping, without encoding/json: its reflection and the validation
// pass before it were the largest part of the handler's own CPU per
// send. For anything else (another member, a key in another case, an
// escape sequence, a control character, invalid UTF-8, a value that is
// not a string, malformed JSON) it returns ok false and the caller uses
// encoding/json, so every answer for those, errors included, is as
// before. When ok, the result is what json.Unmarshal gives (the fuzz
// test FuzzDecodeSendFast checks it).
func decodeSendFast(b []byte) (queueURL, body string, ok bool) {
	i := skipWS(b, 0)
	if i == len(b) || b[i] != '{' {
		return "", "", false
	}
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		return "", "", skipWS(b, i+1) == len(b)
	}
	for {
		key, j, ok := plainString(b, i)
		if !ok {
			return "", "", false
		}
		i = skipWS(b, j)
		if i == len(b) || b[i] != ':' {
			return "", "", false
		}
		val, j, ok := plainString(b, skipWS(b, i+1))
		if !ok {
			return "", "", false
		}
		switch string(key) {
		case "QueueUrl":
			queueURL = string(val)
		case "MessageBody":
			body = string(val)
		default:
			return "", "", false
		}
		i = skipWS(b, j)
		if i == len(b) {
			return "", "", false
		}
		switch b[i] {
		case ',':
			i = skipWS(b, i+1)
		case '}':
			return queueURL, body, skipWS(b, i+1) == len(b)
		default:
			return "", "", false
		}
	}
}

// plainString reads a JSON string at b[i] that has no escapes and no
// control characters and is valid UTF-8; it returns its contents and the
// index after its closing quote.
func plainString(b []byte, i int) ([]byte, int, bool) {
	if i >= len(b) || b[i] != '"' {
		return nil, 0, false
	}
	start := i + 1
	ascii := true
	for j := start; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			s := b[start:j]
			if !ascii && !utf8.Valid(s) {
				return nil, 0, false
			}
			return s, j + 1, true
		case c == '\\' || c < 0x20:
			return nil, 0, false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return nil, 0, false
}

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// appendSendResult appends SendMessage's JSON 1.0 response, byte for byte
// what json.Marshal gives for the same struct (TestAppendSendResult): the
// values are a UUID and hex digests, which need no escaping; anything
// else goes through jsonString.
func appendSendResult(b []byte, id, md5Body, md5Attrs string) []byte {
	b = append(b, `{"MessageId":`...)
	b = appendJSONString(b, id)
	b = append(b, `,"MD5OfMessageBody":`...)
	b = appendJSONString(b, md5Body)
	if md5Attrs != "" {
		b = append(b, `,"MD5OfMessageAttributes":`...)
		b = appendJSONString(b, md5Attrs)
	}
	return append(b, '}')
}

// jsonPlain holds, for each ASCII byte, whether encoding/json writes it
// as it is in a string (its htmlSafeSet); a table lookup per byte is what
// keeps the loop below as fast as encoding/json's on long bodies. It is
// never written after initialization.
var jsonPlain = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()

// appendJSONString appends s quoted exactly as encoding/json quotes a
// string (its appendString with HTML escaping, which json.Marshal uses):
// <, >, & and control characters escaped, invalid UTF-8 as \ufffd, U+2028
// and U+2029 escaped (TestAppendJSONString, FuzzAppendJSONString).
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if jsonPlain[c] {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// jsonAppender is a response with a hand-written JSON 1.0 encoding;
// writeOK uses it instead of encoding/json (the query protocol still
// renders the struct).
type jsonAppender interface {
	appendJSON(b []byte) []byte
}

// sendResult is SendMessage's response.
type sendResult struct {
	MessageId              string
	MD5OfMessageBody       string
	MD5OfMessageAttributes string `json:",omitempty"`
}

func (r *sendResult) appendJSON(b []byte) []byte {
	return appendSendResult(b, r.MessageId, r.MD5OfMessageBody, r.MD5OfMessageAttributes)
}

// receiveResult is ReceiveMessage's response. Its JSON 1.0 encoding is
// hand-written because json.Marshal's reflection over ten messages was a
// fifth of the handler's CPU per receive; it is byte for byte what
// json.Marshal gives (TestAppendReceiveResult, FuzzAppendReceiveResult).
type receiveResult struct {
	Messages []wireMessage `json:",omitempty"`
}

func (r *receiveResult) appendJSON(b []byte) []byte {
	n := 16
	for i := range r.Messages {
		m := &r.Messages[i]
		n += 256 + len(m.Body) + len(m.ReceiptHandle) + len(m.MessageId)
	}
	b = slices.Grow(b, n)
	b = append(b, '{')
	if len(r.Messages) > 0 {
		b = append(b, `"Messages":[`...)
		for i := range r.Messages {
			if i > 0 {
				b = append(b, ',')
			}
			b = r.Messages[i].appendJSON(b)
		}
		b = append(b, ']')
	}
	return append(b, '}')
}

// appendJSON encodes m as json.Marshal does: fields in declaration order,
// empty optional ones left out, map keys sorted, []byte as base64.
func (m *wireMessage) appendJSON(b []byte) []byte {
	b = append(b, `{"MessageId":`...)
	b = appendJSONString(b, m.MessageId)
	b = append(b, `,"ReceiptHandle":`...)
	b = appendJSONString(b, m.ReceiptHandle)
	b = append(b, `,"MD5OfBody":`...)
	b = appendJSONString(b, m.MD5OfBody)
	b = append(b, `,"Body":`...)
	b = appendJSONString(b, m.Body)
	if len(m.Attributes) > 0 {
		b = append(b, `,"Attributes":{`...)
		for i, k := range sortedKeys(m.Attributes) {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, k)
			b = append(b, ':')
			b = appendJSONString(b, m.Attributes[k])
		}
		b = append(b, '}')
	}
	if m.MD5OfMessageAttributes != "" {
		b = append(b, `,"MD5OfMessageAttributes":`...)
		b = appendJSONString(b, m.MD5OfMessageAttributes)
	}
	if len(m.MessageAttributes) > 0 {
		b = append(b, `,"MessageAttributes":{`...)
		for i, k := range sortedKeys(m.MessageAttributes) {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, k)
			b = append(b, ':')
			b = m.MessageAttributes[k].appendJSON(b)
		}
		b = append(b, '}')
	}
	return append(b, '}')
}

func (a attributeValue) appendJSON(b []byte) []byte {
	b = append(b, `{"DataType":`...)
	b = appendJSONString(b, a.DataType)
	if a.StringValue != "" {
		b = append(b, `,"StringValue":`...)
		b = appendJSONString(b, a.StringValue)
	}
	if len(a.BinaryValue) > 0 {
		b = append(b, `,"BinaryValue":`...)
		b = appendBase64(b, a.BinaryValue)
	}
	if len(a.StringListValues) > 0 {
		b = append(b, `,"StringListValues":[`...)
		for i, s := range a.StringListValues {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, s)
		}
		b = append(b, ']')
	}
	if len(a.BinaryListValues) > 0 {
		b = append(b, `,"BinaryListValues":[`...)
		for i, v := range a.BinaryListValues {
			if i > 0 {
				b = append(b, ',')
			}
			if v == nil {
				b = append(b, "null"...)
			} else {
				b = appendBase64(b, v)
			}
		}
		b = append(b, ']')
	}
	return append(b, '}')
}

// appendBase64 appends v as encoding/json encodes a []byte.
func appendBase64(b, v []byte) []byte {
	b = append(b, '"')
	b = base64.StdEncoding.AppendEncode(b, v)
	return append(b, '"')
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
