package policy

import (
	"bytes"
	"encoding/json"
)

// Marshal writes p as compact JSON in the AWS shape, keeping the shapes the
// policy records (a single string stays a string, Statement stays an object
// or an array) and the order of its elements and conditions.
func (p *Policy) Marshal() []byte {
	var b bytes.Buffer
	b.WriteByte('{')
	w := fieldWriter{b: &b}
	if p.Version != "" {
		w.key("Version")
		writeString(&b, p.Version)
	}
	if p.ID != "" {
		w.key("Id")
		writeString(&b, p.ID)
	}
	w.key("Statement")
	if p.SingleStatement && len(p.Statements) == 1 {
		p.Statements[0].write(&b)
	} else {
		b.WriteByte('[')
		for i := range p.Statements {
			if i > 0 {
				b.WriteByte(',')
			}
			p.Statements[i].write(&b)
		}
		b.WriteByte(']')
	}
	b.WriteByte('}')
	return b.Bytes()
}

// MarshalJSON implements json.Marshaler with Marshal.
func (p *Policy) MarshalJSON() ([]byte, error) { return p.Marshal(), nil }

// Marshal writes one statement as compact JSON, as Lambda AddPermission
// returns it in its Statement field.
func (st Statement) Marshal() []byte {
	var b bytes.Buffer
	st.write(&b)
	return b.Bytes()
}

// MarshalJSON implements json.Marshaler with Marshal.
func (st Statement) MarshalJSON() ([]byte, error) { return st.Marshal(), nil }

func (st Statement) write(b *bytes.Buffer) {
	b.WriteByte('{')
	w := fieldWriter{b: b}
	if st.Sid != "" {
		w.key("Sid")
		writeString(b, st.Sid)
	}
	w.key("Effect")
	writeString(b, string(st.Effect))
	if st.Principal != nil {
		w.key("Principal")
		st.Principal.write(b)
	}
	if st.NotPrincipal != nil {
		w.key("NotPrincipal")
		st.NotPrincipal.write(b)
	}
	for _, f := range []struct {
		name string
		v    Strings
	}{{"Action", st.Action}, {"NotAction", st.NotAction}, {"Resource", st.Resource}, {"NotResource", st.NotResource}} {
		if f.v.Values != nil {
			w.key(f.name)
			f.v.write(b)
		}
	}
	if len(st.Condition) > 0 {
		w.key("Condition")
		writeConditions(b, st.Condition)
	}
	b.WriteByte('}')
}

func (p *Principal) write(b *bytes.Buffer) {
	if p.Any {
		writeString(b, "*")
		return
	}
	b.WriteByte('{')
	w := fieldWriter{b: b}
	for _, f := range []struct {
		name string
		v    Strings
	}{{"AWS", p.AWS}, {"Service", p.Service}, {"Federated", p.Federated}, {"CanonicalUser", p.CanonicalUser}} {
		if f.v.Values != nil {
			w.key(f.name)
			f.v.write(b)
		}
	}
	b.WriteByte('}')
}

func (s Strings) write(b *bytes.Buffer) {
	if len(s.Values) == 1 && !s.Array {
		writeString(b, s.Values[0])
		return
	}
	b.WriteByte('[')
	for i, v := range s.Values {
		if i > 0 {
			b.WriteByte(',')
		}
		writeString(b, v)
	}
	b.WriteByte(']')
}

// writeConditions groups conditions by operator, operators in order of first
// appearance and keys in order within each, which is the order Parse reads.
func writeConditions(b *bytes.Buffer, conds []Condition) {
	b.WriteByte('{')
	done := make([]bool, len(conds))
	first := true
	for i := range conds {
		if done[i] {
			continue
		}
		if !first {
			b.WriteByte(',')
		}
		first = false
		writeString(b, conds[i].Operator)
		b.WriteString(":{")
		n := 0
		for j := i; j < len(conds); j++ {
			if done[j] || conds[j].Operator != conds[i].Operator {
				continue
			}
			done[j] = true
			if n > 0 {
				b.WriteByte(',')
			}
			n++
			writeString(b, conds[j].Key)
			b.WriteByte(':')
			conds[j].writeValues(b)
		}
		b.WriteByte('}')
	}
	b.WriteByte('}')
}

func (c Condition) writeValues(b *bytes.Buffer) {
	one := func(i int) {
		if i < len(c.literal) && c.literal[i] {
			b.WriteString(c.Values[i]) // a number or boolean token as Parse read it
		} else {
			writeString(b, c.Values[i])
		}
	}
	if len(c.Values) == 1 && !c.Array {
		one(0)
		return
	}
	b.WriteByte('[')
	for i := range c.Values {
		if i > 0 {
			b.WriteByte(',')
		}
		one(i)
	}
	b.WriteByte(']')
}

type fieldWriter struct {
	b *bytes.Buffer
	n int
}

func (w *fieldWriter) key(k string) {
	if w.n > 0 {
		w.b.WriteByte(',')
	}
	w.n++
	writeString(w.b, k)
	w.b.WriteByte(':')
}

// writeString writes s as a JSON string without HTML escaping: AWS writes
// '<', '>' and '&' as themselves.
func writeString(b *bytes.Buffer, s string) {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)       // encoding a string cannot fail
	b.Truncate(b.Len() - 1) // Encode appends a newline
}
