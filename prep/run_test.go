package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/boostershot/facet/internal/cli"
	"github.com/boostershot/facet/internal/label"
	"github.com/boostershot/facet/internal/table"
)

func runPrep(t *testing.T, args ...string) ([]byte, string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), args, strings.NewReader(""), &stdout, &stderr)
	return stdout.Bytes(), stderr.String(), err
}

func readTable(t *testing.T, data []byte) ([]table.Sample, label.Bins) {
	t.Helper()
	r, err := table.NewReader(bytes.NewReader(data), table.ColID, table.ColPath)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Release()
	var out []table.Sample
	for r.Next() {
		out = append(out, table.Samples(r.RecordBatch())...)
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	bins, err := table.AgeBins(r.Schema())
	if err != nil {
		t.Fatal(err)
	}
	return out, bins
}

// write creates files under root.
func write(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for p, content := range files {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// dataTree is a small competition train set (two persons, one missing a
// photo), an eval set and an AAF folder.
func dataTree(t *testing.T) string {
	root := t.TempDir()
	files := map[string]string{
		"train/train.csv":    "id,gender,race,age,path\n000020,female,Asian,58,000020_female_Asian_58\n001498-1,male,Asian,38,001498-1_male_Asian_38\n",
		"eval/info.csv":      "ImageID,ans\ne1.jpg,0\ne2.jpg,0\n",
		"eval/images/e1.jpg": "", "eval/images/e2.jpg": "",
		"aaf/00001A25.jpg": "", "aaf/09000A70.jpg": "",
	}
	for _, p := range []string{"000020_female_Asian_58", "001498-1_male_Asian_38"} {
		for _, stem := range []string{"mask1", "mask2", "mask3", "mask4", "mask5", "incorrect_mask", "normal"} {
			files["train/images/"+p+"/"+stem+".jpg"] = ""
		}
	}
	delete(files, "train/images/001498-1_male_Asian_38/mask5.jpg")
	write(t, root, files)
	return root
}

func TestPrepJoinsSources(t *testing.T) {
	root := dataTree(t)
	out, stderr, err := runPrep(t, "--age-bins", "30,58", "competition:"+root, "aaf:"+filepath.Join(root, "aaf"))
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	samples, bins := readTable(t, out)
	if bins != (label.Bins{30, 58}) {
		t.Errorf("table age bins %v", bins)
	}
	if len(samples) != 13+2+2 {
		t.Fatalf("%d rows, want 17", len(samples))
	}
	sources := map[string]int{}
	for _, s := range samples {
		sources[s.Source+"/"+s.Subset]++
	}
	if sources["competition/train"] != 13 || sources["competition/eval"] != 2 || sources["aaf/train"] != 2 {
		t.Errorf("rows by source %v", sources)
	}
	for _, want := range []string{"wrong image count: 1", "001498-1_male_Asian_38: wrong image count (6 of 7 images, missing mask5)", "17 rows from 2 sources", "1 left out"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	// 58 is in the oldest group under 30,58.
	if samples[0].ID != "000020_female_Asian_58/mask1" || samples[0].AgeGroup != 2 {
		t.Errorf("first row %+v", samples[0])
	}
}

func TestPrepNamedSources(t *testing.T) {
	// The same UTKFace file names in two folders: unnamed twice, the second
	// is left out as a duplicate id; named, both are kept, told apart by
	// source and id.
	root := t.TempDir()
	names := map[string]string{"26_0_2_20170116174525125.jpg.chip.jpg": "", "61_1_3_20170109142408075.jpg.chip.jpg": ""}
	write(t, filepath.Join(root, "a"), names)
	write(t, filepath.Join(root, "b"), names)
	a, b := "utkface:"+filepath.Join(root, "a"), filepath.Join(root, "b")
	for _, tc := range []struct {
		name     string
		second   string
		rows     int
		sources  map[string]int
		leftOut  string
		secondID string
	}{
		{"unnamed twice", "utkface:" + b, 2, map[string]int{"utkface": 2}, "duplicate id: 2", ""},
		{"named", "utkface-more=utkface:" + b, 4, map[string]int{"utkface": 2, "utkface-more": 2}, "0 left out", "utkface-more/26_0_2_20170116174525125.jpg.chip.jpg"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, stderr, err := runPrep(t, a, tc.second)
			if err != nil {
				t.Fatalf("%v\n%s", err, stderr)
			}
			samples, _ := readTable(t, out)
			sources := map[string]int{}
			ids := map[string]bool{}
			for _, s := range samples {
				sources[s.Source]++
				ids[s.ID] = true
			}
			if len(samples) != tc.rows || len(ids) != tc.rows || fmt.Sprint(sources) != fmt.Sprint(tc.sources) {
				t.Errorf("%d rows, %d ids, sources %v; want %d, %v", len(samples), len(ids), sources, tc.rows, tc.sources)
			}
			if !strings.Contains(stderr, tc.leftOut) {
				t.Errorf("stderr lacks %q:\n%s", tc.leftOut, stderr)
			}
			if tc.secondID != "" && !ids[tc.secondID] {
				t.Errorf("no id %q in %v", tc.secondID, ids)
			}
		})
	}
}

func TestPrepFixStrictAndOutputs(t *testing.T) {
	root := dataTree(t)
	dir := t.TempDir()
	fixes := filepath.Join(dir, "fix.csv")
	write(t, dir, map[string]string{"fix.csv": "by,key,field,value,note\nperson,000020,mask,swap,swapped\nperson,001498-1,gender,swap,\n"})
	outFile := filepath.Join(dir, "samples.arrow")
	chart := filepath.Join(dir, "classes.png")
	_, stderr, err := runPrep(t, "-o", outFile, "--fix", fixes, "--report", chart, "--problems", filepath.Join(dir, "problems.csv"), "competition:"+filepath.Join(root, "train"))
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	data, err := os.ReadFile(outFile)
	if err != nil || !bytes.HasPrefix(data, []byte("ARROW1")) {
		t.Fatalf("-o x.arrow did not write an Arrow file: %v", err)
	}
	samples, _ := readTable(t, data)
	got := map[string]table.Sample{}
	for _, s := range samples {
		got[s.ID] = s
	}
	if got["000020_female_Asian_58/normal"].Mask != label.Incorrect || got["000020_female_Asian_58/incorrect_mask"].Mask != label.NoMask {
		t.Error("mask swap not applied")
	}
	if got["001498-1_male_Asian_38/mask1"].Gender != label.Female {
		t.Error("gender swap not applied")
	}
	if !strings.Contains(stderr, "fix 000020_female_Asian_58/normal: mask none -> incorrect (swapped)") || !strings.Contains(stderr, "2 corrections, 8 label changes") {
		t.Errorf("changes not reported:\n%s", stderr)
	}
	if png, err := os.ReadFile(chart); err != nil || !bytes.HasPrefix(png, []byte("\x89PNG")) {
		t.Errorf("no PNG chart: %v", err)
	}
	if p, err := os.ReadFile(filepath.Join(dir, "problems.csv")); err != nil || !strings.Contains(string(p), "wrong image count") {
		t.Errorf("problems file: %q, %v", p, err)
	}

	// --strict fails on the missing photo and leaves no output file behind.
	strictOut := filepath.Join(dir, "strict.arrow")
	if _, _, err := runPrep(t, "--strict", "-o", strictOut, "competition:"+filepath.Join(root, "train")); err == nil {
		t.Error("--strict passed with a missing photo")
	}
	// A correction naming an unknown person fails the run, also without output.
	write(t, dir, map[string]string{"bad.csv": "by,key,field,value\nperson,999999,gender,male\n"})
	if _, _, err := runPrep(t, "--fix", filepath.Join(dir, "bad.csv"), "-o", strictOut, "competition:"+filepath.Join(root, "train")); err == nil || !strings.Contains(err.Error(), "999999") {
		t.Errorf("unknown correction key: err = %v", err)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") || e.Name() == "strict.arrow" {
			t.Errorf("failed run left %s", e.Name())
		}
	}
}

func TestPrepCSV(t *testing.T) {
	root := dataTree(t)
	out, _, err := runPrep(t, "--csv", "aaf:"+filepath.Join(root, "aaf"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "id,path,person,source") || !strings.HasPrefix(lines[1], "aaf/00001A25.jpg,") {
		t.Errorf("csv:\n%s", out)
	}
}

func TestPrepUsage(t *testing.T) {
	root := dataTree(t)
	for _, tc := range []struct {
		name  string
		args  []string
		usage bool
	}{
		{"no sources", nil, true},
		{"bad spec", []string{"data/train"}, true},
		{"bad kind", []string{"zip:x"}, true},
		{"bad name", []string{"a/b=aaf:" + root}, true},
		{"name is a kind", []string{"utkface=aaf:" + root}, true},
		{"bad bins", []string{"--age-bins", "60,30", "aaf:" + root}, true},
		{"bad flag", []string{"--nope", "aaf:" + root}, true},
		{"missing path", []string{"aaf:" + filepath.Join(root, "nothing")}, false},
		{"bad report", []string{"--report", filepath.Join(root, "x.gif"), "aaf:" + filepath.Join(root, "aaf")}, true},
		{"empty source", []string{"utkface:" + filepath.Join(root, "eval", "images")}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := runPrep(t, tc.args...)
			if err == nil {
				t.Fatal("no error")
			}
			var usage cli.UsageError
			if errors.As(err, &usage) != tc.usage {
				t.Errorf("err = %v (usage error: %v), want usage error %v", err, errors.As(err, &usage), tc.usage)
			}
			var buf bytes.Buffer
			code := cli.Exit("facet-prep", err, &buf)
			if (tc.usage && code != 2) || (!tc.usage && code != 1) || strings.Count(buf.String(), "\n") > 2 {
				t.Errorf("exit %d, message %q", code, buf.String())
			}
		})
	}
}

// Every id in prep's table can name a file under an output folder: a csv
// source's images outside its folder get safe ids, and a row whose id
// could not name a file is left out and reported (--strict fails).
func TestPrepSafeIDs(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, map[string]string{
		"lists/list.csv": "id,path,gender\n,../img/a.jpg,male\n../../etc/x,../img/b.jpg,female\nc,sub/c.jpg,male\n",
	})
	out, stderr, err := runPrep(t, "csv:"+filepath.Join(dir, "lists", "list.csv"))
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	samples, _ := readTable(t, out)
	if len(samples) != 2 {
		t.Fatalf("%d rows, want 2 (the unsafe id left out)", len(samples))
	}
	for _, s := range samples {
		if err := table.CheckID(s.ID); err != nil {
			t.Error(err)
		}
	}
	if !strings.Contains(stderr, "unsafe id: 1") || !strings.Contains(stderr, "../../etc/x") {
		t.Errorf("the unsafe id is not reported:\n%s", stderr)
	}
	if _, _, err := runPrep(t, "--strict", "csv:"+filepath.Join(dir, "lists", "list.csv")); err == nil {
		t.Error("--strict passed an unsafe id")
	}
}

// A boxes source gives the box columns; rows of other sources get -1.
func TestPrepBoxes(t *testing.T) {
	root := dataTree(t)
	write(t, root, map[string]string{
		"scenes/boxes.csv": "file,face,label,x0,y0,x1,y1\na.jpg,0,with_mask,3,5,30,35\na.jpg,1,without_mask,40,5,60,30\n",
		"scenes/a.jpg":     "",
	})
	out, stderr, err := runPrep(t, "boxes:"+filepath.Join(root, "scenes", "boxes.csv"), "aaf:"+filepath.Join(root, "aaf"))
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	samples, _ := readTable(t, out)
	want := map[string]image.Rectangle{
		"boxes/a.jpg#0": image.Rect(3, 5, 30, 35), "boxes/a.jpg#1": image.Rect(40, 5, 60, 30),
		"aaf/00001A25.jpg": {}, "aaf/09000A70.jpg": {},
	}
	if len(samples) != len(want) {
		t.Fatalf("%d rows, want %d", len(samples), len(want))
	}
	for _, s := range samples {
		if b, ok := want[s.ID]; !ok || s.Box != b {
			t.Errorf("%s: box %v, want %v", s.ID, s.Box, b)
		}
	}
	if samples[0].Mask != label.Wear || samples[1].Mask != label.NoMask || samples[0].Person != "boxes/a.jpg" {
		t.Errorf("boxes rows %+v", samples[:2])
	}
	csv, _, err := runPrep(t, "--csv", "boxes:"+filepath.Join(root, "scenes", "boxes.csv"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(csv)), "\n")
	if len(lines) != 3 || !strings.HasSuffix(lines[0], ",box_x0,box_y0,box_x1,box_y1") || !strings.HasSuffix(lines[1], ",3,5,30,35") {
		t.Errorf("csv:\n%s", csv)
	}
	// Without a boxes source the table has no box columns.
	if out, _, err := runPrep(t, "--csv", "aaf:"+filepath.Join(root, "aaf")); err != nil || strings.Contains(string(out), "box_x0") {
		t.Errorf("aaf alone: %v\n%s", err, out)
	}
}
