package config

import (
	"reflect"
	"testing"
)

func TestParseProperties(t *testing.T) {
	type kv struct {
		k, v string
		line int
	}
	tests := []struct {
		name, text string
		want       []kv
	}{
		{"equals", "a=b", []kv{{"a", "b", 1}}},
		{"colon", "a:b", []kv{{"a", "b", 1}}},
		{"blank separator", "a b", []kv{{"a", "b", 1}}},
		{"blanks around separator", "  a  =  b  ", []kv{{"a", "b", 1}}},
		{"first separator only", "server.1=h:2888:3888;2181", []kv{{"server.1", "h:2888:3888;2181", 1}}},
		{"empty value", "a=", []kv{{"a", "", 1}}},
		{"key only", "a", []kv{{"a", "", 1}}},
		{"comments and blank lines", "# c\n! c\n\n  # indented\na=1", []kv{{"a", "1", 5}}},
		{"crlf and cr", "a=1\r\nb=2\rc=3", []kv{{"a", "1", 1}, {"b", "2", 2}, {"c", "3", 3}}},
		{"continuation", "a=one \\\n    two\nb=3", []kv{{"a", "one two", 1}, {"b", "3", 3}}},
		{"continuation of a comment does not happen", "# x \\\na=1", []kv{{"a", "1", 2}}},
		{"escaped backslash is not a continuation", "a=c:\\\\\nb=2", []kv{{"a", "c:\\", 1}, {"b", "2", 2}}},
		{"backslash at end of file", "a=x\\", []kv{{"a", "x", 1}}},
		{"escaped separator in key", "a\\=b=c", []kv{{"a=b", "c", 1}}},
		{"escapes", `a=<\t\n\x\u0041\u00e9>`, []kv{{"a", "<\t\nxA\u00e9>", 1}}},
		{"escaped blanks are trimmed like String.trim", `a=\t x\n`, []kv{{"a", "x", 1}}},
		{"surrogate pair", `a=\ud83d\ude00`, []kv{{"a", "\U0001F600", 1}}},
		{"duplicates kept in order", "a=1\na=2", []kv{{"a", "1", 1}, {"a", "2", 2}}},
		{"value keeps inner blanks", "a = x  y ", []kv{{"a", "x  y", 1}}},
		{"second separator is part of value", "a==b", []kv{{"a", "=b", 1}}},
		{"blank then separator", "a  : b", []kv{{"a", "b", 1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			es, err := parseProperties(tt.text, "f")
			if err != nil {
				t.Fatal(err)
			}
			var got []kv
			for _, e := range es {
				got = append(got, kv{e.key, e.value, e.line})
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestParsePropertiesMalformedUnicode(t *testing.T) {
	_, err := parseProperties("a=1\nb=\\u12x4", "zoo.cfg")
	if err == nil || err.Error() != `config: zoo.cfg:2: syntax error: malformed \uxxxx encoding` {
		t.Fatalf("err = %v", err)
	}
}

func TestJVMProperties(t *testing.T) {
	tests := []struct {
		flags string
		want  [][2]string
	}{
		{"", nil},
		{"-Xmx512m -server", nil},
		{"-Djute.maxbuffer=4194304", [][2]string{{"jute.maxbuffer", "4194304"}}},
		{"-Xmx1g  -Da=1\t-Db=2\n-Dc", [][2]string{{"a", "1"}, {"b", "2"}, {"c", ""}}},
		{`-Dzookeeper.DigestAuthenticationProvider.superDigest=super:D/InIHSb7yEEbrWz8b9l71RjZJU=`,
			[][2]string{{"zookeeper.DigestAuthenticationProvider.superDigest", "super:D/InIHSb7yEEbrWz8b9l71RjZJU="}}},
		{`-Da="x y" -Db='p q' "-Dc=r s"`, [][2]string{{"a", "x y"}, {"b", "p q"}, {"c", "r s"}}},
		{`-Da="say \"hi\"" -Db=x\ y`, [][2]string{{"a", `say "hi"`}, {"b", "x y"}}},
		{`-Dzookeeper.4lw.commands.whitelist=*`, [][2]string{{"zookeeper.4lw.commands.whitelist", "*"}}},
		{`-D=x -Dunterminated="a b`, [][2]string{{"unterminated", "a b"}}},
		{`-Dk=a=b`, [][2]string{{"k", "a=b"}}},
	}
	for _, tt := range tests {
		var got [][2]string
		for _, e := range jvmProperties(tt.flags, "JVMFLAGS") {
			if !e.jvm || e.src != "JVMFLAGS" {
				t.Errorf("%q: entry %+v not marked as from JVMFLAGS", tt.flags, e)
			}
			got = append(got, [2]string{e.key, e.value})
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("jvmProperties(%q) = %q, want %q", tt.flags, got, tt.want)
		}
	}
}
