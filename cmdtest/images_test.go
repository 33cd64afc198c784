package cmdtest

import (
	"bytes"
	"encoding/csv"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"gocv.io/x/gocv"

	"github.com/boostershot/facet/internal/testdata"
)

// damagedImage is a file of the damaged set, with what every program
// must say about it.
type damagedImage struct {
	name   string
	data   []byte
	reason string // in every program's message about it
	crop   string // facet-crop's failure category
}

// damagedImages writes a real face (and its PNG copy) and damaged images
// into DIR/masks/none, an imagefolder source of facet-prep, and returns
// the damaged ones.
func damagedImages(t *testing.T, dir string) []damagedImage {
	t.Helper()
	jpg := testdata.CutFaceJPEGs(t)
	face := jpg.Face
	png := facePNG(t, face)
	bad := []damagedImage{
		{"cut30.jpg", jpg.Cut, "truncated JPEG", "truncated image"},
		{"cut30-eoi.jpg", jpg.CutEOI, "truncated JPEG", "truncated image"},
		{"thumb-cut30.jpg", jpg.ThumbCut, "truncated JPEG", "truncated image"},
		{"thumb-cut30-eoi.jpg", jpg.ThumbCutEOI, "truncated JPEG", "truncated image"},
		{"cut.png", png[:len(png)/2], "truncated PNG", "truncated image"},
		{"bomb.png", testdata.PNGBomb(t, 20000), "20000x20000 png is over the 100-megapixel limit", "image too large"},
		{"anim.gif", testdata.GIF(t), "GIF is not supported", "not a decodable image"},
		{"empty.jpg", nil, "empty file", "not a decodable image"},
	}
	folder := filepath.Join(dir, "masks", "none")
	if err := os.MkdirAll(folder, 0o755); err != nil {
		t.Fatal(err)
	}
	files := append([]damagedImage{{name: "face.jpg", data: face}, {name: "face.png", data: png}}, bad...)
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(folder, f.name), f.data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return bad
}

// facePNG is the face as PNG (OpenCV's encoding).
func facePNG(t *testing.T, jpg []byte) []byte {
	m, err := gocv.IMDecode(jpg, gocv.IMReadColor)
	if err != nil || m.Empty() {
		t.Fatal("decoding the face", err)
	}
	defer m.Close()
	buf, err := gocv.IMEncode(gocv.PNGFileExt, m)
	if err != nil {
		t.Fatal(err)
	}
	return buf
}

// readCSV reads a CSV table as rows keyed by column name.
func readCSV(t *testing.T, data []byte) []map[string]string {
	t.Helper()
	recs, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
	if err != nil || len(recs) == 0 {
		t.Fatalf("reading CSV: %v\n%s", err, data)
	}
	var rows []map[string]string
	for _, r := range recs[1:] {
		row := map[string]string{}
		for i, name := range recs[0] {
			row[name] = r[i]
		}
		rows = append(rows, row)
	}
	return rows
}

// byFile finds the row of a file name by its id's last element.
func byFile(rows []map[string]string, name string) map[string]string {
	for _, r := range rows {
		if strings.HasSuffix(r["id"], "/"+name) || strings.HasSuffix(r["item"], "/"+name) {
			return r
		}
	}
	return nil
}

// perRowFlags are the flags that keep a program going past rows whose
// image is bad: --max-failed 100% where the program has that flag (the
// damaged set is mostly damaged on purpose).
func perRowFlags(t *testing.T, prog string) string {
	out, _ := exec.Command(filepath.Join(bin, prog), "--help").CombinedOutput()
	if bytes.Contains(out, []byte("--max-failed")) {
		return " --max-failed 100%"
	}
	return ""
}

// One decoder's idea of "readable" from prep to infer: facet-prep
// --verify leaves out every damaged image with its file and reason,
// facet-crop keeps each row with the reason (and gives face.jpg and
// face.png crops of their own), facet-infer says which file and why, and
// facet-augment names the file and reason of every image it cannot use.
func TestDamagedImages(t *testing.T) {
	dir := t.TempDir()
	bad := damagedImages(t, dir)

	// facet-prep --verify
	out, stderr, code := sh(t, dir, "facet-prep --verify --problems problems.csv --csv imagefolder:mask=masks", nil)
	if code != 0 {
		t.Fatalf("facet-prep --verify: exit %d\n%s", code, stderr)
	}
	if kept := readCSV(t, out); len(kept) != 2 || byFile(kept, "face.jpg") == nil || byFile(kept, "face.png") == nil {
		t.Errorf("facet-prep --verify kept %d rows, want face.jpg and face.png:\n%s", len(kept), out)
	}
	data, err := os.ReadFile(filepath.Join(dir, "problems.csv"))
	if err != nil {
		t.Fatal(err)
	}
	problems := readCSV(t, data)
	for _, b := range bad {
		if p := byFile(problems, b.name); p == nil || !strings.Contains(p["detail"], b.name) || !strings.Contains(p["detail"], b.reason) {
			t.Errorf("facet-prep --verify on %s: problem %v, want the file and %q", b.name, p, b.reason)
		}
	}

	// The table of all ten files, unverified, for the later stages.
	if _, stderr, code := sh(t, dir, "facet-prep -o all.arrow imagefolder:mask=masks", nil); code != 0 {
		t.Fatalf("facet-prep: exit %d\n%s", code, stderr)
	}

	// facet-crop
	out, stderr, code = sh(t, dir, "facet-crop --out crops --detectors center --csv"+perRowFlags(t, "facet-crop")+" all.arrow", nil)
	if code != 0 {
		t.Fatalf("facet-crop: exit %d\n%s", code, stderr)
	}
	rows := readCSV(t, out)
	if len(rows) != 10 {
		t.Fatalf("facet-crop wrote %d rows, want all 10", len(rows))
	}
	for _, b := range bad {
		r := byFile(rows, b.name)
		if r == nil || r["crop_path"] != "" || !strings.HasPrefix(r["crop_error"], b.crop+": ") || !strings.Contains(r["crop_error"], b.reason) {
			t.Errorf("facet-crop on %s: crop_path %q, crop_error %q; want %q and %q", b.name, r["crop_path"], r["crop_error"], b.crop, b.reason)
		}
	}
	jpg, png := byFile(rows, "face.jpg"), byFile(rows, "face.png")
	if jpg["crop_path"] == "" || png["crop_path"] == "" || jpg["crop_path"] == png["crop_path"] {
		t.Errorf("face.jpg and face.png: crops %q and %q, want two files", jpg["crop_path"], png["crop_path"])
	}

	// facet-infer
	out, stderr, code = sh(t, dir, "facet-infer --model "+modelDir(t)+" --csv"+perRowFlags(t, "facet-infer")+" all.arrow", nil)
	if code != 0 {
		t.Fatalf("facet-infer: exit %d\n%s", code, stderr)
	}
	rows = readCSV(t, out)
	for _, b := range bad {
		r := byFile(rows, b.name)
		if r == nil || !strings.Contains(r["infer_error"], b.reason) {
			t.Errorf("facet-infer on %s: infer_error %q, want %q", b.name, r["infer_error"], b.reason)
		}
		if !strings.Contains(stderr, b.name+": "+b.reason) {
			t.Errorf("facet-infer's messages do not name %s and %q:\n%s", b.name, b.reason, stderr)
		}
	}
	if r := byFile(rows, "face.jpg"); r == nil || r["infer_error"] != "" {
		t.Errorf("facet-infer on the good face: %v", r)
	}

	// facet-augment, one damaged image at a time beside the face (it
	// lists only its first few failures).
	augment := "facet-augment --out aug --copies 1 --csv" + perRowFlags(t, "facet-augment")
	for _, b := range bad {
		list := "path\nmasks/none/face.jpg\nmasks/none/" + b.name + "\n"
		if err := os.WriteFile(filepath.Join(dir, "list.csv"), []byte(list), 0o644); err != nil {
			t.Fatal(err)
		}
		out, stderr, code := sh(t, dir, "facet-prep -q csv:list.csv | "+augment, nil)
		if code != 0 {
			t.Errorf("facet-augment with %s: exit %d\n%s", b.name, code, stderr)
			continue
		}
		if !strings.Contains(stderr, b.name+": "+b.reason) {
			t.Errorf("facet-augment does not name %s and %q:\n%s", b.name, b.reason, stderr)
		}
		if rows := readCSV(t, out); len(rows) != 3 {
			t.Errorf("facet-augment with %s: %d rows, want the two and the face's copy", b.name, len(rows))
		}
	}
}

// A 12000x12000 PNG (144 megapixels, a whole and valid file) is refused
// from its header: facet-infer does not allocate its pixels (432 MB as
// BGR) and says why quickly.
func TestHugeImageNotDecoded(t *testing.T) {
	dir := t.TempDir()
	folder := filepath.Join(dir, "masks", "none")
	os.MkdirAll(folder, 0o755)
	os.WriteFile(filepath.Join(folder, "huge.png"), testdata.BlackPNG(t, 12000, 12000), 0o644)
	if _, stderr, code := sh(t, dir, "facet-prep -o huge.arrow imagefolder:mask=masks", nil); code != 0 {
		t.Fatalf("facet-prep: exit %d\n%s", code, stderr)
	}
	cmd := exec.Command(filepath.Join(bin, "facet-infer"), "--model", modelDir(t), "--csv", "huge.arrow")
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	cmd.Run()
	took := time.Since(start)
	rss := cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss << 10 // KiB on Linux
	t.Logf("facet-infer on a 12000x12000 PNG: %v, peak RSS %d MiB", took, rss>>20)
	if !strings.Contains(stderr.String(), "12000x12000 png is over the 100-megapixel limit") {
		t.Errorf("facet-infer does not say why:\n%s", stderr.String())
	}
	if rss > 300<<20 {
		t.Errorf("facet-infer peaked at %d MiB: it decoded the pixels", rss>>20)
	}
}
