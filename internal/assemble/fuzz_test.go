package assemble

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/net/dns/dnsmessage"
)

// The decoders of what reaches a member from outside: the PADDOCK_DISCOVER and id settings,
// /assemble answers from the network, assembly.json from a volume, DNS answers.

func FuzzParseSource(f *testing.F) {
	for _, s := range []string{"dns:zk", "dns:tasks.zk:8080", "seeds:a:8080,b,[::1]:9", "seeds:", "dns:", "zk", "dns:a:b:c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		src, err := ParseSource(s)
		if err != nil {
			return
		}
		// What parses prints as a setting that parses to the same thing.
		again, err := ParseSource(src.String())
		if err != nil {
			t.Fatalf("%q parsed as %v, whose String %q does not parse: %v", s, src, src.String(), err)
		}
		if again.String() != src.String() {
			t.Fatalf("%q: %q then %q", s, src.String(), again.String())
		}
	})
}

func FuzzIDs(f *testing.F) {
	for _, s := range []string{"1", "255", "0", "-1", "zk-0", "paddock-12", "proj-zk-3", "proj_zk_3", "x-99999999999999999999", "a--1"} {
		f.Add(s, 0)
	}
	f.Fuzz(func(t *testing.T, s string, start int) {
		if id, err := ParseID(s); err == nil && (id < 1 || id > MaxID) {
			t.Fatalf("ParseID(%q) = %d, outside 1..%d", s, id, MaxID)
		}
		if id, ok := OrdinalID(s, start); ok && (id < 1 || id > MaxID) {
			t.Fatalf("OrdinalID(%q, %d) = %d, outside 1..%d", s, start, id, MaxID)
		}
		if id, ok := ContainerNumber(s); ok && (id < 1 || id > MaxID) {
			t.Fatalf("ContainerNumber(%q) = %d, outside 1..%d", s, id, MaxID)
		}
	})
}

func FuzzDecodeInfo(f *testing.F) {
	good, _ := json.Marshal(Info{ID: 2, Instance: "i2", Host: "zk-1", PeerPort: 2888, ClientPort: 2181, Expect: 3, Phase: PhaseWaiting,
		Founders: []Founder{{ID: 1, Instance: "i1", Line: "zk-0:2888:3888:participant;0.0.0.0:2181"}}})
	secret := []byte("s3cret")
	f.Add(good, answerMAC(secret, "c", good), "c")
	f.Add(good, "", "c")
	f.Add([]byte(`{"id":-7,"instance":"x","founders":[{"id":1e99}]}`), "", "")
	f.Add([]byte(`nul`), "", "")
	f.Fuzz(func(t *testing.T, body []byte, mac, challenge string) {
		// Unsigned: decodes or says why.
		if in, err := decodeInfo(body, mac, challenge, nil); err == nil && in.Instance == "" {
			t.Fatal("an answer without an instance was accepted")
		}
		// Signed: accepted only with the right MAC.
		_, err := decodeInfo(body, mac, challenge, secret)
		if err == nil && mac != answerMAC(secret, challenge, body) {
			t.Fatal("an answer with a wrong MAC was accepted")
		}
	})
}

func FuzzReadState(f *testing.F) {
	good, _ := json.Marshal(State{Format: 1, ID: 3, Instance: "abc", Cluster: "paddock/0123456789abcdef"})
	f.Add(good)
	f.Add([]byte(`{"format":1,"id":0,"instance":""}`))
	f.Add([]byte(`{"id":300,"instance":"x"}`))
	f.Add([]byte("\x00\xff"))
	f.Fuzz(func(t *testing.T, b []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, StateFile), b, 0o600); err != nil {
			t.Fatal(err)
		}
		st, err := ReadState(dir)
		if err != nil {
			if !strings.Contains(err.Error(), StateFile) {
				t.Fatalf("the error does not name the file: %v", err)
			}
			return
		}
		if st == nil || st.ID < 1 || st.ID > MaxID || st.Instance == "" {
			t.Fatalf("accepted a state without a valid id and instance: %+v", st)
		}
		// What was accepted survives a write and a read.
		if err := WriteState(dir, st); err != nil {
			t.Fatal(err)
		}
		again, err := ReadState(dir)
		if err != nil || again.ID != st.ID || again.Instance != st.Instance || again.Cluster != st.Cluster {
			t.Fatalf("round trip: %+v, %v; want %+v", again, err, st)
		}
	})
}

func FuzzPTRNames(f *testing.F) {
	name := dnsmessage.MustNewName("2.0.17.172.in-addr.arpa.")
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: 7, Response: true})
	b.EnableCompression()
	b.StartQuestions()
	b.Question(dnsmessage.Question{Name: name, Type: dnsmessage.TypePTR, Class: dnsmessage.ClassINET})
	b.StartAnswers()
	b.PTRResource(dnsmessage.ResourceHeader{Name: name, Class: dnsmessage.ClassINET},
		dnsmessage.PTRResource{PTR: dnsmessage.MustNewName("proj-zk-2.proj_default.")})
	pkt, err := b.Finish()
	if err != nil {
		f.Fatal(err)
	}
	if names, ok := ptrNames(pkt, 7); !ok || len(names) != 1 || names[0] != "proj-zk-2.proj_default" {
		f.Fatalf("ptrNames of a good answer: %v %v", names, ok)
	}
	if _, ok := ptrNames(pkt, 8); ok {
		f.Fatal("an answer to another query id was taken")
	}
	f.Add(pkt, uint16(7))
	f.Add(pkt[:len(pkt)/2], uint16(7))
	f.Fuzz(func(t *testing.T, pkt []byte, id uint16) {
		names, ok := ptrNames(pkt, id)
		if !ok && names != nil {
			t.Fatal("names from a packet that was not an answer")
		}
		for _, n := range names {
			if strings.HasSuffix(n, ".") {
				t.Fatalf("name %q keeps its trailing dot", n)
			}
		}
	})
}
