package table

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestReadableByArrowJS checks that facet tables (file and stream format)
// open in an independent Arrow implementation, the npm apache-arrow
// package, with the same columns, types, metadata and values; pyarrow,
// polars and DuckDB read the same IPC format.
func TestReadableByArrowJS(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not found: install Node.js (make deps) to check Arrow interoperability")
	}
	script, _ := filepath.Abs("../../interop/read.mjs")
	if _, err := os.Stat("../../interop/node_modules/apache-arrow"); err != nil {
		t.Skip("npm apache-arrow not installed: run make interop")
	}
	samples := testSamples(40)
	for _, tc := range []struct {
		name string
		f    Format
	}{{"t.arrow", File}, {"t.arrows", Stream}} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), tc.name)
			if err := os.WriteFile(path, encode(t, samples, tc.f, 16, true), 0o644); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(node, script, path).Output()
			if err != nil {
				t.Fatalf("node: %v\n%s", err, out)
			}
			var got struct {
				Rows   int
				Fields []struct{ Name, Type string }
				Meta   map[string]string `json:"metadata"`
				First  map[string]any
			}
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatalf("%v: %s", err, out)
			}
			if got.Rows != len(samples) {
				t.Errorf("arrow js reads %d rows, want %d", got.Rows, len(samples))
			}
			wantTypes := map[string]string{ColID: "Utf8", ColMask: "Int8", ColLabel: "Int8", ColAge: "Int16"}
			seen := 0
			for i, f := range got.Fields {
				if f.Name != CoreFields[i].Name {
					t.Errorf("column %d is %q, want %q", i, f.Name, CoreFields[i].Name)
				}
				if w, ok := wantTypes[f.Name]; ok {
					seen++
					if f.Type != w {
						t.Errorf("column %s has type %s in arrow js, want %s", f.Name, f.Type, w)
					}
				}
			}
			if seen != len(wantTypes) || got.Meta[MetaAgeBins] != "30,58" || got.Meta[MetaVersion] != "1" {
				t.Errorf("fields %v, metadata %v", got.Fields, got.Meta)
			}
			s := samples[0]
			if got.First["id"] != s.ID || got.First["path"] != s.Path || got.First["label"] != float64(s.Label) || got.First["age"] != float64(s.Age) {
				t.Errorf("first row in arrow js = %v, want %+v", got.First, s)
			}
		})
	}
}
