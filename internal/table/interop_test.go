package table

import (
	"encoding/json"
	"math"
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

// TestParquetWithDuckDB writes a facet table as Parquet, has DuckDB (npm
// @duckdb/node-api) read it, and reads back the Parquet DuckDB writes of
// the same rows (BIGINT labels, DOUBLE ages, VARCHAR strings): DuckDB sees
// facet's types with unknowns as NULL, so avg(age) counts known ages only,
// and facet reads DuckDB's file as its own rows.
func TestParquetWithDuckDB(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not found: install Node.js (make deps) to check DuckDB interoperability")
	}
	script, _ := filepath.Abs("../../interop/duckdb.mjs")
	if _, err := os.Stat("../../interop/node_modules/@duckdb/node-api"); err != nil {
		t.Skip("npm @duckdb/node-api not installed: run make interop")
	}
	samples := testSamples(40)
	known, sum := 0, 0
	for i := range samples {
		if i%4 == 0 {
			samples[i].Age, samples[i].AgeGroup, samples[i].Gender, samples[i].Label = -1, -1, -1, -1
			continue
		}
		known++
		sum += int(samples[i].Age)
	}
	dir := t.TempDir()
	in, out := filepath.Join(dir, "facet.parquet"), filepath.Join(dir, "duckdb.parquet")
	if err := os.WriteFile(in, encode(t, samples, Parquet, 16, true), 0o644); err != nil {
		t.Fatal(err)
	}
	stdout, err := exec.Command(node, script, in, out).Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("node: %v\n%s", err, stderr)
	}
	var got struct {
		Rows        int               `json:"rows"`
		MeanAge     float64           `json:"mean_age"`
		NullGenders int               `json:"null_genders"`
		Types       map[string]string `json:"types"`
	}
	if err := json.Unmarshal(stdout, &got); err != nil {
		t.Fatalf("%v: %s", err, stdout)
	}
	if got.Rows != len(samples) || got.NullGenders != len(samples)-known {
		t.Errorf("DuckDB reads %d rows, %d null genders; want %d, %d", got.Rows, got.NullGenders, len(samples), len(samples)-known)
	}
	if want := float64(sum) / float64(known); math.Abs(got.MeanAge-want) > 1e-9 {
		t.Errorf("DuckDB's avg(age) = %v, want %v (the known ages only)", got.MeanAge, want)
	}
	for col, typ := range map[string]string{ColID: "VARCHAR", ColMask: "TINYINT", ColAge: "SMALLINT"} {
		if got.Types[col] != typ {
			t.Errorf("DuckDB sees %s as %s, want %s", col, got.Types[col], typ)
		}
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	back, _, err := readSamples(t, data)
	if err != nil {
		t.Fatalf("reading DuckDB's Parquet: %v", err)
	}
	if len(back) != len(samples) {
		t.Fatalf("%d rows from DuckDB's file, want %d", len(back), len(samples))
	}
	for i := range samples {
		want := samples[i]
		want.Race = "" // not in DuckDB's copy
		if back[i] != want {
			t.Errorf("row %d from DuckDB: %+v, want %+v", i, back[i], want)
		}
	}
}
