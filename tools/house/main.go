// House draws facet's packages as a picture: which program uses which
// package of internal/, which package builds on which, and which need
// cgo (OpenCV, dlib). It prints Markdown with a Mermaid graph (GitHub
// draws it) and a table, from `go list`; docs/house.md is its output,
// and its test fails when that file is out of date.
//
//	go run ./tools/house > docs/house.md   (make house)
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
)

const module = "github.com/boostershot/facet"

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "house:", err)
		os.Exit(1)
	}
}

// pkg is what go list says of one of facet's packages.
type pkg struct {
	ImportPath string
	Name       string
	Imports    []string
	CgoFiles   []string
}

// house is facet's packages (by path relative to the module) and their
// imports among themselves.
type house struct {
	pkgs    map[string]*pkg
	imports map[string][]string // facet's packages only
	cgo     map[string]bool     // uses cgo itself or through gocv
}

func load() (*house, error) {
	cmd := exec.Command("go", "list", "-json", module+"/...")
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("go list: %v\n%s", err, errOut.String())
	}
	h := &house{pkgs: map[string]*pkg{}, imports: map[string][]string{}, cgo: map[string]bool{}}
	dec := json.NewDecoder(&out)
	for dec.More() {
		p := &pkg{}
		if err := dec.Decode(p); err != nil {
			return nil, err
		}
		name := strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, module), "/")
		if !shown(name) {
			continue
		}
		h.pkgs[name] = p
		for _, imp := range p.Imports {
			switch {
			case strings.HasPrefix(imp, module+"/"):
				h.imports[name] = append(h.imports[name], strings.TrimPrefix(imp, module+"/"))
			case strings.HasPrefix(imp, "gocv.io/"):
				h.cgo[name] = true
			}
		}
		if len(p.CgoFiles) > 0 {
			h.cgo[name] = true
		}
	}
	return h, nil
}

// shown: the programs and internal/, not tests, benchmarks or tools.
func shown(name string) bool {
	return name != "" && !strings.HasPrefix(name, "cmdtest") && !strings.HasPrefix(name, "bench") && !strings.HasPrefix(name, "tools")
}

func isProgram(name string) bool { return !strings.HasPrefix(name, "internal/") }

// label is how the picture names a package: facet-NAME for a program,
// the last element for a package of internal/.
func label(name string) string {
	if isProgram(name) {
		return "facet-" + name
	}
	return strings.TrimPrefix(name, "internal/")
}

// reaches reports whether from imports to through another package.
func (h *house) reaches(from, to string, seen map[string]bool) bool {
	for _, next := range h.imports[from] {
		if next == to {
			return true
		}
		if !seen[next] {
			seen[next] = true
			if h.reaches(next, to, seen) {
				return true
			}
		}
	}
	return false
}

// edges are the imports that no longer path implies (the transitive
// reduction), so the picture shows the layers and not every wire.
func (h *house) edges() [][2]string {
	var out [][2]string
	for _, from := range h.sorted() {
		for _, to := range h.imports[from] {
			implied := false
			for _, via := range h.imports[from] {
				if via != to && (via == to || h.reaches(via, to, map[string]bool{})) {
					implied = true
					break
				}
			}
			if !implied {
				out = append(out, [2]string{from, to})
			}
		}
	}
	slices.SortFunc(out, func(a, b [2]string) int { return strings.Compare(a[0]+" "+a[1], b[0]+" "+b[1]) })
	return out
}

func (h *house) sorted() []string {
	var names []string
	for n := range h.pkgs {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// needsCgo reports whether a package, or anything it imports, uses cgo.
func (h *house) needsCgo(name string) bool {
	if h.cgo[name] {
		return true
	}
	for _, imp := range h.imports[name] {
		if h.needsCgo(imp) {
			return true
		}
	}
	return false
}

// users are the programs that import name, directly or not.
func (h *house) users(name string) []string {
	var out []string
	for _, p := range h.sorted() {
		if isProgram(p) && p != name && h.reaches(p, name, map[string]bool{}) {
			out = append(out, "facet-"+p)
		}
	}
	return out
}

func run(w io.Writer) error {
	h, err := load()
	if err != nil {
		return err
	}
	var b strings.Builder
	b.WriteString("# The house\n\n")
	b.WriteString("facet's programs and the packages of `internal/` they are built from, made by\n")
	b.WriteString("`make house` (`go run ./tools/house`) from `go list`; a test fails when this\n")
	b.WriteString("file is out of date. An arrow is an import that no longer path implies;\n")
	b.WriteString("shaded packages use cgo (OpenCV through gocv, dlib, or facet's own C++), and\n")
	b.WriteString("so does everything above them.\n\n")
	b.WriteString("```mermaid\nflowchart TD\n")
	for _, n := range h.sorted() {
		shape := "[%s]"
		if isProgram(n) {
			shape = "([%s])"
		}
		fmt.Fprintf(&b, "  %s"+shape+"\n", id(n), label(n))
	}
	for _, e := range h.edges() {
		fmt.Fprintf(&b, "  %s --> %s\n", id(e[0]), id(e[1]))
	}
	var cgo []string
	for _, n := range h.sorted() {
		if h.cgo[n] {
			cgo = append(cgo, id(n))
		}
	}
	if len(cgo) > 0 {
		b.WriteString("  classDef cgo fill:#f4d6a0,stroke:#a0522d\n")
		fmt.Fprintf(&b, "  class %s cgo\n", strings.Join(cgo, ","))
	}
	b.WriteString("```\n\n")
	b.WriteString("What each package is for: README, \"The packages\".\n\n")
	b.WriteString("| package | cgo | used by |\n|---|---|---|\n")
	for _, n := range h.sorted() {
		if isProgram(n) {
			continue
		}
		c := ""
		switch {
		case h.cgo[n]:
			c = "yes"
		case h.needsCgo(n):
			c = "through its imports"
		}
		users := h.users(n)
		u := strings.Join(users, ", ")
		switch len(users) {
		case len(h.programs()):
			u = "every program"
		case 0:
			u = "no program (tests, benchmarks)"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", label(n), c, u)
	}
	b.WriteString("\n| program | cgo |\n|---|---|\n")
	for _, p := range h.programs() {
		c := "no"
		if h.needsCgo(p) {
			c = "yes"
		}
		fmt.Fprintf(&b, "| facet-%s | %s |\n", p, c)
	}
	_, err = io.WriteString(w, b.String())
	return err
}

func (h *house) programs() []string {
	var out []string
	for _, n := range h.sorted() {
		if isProgram(n) {
			out = append(out, n)
		}
	}
	return out
}

// id is a Mermaid node id for a package path.
func id(name string) string { return strings.NewReplacer("/", "_", "-", "_").Replace(name) }
