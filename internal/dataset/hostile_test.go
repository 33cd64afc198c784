package dataset

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/boostershot/facet/internal/label"
	"github.com/boostershot/facet/internal/table"
)

// Ages past label.MaxAge and an All-Age-Faces index past its last are
// refused as rows (problems), with the value named.
func TestHostileAgesAndIndexes(t *testing.T) {
	aaf := tree(t, map[string]string{"00001A45.jpg": "", "00002A200.jpg": "", "00003A999.jpg": "", "99999A30.jpg": "", "13322A30.jpg": ""})
	res := load(t, "aaf:"+aaf)
	checkReasons(t, res, map[string]int{ReasonFileName: 4})
	if len(res.Samples) != 1 {
		t.Errorf("%d AAF samples, want 1", len(res.Samples))
	}
	details := ""
	for _, p := range res.Problems {
		details += p.String() + "\n"
	}
	for _, want := range []string{"200 is not an age", "999 is not an age", "index 99999 is outside", "index 13322 is outside"} {
		if !strings.Contains(details, want) {
			t.Errorf("problems do not say %q:\n%s", want, details)
		}
	}

	utk := tree(t, map[string]string{"26_0_2_2017.jpg": "", "999_0_2_2017.jpg": "", "121_1_2_2017.jpg": "", "120_1_2_2017.jpg": ""})
	res = load(t, "utkface:"+utk)
	checkReasons(t, res, map[string]int{ReasonFileName: 2})

	files := map[string]string{"train/train.csv": "id,gender,race,age,path\n000001,female,Asian,200,000001_female_Asian_200\n"}
	person(files, "000001_female_Asian_200", ".jpg")
	res = load(t, "competition:"+filepath.Join(tree(t, files), "train"))
	checkReasons(t, res, map[string]int{ReasonFolderName: 1})

	csv := tree(t, map[string]string{"l.csv": "path,mask,gender,age,label\n" +
		"a.jpg,7,,,\n" + "b.jpg,,3,,\n" + "c.jpg,,,999,\n" + "d.jpg,,,,50\n" + "e.jpg,,,-7,\n" + "f.jpg,wear,female,120,\n"})
	res = load(t, "csv:"+filepath.Join(csv, "l.csv"))
	checkReasons(t, res, map[string]int{ReasonBadRow: 5})
	if len(res.Samples) != 1 || res.Samples[0].Age != 120 {
		t.Errorf("samples = %+v", res.Samples)
	}
}

// File names that are not UTF-8 cannot go into utf8 columns: they are
// left out as problems, named with their bytes escaped (reversibly).
func TestNamesNotUTF8(t *testing.T) {
	bad := "face\xff\xfe.jpg"
	root := t.TempDir()
	for _, p := range []string{"set/wear/a.jpg", "set/wear/" + bad, "set/none/b.jpg", "set/none\xc3/c.jpg"} {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, nil, 0o644); err != nil {
			t.Skipf("this file system refuses names that are not UTF-8: %v", err)
		}
	}
	res := load(t, "imagefolder:mask="+filepath.Join(root, "set"))
	checkReasons(t, res, map[string]int{ReasonFileName: 2})
	if len(res.Samples) != 2 {
		t.Errorf("%d samples, want 2", len(res.Samples))
	}
	var items []string
	for _, p := range res.Problems {
		items = append(items, p.Item)
		back, err := strconv.Unquote(`"` + p.Item + `"`)
		if err != nil || !strings.HasPrefix(filepath.Join(root, "set", back), root) {
			t.Errorf("item %q does not unquote to a path: %v", p.Item, err)
		}
	}
	for _, want := range []string{`wear/face\xff\xfe.jpg`, `none\xc3`} {
		if !strings.Contains(strings.Join(items, " "), want) {
			t.Errorf("problems %q do not name %s", items, want)
		}
	}
	for _, s := range res.Samples {
		if !strings.Contains(s.ID, "a.jpg") && !strings.Contains(s.ID, "b.jpg") {
			t.Errorf("sample %q", s.ID)
		}
	}

	csv := tree(t, map[string]string{"l.csv": "path,person\na.jpg,p\n" + bad + ",p\nb.jpg,caf\xe9\n"})
	res = load(t, "csv:"+filepath.Join(csv, "l.csv"))
	checkReasons(t, res, map[string]int{ReasonBadRow: 2})
}

// A folder holding an output mark (facet-crop's --out) is left out of
// scans; the source's own folder may be one (cropped faces read as a
// data set of their own).
func TestOutputFoldersAreSkipped(t *testing.T) {
	root := tree(t, map[string]string{"26_0_2_2017.jpg": "", "crops/26_0_2_2017.jpg": "", "crops/deeper/27_0_2_2017.jpg": ""})
	if err := MarkOutput(filepath.Join(root, "crops"), "facet-crop"); err != nil {
		t.Fatal(err)
	}
	res := load(t, "utkface:"+root)
	if len(res.Samples) != 1 || len(res.Outputs) != 1 || res.Outputs[0] != "crops" {
		t.Errorf("%d samples, outputs %v: want 1 sample and crops skipped", len(res.Samples), res.Outputs)
	}
	if res := load(t, "utkface:"+filepath.Join(root, "crops")); len(res.Samples) != 2 {
		t.Errorf("the marked folder itself: %d samples, want 2", len(res.Samples))
	}
	// marking twice is fine; a link in the mark's place is not followed
	if err := MarkOutput(filepath.Join(root, "crops"), "facet-crop"); err != nil {
		t.Error(err)
	}
	other := filepath.Join(root, "other")
	if err := os.MkdirAll(other, 0o755); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(root, "target")
	if err := os.Symlink(target, filepath.Join(other, OutputMark)); err != nil {
		t.Fatal(err)
	}
	_ = MarkOutput(other, "facet-crop")
	if _, err := os.Stat(target); !os.IsNotExist(err) {
		t.Error("MarkOutput wrote through a link")
	}
}

func TestGenderConflicts(t *testing.T) {
	var ss []table.Sample
	add := func(person string, g int8, n int) {
		for range n {
			s := table.NewSample(person+strconv.Itoa(len(ss)), "", person, "x", "train")
			s.Gender = g
			ss = append(ss, s)
		}
	}
	add("000001", label.Male, 7)
	add("000002", label.Female, 7)
	add("000001", label.Female, 6)
	add("000003", label.Unknown, 2)
	add("000003", label.Male, 1)
	got := GenderConflicts(ss)
	if len(got) != 1 || got[0] != (GenderConflict{"000001", 7, 6}) {
		t.Fatalf("conflicts = %+v", got)
	}
	if s := got[0].String(); !strings.Contains(s, "000001") || !strings.Contains(s, "7 male") || !strings.Contains(s, "6 female") {
		t.Errorf("String = %q", s)
	}
}
