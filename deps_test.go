package paddock_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImportArrows enforces the package dependencies of docs/architecture.md.
func TestImportArrows(t *testing.T) {
	const mod = "github.com/paddock/paddock/"
	rules := map[string]struct {
		allowed   []string // module packages it may import (prefix match); nil = no rule
		forbidden []string
		stdlib    bool // stdlib only (plus the allowed module packages)
	}{
		"internal/proto":   {stdlib: true},
		"internal/acl":     {allowed: []string{"internal/proto"}, stdlib: true},
		"internal/tree":    {allowed: []string{"internal/proto", "internal/acl"}, stdlib: true},
		"internal/watch":   {allowed: []string{"internal/proto"}, stdlib: true},
		"internal/session": {stdlib: true},
		"internal/config":  {stdlib: true},
		"client":           {forbidden: []string{"internal/server", "internal/tree", "internal/raftnode"}},
		"recipe":           {forbidden: []string{"internal/server", "internal/tree", "internal/raftnode"}},
		"internal/zkcli":   {forbidden: []string{"internal/server", "internal/tree", "internal/raftnode"}},
		// Self-assembly talks to the ensemble as a client does (reconfig through client) and
		// sees the running server only through its Member interface.
		"internal/assemble": {forbidden: []string{"internal/server", "internal/tree", "internal/raftnode", "internal/cli"}},
	}
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Imports ","}}`, "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, imports, _ := strings.Cut(line, " ")
		rel := strings.TrimPrefix(pkg, mod)
		for name, r := range rules {
			if rel != name && !strings.HasPrefix(rel, name+"/") {
				continue
			}
			for _, imp := range strings.Split(imports, ",") {
				if imp == "" {
					continue
				}
				impRel, inModule := strings.CutPrefix(imp, mod)
				for _, f := range r.forbidden {
					if inModule && (impRel == f || strings.HasPrefix(impRel, f+"/")) {
						t.Errorf("%s imports %s, which it must not", rel, imp)
					}
				}
				if !r.stdlib {
					continue
				}
				if inModule {
					ok := false
					for _, a := range r.allowed {
						if impRel == a {
							ok = true
						}
					}
					if !ok {
						t.Errorf("%s imports %s; allowed: %v", rel, imp, r.allowed)
					}
				} else if strings.Contains(strings.Split(imp, "/")[0], ".") {
					t.Errorf("%s imports %s; it must use the standard library only", rel, imp)
				}
			}
		}
	}
}
