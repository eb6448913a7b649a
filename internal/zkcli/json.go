package zkcli

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"unicode/utf8"
)

// object is a JSON object whose keys keep the order they were set in, so that --json output
// reads like the text output. A key set twice keeps its first position.
type object struct {
	keys []string
	vals map[string]any
}

func (o *object) set(k string, v any) {
	if o.vals == nil {
		o.vals = map[string]any{}
	}
	if _, ok := o.vals[k]; !ok {
		o.keys = append(o.keys, k)
	}
	o.vals[k] = v
}

// MarshalJSON writes the keys in order.
func (o *object) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range o.keys {
		if i > 0 {
			b.WriteByte(',')
		}
		kb, _ := json.Marshal(k)
		b.Write(kb)
		b.WriteByte(':')
		vb, err := json.Marshal(o.vals[k])
		if err != nil {
			return nil, err
		}
		b.Write(vb)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// line returns the object as one line of JSON.
func (o *object) line() string {
	b, err := json.Marshal(o)
	if err != nil {
		b, _ = json.Marshal(map[string]string{"error": err.Error()})
	}
	return string(b) + "\n"
}

// setData sets "data" to a node's data: a string, null for null data, or, when the bytes
// are not UTF-8, "dataBase64" instead.
func (o *object) setData(data []byte) {
	switch {
	case data == nil:
		o.set("data", nil)
	case utf8.Valid(data):
		o.set("data", string(data))
	default:
		o.set("dataBase64", base64.StdEncoding.EncodeToString(data))
	}
}
