package part

import (
	"os/exec"
	"strings"
	"testing"
)

// The parts the daemon runs. A package belongs to a part when its import
// path is the part's or below it.
var parts = []string{
	"bartleby/internal/web",
	"bartleby/internal/mail",
	"bartleby/internal/sshd",
	"bartleby/internal/watch",
	"bartleby/internal/admin",
}

// Only these may import several parts: they start them.
var assemblers = []string{
	"bartleby/cmd/",
	"bartleby/internal/daemon",
	"bartleby/e2e",
	"bartleby/bench/",
}

// imports lists every package of the module with its direct imports
// (tests included) that belong to the module.
func imports(t *testing.T) map[string][]string {
	t.Helper()
	out, err := exec.Command("go", "list", "-f",
		`{{.ImportPath}}{{range .Imports}} {{.}}{{end}}{{range .TestImports}} {{.}}{{end}}`,
		"bartleby/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	graph := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		for _, imp := range fields[1:] {
			if strings.HasPrefix(imp, "bartleby/") {
				graph[fields[0]] = append(graph[fields[0]], imp)
			}
		}
		if _, ok := graph[fields[0]]; !ok {
			graph[fields[0]] = nil
		}
	}
	return graph
}

func partOf(pkg string) string {
	for _, p := range parts {
		if pkg == p || strings.HasPrefix(pkg, p+"/") {
			return p
		}
	}
	return ""
}

func isAssembler(pkg string) bool {
	for _, a := range assemblers {
		if pkg == a || strings.HasPrefix(pkg, strings.TrimSuffix(a, "/")+"/") {
			return true
		}
	}
	return false
}

// TestPartsDoNotImportParts keeps the data flow one way: a part never reaches
// into another part, and what parts share lives below all of them.
func TestPartsDoNotImportParts(t *testing.T) {
	graph := imports(t)
	if len(graph) < 20 {
		t.Fatalf("go list found only %d packages: %v", len(graph), graph)
	}
	for pkg, deps := range graph {
		if isAssembler(pkg) {
			continue
		}
		own := partOf(pkg)
		for _, dep := range deps {
			if other := partOf(dep); other != "" && other != own {
				if own == "" {
					t.Errorf("%s is below the parts but imports the part %s", pkg, dep)
				} else {
					t.Errorf("part %s imports %s of another part", pkg, dep)
				}
			}
		}
	}
}

// TestConfigIsALeaf: the config package knows TOML and the schema; each part
// compiles its own section, so config imports nothing of bartleby's.
func TestConfigIsALeaf(t *testing.T) {
	graph := imports(t)
	deps, ok := graph["bartleby/internal/config"]
	if !ok {
		t.Fatal("go list did not list bartleby/internal/config")
	}
	for _, dep := range deps {
		t.Errorf("bartleby/internal/config imports %s", dep)
	}
}
