package recipe

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// ServiceType is Curator's ServiceType: how an instance's node lives.
type ServiceType string

// Service types. DYNAMIC instances are ephemeral nodes, gone with the registering session;
// DYNAMIC_SEQUENTIAL ones ephemeral sequential nodes; the others persistent nodes.
const (
	ServiceDynamic           ServiceType = "DYNAMIC"
	ServiceStatic            ServiceType = "STATIC"
	ServicePermanent         ServiceType = "PERMANENT"
	ServiceDynamicSequential ServiceType = "DYNAMIC_SEQUENTIAL"
)

// URIPart is one token of a URISpec: literal text, or the name of a variable.
type URIPart struct {
	Value    string `json:"value"`
	Variable bool   `json:"variable"`
}

// URISpec is Curator's UriSpec: a URI template such as "{scheme}://{address}:{port}".
type URISpec struct {
	Parts []URIPart `json:"parts"`
}

// ParseURISpec parses a template as Curator's UriSpec(String) does: text in braces is a
// variable (trimmed), the rest literal.
func ParseURISpec(raw string) (*URISpec, error) {
	spec := &URISpec{Parts: []URIPart{}}
	inside := false
	var tok strings.Builder
	flush := func() {
		if tok.Len() == 0 {
			return
		}
		v := tok.String()
		if inside {
			v = strings.TrimSpace(v)
		}
		spec.Parts = append(spec.Parts, URIPart{Value: v, Variable: inside})
		tok.Reset()
	}
	for _, r := range raw {
		switch r {
		case '{':
			if inside {
				return nil, fmt.Errorf("recipe: uri spec %q: { is not allowed inside of a variable specification", raw)
			}
			flush()
			inside = true
		case '}':
			if !inside {
				return nil, fmt.Errorf("recipe: uri spec %q: } must be preceded by {", raw)
			}
			flush()
			inside = false
		default:
			tok.WriteRune(r)
		}
	}
	if inside {
		return nil, fmt.Errorf("recipe: uri spec %q: final variable not closed - expected }", raw)
	}
	flush()
	return spec, nil
}

// Build fills the template in as Curator's UriSpec.build(instance, variables): the
// variables scheme ("http", or "https" when the instance has an SSL port), name, id,
// address, port, ssl-port, registration-time-utc, service-type, open-brace and
// close-brace, overridden by vars. Unknown variables are left out.
func (u *URISpec) Build(inst *ServiceInstance, vars map[string]string) string {
	local := map[string]string{"open-brace": "{", "close-brace": "}", "scheme": "http"}
	if inst != nil {
		intStr := func(p *int) string {
			if p == nil {
				return ""
			}
			return strconv.Itoa(*p)
		}
		local["name"] = inst.Name
		local["id"] = inst.ID
		local["address"] = inst.Address
		local["port"] = intStr(inst.Port)
		local["ssl-port"] = intStr(inst.SSLPort)
		local["registration-time-utc"] = strconv.FormatInt(inst.RegistrationTimeUTC, 10)
		local["service-type"] = strings.ToLower(string(inst.ServiceType))
		if inst.SSLPort != nil {
			local["scheme"] = "https"
		}
	}
	for k, v := range vars {
		local[k] = v
	}
	var b strings.Builder
	for _, p := range u.Parts {
		if !p.Variable {
			b.WriteString(p.Value)
		} else if v, ok := local[p.Value]; ok {
			b.WriteString(v)
		}
	}
	return b.String()
}

// ServiceInstance is Curator's ServiceInstance, the data of an instance's node. Nullable
// fields are pointers (Port, SSLPort, URISpec) or use "" for null (Address).
type ServiceInstance struct {
	Name    string
	ID      string
	Address string
	Port    *int
	SSLPort *int
	// Payload is the payload's JSON, as Jackson writes it: a JSON string for a Java String
	// payload, an object with an "@class" member for other classes (Curator annotates the
	// payload with @JsonTypeInfo(use=CLASS)). Nil is null.
	Payload             json.RawMessage
	RegistrationTimeUTC int64 // ms since the epoch
	ServiceType         ServiceType
	URISpec             *URISpec
	// Enabled is false for an instance taken out of service. Curator's default serializer
	// does not write it (see DiscoveryOptions.WriteEnabled); a node without it is enabled.
	Enabled bool
}

// NewServiceInstance returns an enabled DYNAMIC instance of the service name with a random
// id, registered now, as Curator's ServiceInstanceBuilder does. port 0 means none.
func NewServiceInstance(name, address string, port int) ServiceInstance {
	inst := ServiceInstance{
		Name:                name,
		ID:                  newUUID(),
		Address:             address,
		RegistrationTimeUTC: time.Now().UnixMilli(),
		ServiceType:         ServiceDynamic,
		Enabled:             true,
	}
	if port != 0 {
		inst.Port = &port
	}
	return inst
}

// MarshalCurator encodes the instance exactly as Curator's JsonInstanceSerializer (Jackson)
// does: the fields in ServiceInstance's order, compact, nulls written, and "enabled" last
// only when withEnabled (JsonInstanceSerializer(cls, false); the default serializer runs in
// compatible mode and leaves it out).
func (inst *ServiceInstance) MarshalCurator(withEnabled bool) []byte {
	var b bytes.Buffer
	b.WriteString(`{"name":`)
	jacksonString(&b, inst.Name)
	b.WriteString(`,"id":`)
	jacksonString(&b, inst.ID)
	b.WriteString(`,"address":`)
	if inst.Address == "" {
		b.WriteString("null")
	} else {
		jacksonString(&b, inst.Address)
	}
	b.WriteString(`,"port":`)
	jacksonInt(&b, inst.Port)
	b.WriteString(`,"sslPort":`)
	jacksonInt(&b, inst.SSLPort)
	b.WriteString(`,"payload":`)
	if len(inst.Payload) == 0 {
		b.WriteString("null")
	} else {
		b.Write(inst.Payload)
	}
	b.WriteString(`,"registrationTimeUTC":`)
	b.WriteString(strconv.FormatInt(inst.RegistrationTimeUTC, 10))
	b.WriteString(`,"serviceType":`)
	st := inst.ServiceType
	if st == "" {
		st = ServiceDynamic
	}
	jacksonString(&b, string(st))
	b.WriteString(`,"uriSpec":`)
	if inst.URISpec == nil {
		b.WriteString("null")
	} else {
		b.WriteString(`{"parts":[`)
		for i, p := range inst.URISpec.Parts {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(`{"value":`)
			jacksonString(&b, p.Value)
			b.WriteString(`,"variable":`)
			b.WriteString(strconv.FormatBool(p.Variable))
			b.WriteByte('}')
		}
		b.WriteString("]}")
	}
	if withEnabled {
		b.WriteString(`,"enabled":`)
		b.WriteString(strconv.FormatBool(inst.Enabled))
	}
	b.WriteByte('}')
	return b.Bytes()
}

func jacksonInt(b *bytes.Buffer, p *int) {
	if p == nil {
		b.WriteString("null")
		return
	}
	b.WriteString(strconv.Itoa(*p))
}

// jacksonString writes s as a JSON string the way Jackson's generator does: only '"', '\\'
// and control characters are escaped (\b \t \n \f \r, else \u00XX in upper case); the rest,
// non-ASCII included, is written as UTF-8.
func jacksonString(b *bytes.Buffer, s string) {
	const hex = "0123456789ABCDEF"
	b.WriteByte('"')
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			if c < utf8.RuneSelf {
				b.WriteByte(c)
				i++
				continue
			}
			r, n := utf8.DecodeRuneInString(s[i:])
			b.WriteRune(r)
			i += n
			continue
		}
		switch c {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\b':
			b.WriteString(`\b`)
		case '\t':
			b.WriteString(`\t`)
		case '\n':
			b.WriteString(`\n`)
		case '\f':
			b.WriteString(`\f`)
		case '\r':
			b.WriteString(`\r`)
		default:
			b.WriteString(`\u00`)
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&0xf])
		}
		i++
	}
	b.WriteByte('"')
}

// wireInstance is the JSON of a ServiceInstance as decoded: every field optional, as
// Jackson's defaults for a missing one (ServiceInstance's no-argument constructor).
type wireInstance struct {
	Name                *string         `json:"name"`
	ID                  *string         `json:"id"`
	Address             *string         `json:"address"`
	Port                *int            `json:"port"`
	SSLPort             *int            `json:"sslPort"`
	Payload             json.RawMessage `json:"payload"`
	RegistrationTimeUTC int64           `json:"registrationTimeUTC"`
	ServiceType         *string         `json:"serviceType"`
	URISpec             *URISpec        `json:"uriSpec"`
	Enabled             *bool           `json:"enabled"`
}

// UnmarshalCurator decodes an instance written by Curator's JsonInstanceSerializer (either
// mode) or by MarshalCurator. Unknown fields are ignored, as Curator's serializer does.
func UnmarshalCurator(data []byte) (ServiceInstance, error) {
	var w wireInstance
	if err := json.Unmarshal(data, &w); err != nil {
		return ServiceInstance{}, fmt.Errorf("%w: service instance: %v", ErrCorrupt, err)
	}
	inst := ServiceInstance{
		Port:                w.Port,
		SSLPort:             w.SSLPort,
		RegistrationTimeUTC: w.RegistrationTimeUTC,
		ServiceType:         ServiceDynamic,
		URISpec:             w.URISpec,
		Enabled:             true,
	}
	if w.Name != nil {
		inst.Name = *w.Name
	}
	if w.ID != nil {
		inst.ID = *w.ID
	}
	if w.Address != nil {
		inst.Address = *w.Address
	}
	if len(w.Payload) > 0 && string(w.Payload) != "null" {
		inst.Payload = w.Payload
	}
	if w.ServiceType != nil {
		inst.ServiceType = ServiceType(*w.ServiceType)
	}
	if w.Enabled != nil {
		inst.Enabled = *w.Enabled
	}
	return inst, nil
}
