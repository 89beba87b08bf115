package notify

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"io"

	"sluice/internal/event"
)

// Namespace is S3's XML namespace, on the root element of every
// configuration GET returns.
const Namespace = "http://s3.amazonaws.com/doc/2006-03-01/"

// Limits that bound a configuration document. AWS documents none of these
// numbers (aws-facts.md section 2: unconfirmed); they are generous enough
// for any real bucket and small enough that validation (quadratic in the
// number of rules for the overlap check) stays cheap.
const (
	MaxBodyBytes       = 1 << 20 // a PUT ?notification body
	MaxRules           = 1000    // Topic + Queue + CloudFunction configurations
	MaxEventsPerRule   = 100
	MaxFilterValueSize = 1024 // bytes, as S3-compatible servers document
)

// wire types: what the SDKs put on the wire (aws-wire.md section 5.5).
// Pointers tell an absent element from an empty one.
type wireConfig struct {
	XMLName     xml.Name
	Topics      []wireRule `xml:"TopicConfiguration"`
	Queues      []wireRule `xml:"QueueConfiguration"`
	Functions   []wireRule `xml:"CloudFunctionConfiguration"`
	EventBridge []struct{} `xml:"EventBridgeConfiguration"`
}

type wireRule struct {
	ID            *string      `xml:"Id"`
	Topic         *string      `xml:"Topic"`
	Queue         *string      `xml:"Queue"`
	CloudFunction *string      `xml:"CloudFunction"`
	Events        []string     `xml:"Event"`
	Filters       []wireFilter `xml:"Filter"`
	// InvocationRole belongs to the legacy PutBucketNotification body; it
	// is accepted and dropped (Sluice has no roles to assume for S3).
	InvocationRole *string `xml:"InvocationRole"`
}

type wireFilter struct {
	S3Keys []struct {
		Rules []struct {
			Name  *string `xml:"Name"`
			Value *string `xml:"Value"`
		} `xml:"FilterRule"`
	} `xml:"S3Key"`
}

// DecodeOptions configures Decode.
type DecodeOptions struct {
	// NewID returns the Id of a rule that has none. Nil means NewID.
	NewID func() string
}

// NewID returns an Id in the form S3 generates: the standard base64 of a
// random (version 4) UUID in its lower-case text form, e.g.
// "YjVkM2Y0YmUtNGI3NC00ZjQyLWEwNGItNDIyYWUxY2I0N2M4" (the S3 API
// reference's GET Bucket notification example, which decodes to
// "b5d3f4be-4b74-4f42-a04b-422ae1cb47c8").
func NewID() string {
	var u [16]byte
	_, _ = rand.Read(u[:]) // crypto/rand.Read never fails (Go 1.24+)
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	s := fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
	return base64.StdEncoding.EncodeToString([]byte(s))
}

// Decode parses a PUT ?notification body. It checks only the XML: the body
// must be well-formed, at most MaxBodyBytes, have a NotificationConfiguration
// root (in S3's namespace or none), and every configuration must have its
// destination element, at least one Event, at most one Filter holding one
// S3Key, and a Name in every FilterRule; anything else is MalformedXML.
// Event names, filter names, ARNs, overlaps and destinations are Validate's
// job, in that order. Rules without an Id get one from opts.NewID. Unknown
// elements are ignored, as encoding/xml does.
func Decode(body []byte, opts DecodeOptions) (*Configuration, error) {
	if len(body) > MaxBodyBytes {
		return nil, malformed()
	}
	var w wireConfig
	dec := xml.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&w); err != nil {
		return nil, malformed()
	}
	// Nothing but whitespace, comments or processing instructions may
	// follow the root element.
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, malformed()
		}
		switch t := tok.(type) {
		case xml.CharData:
			if len(bytes.TrimSpace(t)) != 0 {
				return nil, malformed()
			}
		case xml.Comment, xml.ProcInst:
		default:
			return nil, malformed()
		}
	}
	if w.XMLName.Local != "NotificationConfiguration" || (w.XMLName.Space != "" && w.XMLName.Space != Namespace) {
		return nil, malformed()
	}
	if len(w.EventBridge) > 1 {
		return nil, malformed()
	}
	newID := opts.NewID
	if newID == nil {
		newID = NewID
	}
	cfg := &Configuration{EventBridge: len(w.EventBridge) == 1}
	if n := len(w.Topics) + len(w.Queues) + len(w.Functions); n > MaxRules {
		return nil, invalid(fmt.Sprintf("%s%d", msgTooManyRules, MaxRules), "", "")
	}
	for _, group := range []struct {
		kind  Kind
		rules []wireRule
	}{{event.Topic, w.Topics}, {event.Queue, w.Queues}, {event.Function, w.Functions}} {
		for _, wr := range group.rules {
			r, err := wr.rule(group.kind, newID)
			if err != nil {
				return nil, err
			}
			cfg.Rules = append(cfg.Rules, r)
		}
	}
	return cfg, nil
}

func (wr *wireRule) rule(kind Kind, newID func() string) (Rule, error) {
	var dest *string
	var others []*string
	switch kind {
	case event.Topic:
		dest, others = wr.Topic, []*string{wr.Queue, wr.CloudFunction}
	case event.Queue:
		dest, others = wr.Queue, []*string{wr.Topic, wr.CloudFunction}
	default:
		dest, others = wr.CloudFunction, []*string{wr.Topic, wr.Queue}
	}
	if dest == nil || len(wr.Events) == 0 || len(wr.Filters) > 1 {
		return Rule{}, malformed()
	}
	for _, o := range others {
		if o != nil { // a Queue element inside a TopicConfiguration
			return Rule{}, malformed()
		}
	}
	if len(wr.Events) > MaxEventsPerRule {
		return Rule{}, invalid(fmt.Sprintf("%s%d", msgTooManyEvents, MaxEventsPerRule), "", "")
	}
	r := Rule{Kind: kind, ARN: *dest}
	if wr.ID != nil && *wr.ID != "" {
		r.ID = *wr.ID
	} else {
		r.ID = newID()
	}
	for _, e := range wr.Events {
		r.Events = append(r.Events, event.Name(e))
	}
	if len(wr.Filters) == 1 {
		f := wr.Filters[0]
		if len(f.S3Keys) != 1 {
			return Rule{}, malformed()
		}
		for _, fr := range f.S3Keys[0].Rules {
			if fr.Name == nil {
				return Rule{}, malformed()
			}
			v := ""
			if fr.Value != nil {
				v = *fr.Value
			}
			r.Filter = append(r.Filter, FilterRule{Name: *fr.Name, Value: v})
		}
	}
	return r, nil
}

// Encode renders c as GET ?notification returns it: the root in S3's
// namespace; TopicConfiguration, QueueConfiguration,
// CloudFunctionConfiguration elements, each Id, destination, Event...,
// Filter (the member order of S3's API model; the order AWS itself uses is
// unconfirmed); then EventBridgeConfiguration. Filter rule names are
// written as Prefix and Suffix. The XML declaration is the edge's to add.
// Decode(Encode(c)) gives back c (after Validate), so the integration can
// store this form.
func Encode(c *Configuration) []byte {
	var b bytes.Buffer
	b.WriteString(`<NotificationConfiguration xmlns="` + Namespace + `">`)
	if c != nil {
		for _, kind := range []Kind{event.Topic, event.Queue, event.Function} {
			for i := range c.Rules {
				r := &c.Rules[i]
				if r.Kind != kind {
					continue
				}
				elem, dest := ruleElements(kind)
				b.WriteString("<" + elem + ">")
				writeElem(&b, "Id", r.ID)
				writeElem(&b, dest, r.ARN)
				for _, e := range r.Events {
					writeElem(&b, "Event", string(e))
				}
				if len(r.Filter) > 0 {
					b.WriteString("<Filter><S3Key>")
					for _, f := range r.Filter {
						b.WriteString("<FilterRule>")
						writeElem(&b, "Name", canonicalFilterName(f.Name))
						writeElem(&b, "Value", f.Value)
						b.WriteString("</FilterRule>")
					}
					b.WriteString("</S3Key></Filter>")
				}
				b.WriteString("</" + elem + ">")
			}
		}
		if c.EventBridge {
			b.WriteString("<EventBridgeConfiguration></EventBridgeConfiguration>")
		}
	}
	b.WriteString("</NotificationConfiguration>")
	return b.Bytes()
}

func ruleElements(k Kind) (elem, dest string) {
	switch k {
	case event.Topic:
		return "TopicConfiguration", "Topic"
	case event.Queue:
		return "QueueConfiguration", "Queue"
	default:
		return "CloudFunctionConfiguration", "CloudFunction"
	}
}

// argumentName is the element name S3 reports in ArgumentName for a bad
// destination ARN.
func argumentName(k Kind) string {
	_, dest := ruleElements(k)
	return dest
}

func writeElem(b *bytes.Buffer, name, value string) {
	b.WriteString("<" + name + ">")
	_ = xml.EscapeText(b, []byte(value)) // writes to a bytes.Buffer cannot fail
	b.WriteString("</" + name + ">")
}
