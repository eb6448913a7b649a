package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// FuzzParse checks that Parse never panics, that it fails only with *Error,
// and that Format of a parsed configuration parses back to the same one
// (apart from the super digest, which Format never prints).
// Seeds: every testdata/*.cfg (zoo_sample.cfg is Debian's
// /etc/zookeeper/conf_example/zoo.cfg) and a few variants.
func FuzzParse(f *testing.F) {
	files, err := filepath.Glob("testdata/*.cfg")
	if err != nil || len(files) == 0 {
		f.Fatalf("no seeds in testdata: %v", err)
	}
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(data))
	}
	for _, s := range []string{
		"",
		"dataDir=/d\nclientPort=2181\n",
		"dataDir=/d\nserver.1=h:2888:3888;2181\n",
		"dataDir=/d\ninitLimit=5\nsyncLimit=2\nserver.1=a:1:2\nserver.2=[::1]:1:2:observer;[::1]:2181\nserver.3=c:1:2;0.0.0.0:2181\nversion=10\n",
		"dataDir=/d\nclientPort=1\nmultiAddress.enabled=true\nserver.1=a:1:2|b:1:2;3\n",
		"dataDir=/d\\\n  x\nclientPort=1\n4lw.commands.whitelist=ruok,\\u0041\nsnapCount=0x10\n",
		"dataDir=/d\nclientPort=1\nminSessionTimeout=-1\nmaxSessionTimeout=1\ntickTime=1\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		c, err := Parse(strings.NewReader(text), "fuzz.cfg")
		if err != nil {
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("error %v is a %T", err, err)
			}
			_ = err.Error()
			return
		}
		out := c.Format()
		c2, err := Parse(strings.NewReader(out), "fuzz.cfg")
		if err != nil {
			t.Fatalf("Format output does not parse: %v\n%s", err, out)
		}
		for _, c := range []*Config{c, c2} {
			// Format leaves out the secret and the lists that are only logged.
			c.SuperDigest = ""
			c.Props, c.Ignored, c.Unknown, c.Unsupported, c.Warnings = nil, nil, nil, nil, nil
		}
		if !reflect.DeepEqual(c, c2) {
			t.Fatalf("Format does not round-trip:\n%s\nparsed back as\n%s", out, c2.Format())
		}
		_ = c.DynamicConfig()
	})
}
