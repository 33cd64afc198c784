package dataset

import (
	"image"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/boostershot/facet/internal/label"
	"github.com/boostershot/facet/internal/table"
)

var bins58 = label.Bins{30, 58}

// tree writes files (path -> content) under a new temporary folder.
func tree(t testing.TB, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for p, content := range files {
		full := filepath.Join(root, filepath.FromSlash(p))
		if strings.HasSuffix(p, "/") {
			if err := os.MkdirAll(full, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// person adds the seven photos of a competition person folder.
func person(files map[string]string, folder string, ext string) {
	for _, img := range competitionImages {
		files["train/images/"+folder+"/"+img.Stem+ext] = ""
	}
}

func load(t *testing.T, spec string) Result {
	t.Helper()
	src, err := ParseSource(spec)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Load(src, bins58)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func reasons(res Result) map[string]int {
	out := map[string]int{}
	for _, p := range res.Problems {
		out[p.Reason]++
	}
	return out
}

func byID(res Result) map[string]table.Sample {
	out := map[string]table.Sample{}
	for _, s := range res.Samples {
		out[s.ID] = s
	}
	return out
}

func checkReasons(t *testing.T, res Result, want map[string]int) {
	t.Helper()
	got := reasons(res)
	for r, n := range want {
		if got[r] != n {
			t.Errorf("%d problems %q, want %d", got[r], r, n)
		}
	}
	for r, n := range got {
		if _, ok := want[r]; !ok {
			t.Errorf("unexpected %d problems %q: %v", n, r, res.Problems)
		}
	}
}

func TestCompetitionTrain(t *testing.T) {
	files := map[string]string{
		"train/train.csv": "id,gender,race,age,path\n" +
			"000001,female,Asian,45,000001_female_Asian_45\n" +
			"000002,male,Asian,58,000002_male_Asian_58\n" +
			"000003,male,Asian,20,000003_male_Asian_20\n" + // misses normal
			"000004,female,Asian,60,000004_female_Asian_60\n" + // mask1 twice
			"000005,male,Asian,33,000005_male_Asian_thirty\n" + // bad folder name
			"000006,male,Asian,34,000006_male_Asian_33\n" + // csv age disagrees
			"000007,male,Asian,70,000007_male_Asian_70\n", // folder missing
		"train/images/000001_female_Asian_45/._mask1.jpg": "", // macOS resource fork
		"train/images/.DS_Store":                          "",
		"train/images/000002_male_Asian_58/notes.txt":     "", // stray
		"train/images/000002_male_Asian_58/mask6.jpg":     "", // stray
		"train/images/000004_female_Asian_60/mask1.png":   "",
		"train/images/000008_male_Asian_40/":              "", // not in csv
	}
	person(files, "000001_female_Asian_45", ".jpg")
	person(files, "000002_male_Asian_58", ".jpeg")
	files["train/images/000002_male_Asian_58/normal.png"] = "" // mixed extensions
	delete(files, "train/images/000002_male_Asian_58/normal.jpeg")
	person(files, "000003_male_Asian_20", ".jpg")
	delete(files, "train/images/000003_male_Asian_20/normal.jpg")
	person(files, "000004_female_Asian_60", ".jpg")
	person(files, "000005_male_Asian_thirty", ".jpg")
	person(files, "000006_male_Asian_33", ".jpg")
	root := tree(t, files)

	res := load(t, "competition:"+filepath.Join(root, "train"))
	// 7 + 7 + 6 + 6 (mask1 doubled) rows.
	if len(res.Samples) != 26 {
		t.Fatalf("%d samples, want 26", len(res.Samples))
	}
	checkReasons(t, res, map[string]int{
		ReasonStray: 3, ReasonCount: 1, ReasonDuplicate: 2, ReasonFolderName: 1, ReasonMismatch: 1, ReasonMissing: 1,
	})
	if res.Ignored != 2 {
		t.Errorf("ignored %d hidden files, want 2", res.Ignored)
	}
	s := byID(res)
	for id, want := range map[string]int8{
		"000001_female_Asian_45/mask3":          label.Join(label.Wear, label.Female, 1),
		"000001_female_Asian_45/incorrect_mask": label.Join(label.Incorrect, label.Female, 1),
		"000002_male_Asian_58/normal":           label.Join(label.NoMask, label.Male, 2), // 58 is old with bins 30,58
		"000004_female_Asian_60/mask2":          label.Join(label.Wear, label.Female, 2),
	} {
		if s[id].Label != want {
			t.Errorf("%s: label %d, want %d", id, s[id].Label, want)
		}
	}
	n := s["000002_male_Asian_58/normal"]
	if n.Person != "000002" || n.Age != 58 || n.Subset != "train" || n.Source != "competition" || n.Race != "Asian" || !strings.HasSuffix(n.Path, "normal.png") || !filepath.IsAbs(n.Path) {
		t.Errorf("sample = %+v", n)
	}
	if _, ok := s["000004_female_Asian_60/mask1"]; ok {
		t.Error("a doubled image was kept")
	}
}

func TestCompetitionEvalAndBoth(t *testing.T) {
	files := map[string]string{
		"train/train.csv":       "id,gender,race,age,path\n000001,female,Asian,45,000001_female_Asian_45\n",
		"eval/info.csv":         "ImageID,ans\na.jpg,0\nb.jpg,0\nc.jpg,0\nb.jpg,0\n",
		"eval/images/a.jpg":     "",
		"eval/images/b.jpg":     "",
		"eval/images/stray.jpg": "",
		"eval/images/._a.jpg":   "",
	}
	person(files, "000001_female_Asian_45", ".jpg")
	root := tree(t, files)

	res := load(t, "competition:"+filepath.Join(root, "eval"))
	checkReasons(t, res, map[string]int{ReasonMissing: 1, ReasonStray: 1, ReasonBadRow: 1})
	if len(res.Samples) != 2 {
		t.Fatalf("%d eval samples, want 2", len(res.Samples))
	}
	e := res.Samples[0]
	if e.ID != "eval/a.jpg" || e.Subset != "eval" || e.Label != label.Unknown || e.Mask != label.Unknown || e.Age != label.Unknown {
		t.Errorf("eval sample = %+v", e)
	}

	both := load(t, "competition:"+root)
	if len(both.Samples) != 9 {
		t.Errorf("train+eval folder: %d samples, want 9", len(both.Samples))
	}
	if _, err := Load(Source{Kind: KindCompetition, Path: filepath.Join(root, "train", "images")}, bins58); err == nil {
		t.Error("a folder without train.csv or info.csv was accepted")
	}
}

func TestAAF(t *testing.T) {
	root := tree(t, map[string]string{
		"00000A02.jpg": "", "07380A45.jpg": "", "07381A61.jpg": "", "13321A80.JPG": "",
		"readme.txt": "", "0001A02.jpg": "", ".DS_Store": "",
	})
	res := load(t, "aaf:"+root)
	checkReasons(t, res, map[string]int{ReasonFileName: 2})
	s := byID(res)
	for id, want := range map[string][2]int8{
		"aaf/00000A02.jpg": {label.Female, 0}, "aaf/07380A45.jpg": {label.Female, 1},
		"aaf/07381A61.jpg": {label.Male, 2}, "aaf/13321A80.JPG": {label.Male, 2},
	} {
		got := s[id]
		if got.Gender != want[0] || got.AgeGroup != want[1] || got.Mask != label.NoMask || got.Label != label.Join(label.NoMask, want[0], want[1]) {
			t.Errorf("%s = %+v", id, got)
		}
	}
	if s["aaf/07380A45.jpg"].Person == s["aaf/00000A02.jpg"].Person {
		t.Error("two AAF images share a person")
	}
}

func TestUTKFace(t *testing.T) {
	root := tree(t, map[string]string{
		"26_0_2_20170116174525125.jpg.chip.jpg": "",
		"61_1_3_20170109142408075.jpg":          "",
		"39_1_20170116174525125.jpg.chip.jpg":   "", // no race field
		"26_3_2_20170116174525125.jpg.chip.jpg": "", // bad gender
		"x_0_2_2017.jpg":                        "",
	})
	res := load(t, "utkface:"+root)
	checkReasons(t, res, map[string]int{ReasonFileName: 2})
	s := byID(res)
	if a := s["utkface/26_0_2_20170116174525125.jpg.chip.jpg"]; a.Age != 26 || a.Gender != label.Male || a.Race != "Asian" || a.Label != 12 {
		t.Errorf("male 26 = %+v", a)
	}
	if b := s["utkface/61_1_3_20170109142408075.jpg"]; b.AgeGroup != 2 || b.Race != "Indian" || b.Label != 17 {
		t.Errorf("female 61 = %+v", b)
	}
	if c := s["utkface/39_1_20170116174525125.jpg.chip.jpg"]; c.Race != "" || c.Age != 39 {
		t.Errorf("no race = %+v", c)
	}
}

func TestImageFolder(t *testing.T) {
	root := tree(t, map[string]string{
		"masks/wear/a.jpg": "", "masks/wear/deeper/b.png": "", "masks/incorrect/c.jpg": "",
		"masks/without_mask/d.jpg": "", "masks/helmet/e.jpg": "", "masks/sources.tsv": "", "masks/none/notes.txt": "",
	})
	res := load(t, "imagefolder:mask="+filepath.Join(root, "masks"))
	checkReasons(t, res, map[string]int{ReasonFolderName: 1, ReasonStray: 2})
	s := byID(res)
	if len(s) != 4 || s["imagefolder/masks/wear/deeper/b.png"].Mask != label.Wear || s["imagefolder/masks/without_mask/d.jpg"].Mask != label.NoMask {
		t.Errorf("samples = %v", s)
	}
	for _, x := range s {
		if x.Gender != label.Unknown || x.Label != label.Unknown {
			t.Errorf("%s has labels it was not given: %+v", x.ID, x)
		}
	}
	lab := tree(t, map[string]string{"set/11/a.jpg": ""})
	if got := load(t, "imagefolder:label="+filepath.Join(lab, "set")).Samples[0]; got.Mask != label.Incorrect || got.Gender != label.Female || got.AgeGroup != 2 {
		t.Errorf("label folder 11 = %+v", got)
	}
	empty := tree(t, map[string]string{"x/readme.txt": ""})
	if _, err := Load(Source{Kind: KindImageFolder, Head: label.HeadMask, Path: empty}, bins58); err == nil {
		t.Error("a folder without class folders was accepted")
	}
}

func TestCSVSource(t *testing.T) {
	root := tree(t, map[string]string{
		"list.csv": "path,person,mask,gender,age,label\n" +
			"img/a.jpg,p1,wear,female,45,\n" +
			"img/b.jpg,p1,,,,14\n" +
			"/abs/c.jpg,,none,male,70,12\n" + // label 12 says age group 0
			",p2,wear,,,\n" +
			"img/d.jpg,p3,helmet,,,\n",
	})
	res := load(t, "csv:"+filepath.Join(root, "list.csv"))
	checkReasons(t, res, map[string]int{ReasonBadRow: 3})
	if len(res.Samples) != 2 {
		t.Fatalf("%d samples, want 2", len(res.Samples))
	}
	a, b := res.Samples[0], res.Samples[1]
	if a.Path != filepath.Join(root, "img", "a.jpg") || a.ID != "csv/img/a.jpg" || a.Person != "p1" || a.Label != label.Join(label.Wear, label.Female, 1) {
		t.Errorf("a = %+v", a)
	}
	if b.Mask != label.NoMask || b.Gender != label.Male || b.AgeGroup != 2 || b.Age != label.Unknown {
		t.Errorf("b (label 14 only) = %+v", b)
	}
}

func TestParseSource(t *testing.T) {
	for _, tc := range []struct {
		name, spec string
		want       Source
	}{
		{"kind and path", "competition:data/train", Source{Kind: "competition", Path: "data/train"}},
		{"imagefolder head", "imagefolder:mask=data/masks", Source{Kind: "imagefolder", Head: label.HeadMask, Path: "data/masks"}},
		{"upper-case kind", "AAF:/x", Source{Kind: "aaf", Path: "/x"}},
		{"named", "utkface-more=utkface:faces/utkface-more", Source{Name: "utkface-more", Kind: "utkface", Path: "faces/utkface-more"}},
		{"named imagefolder", "masks2=imagefolder:mask=data/m=2", Source{Name: "masks2", Kind: "imagefolder", Head: label.HeadMask, Path: "data/m=2"}},
		{"= in the path", "utkface:faces/a=b", Source{Kind: "utkface", Path: "faces/a=b"}},
		{"named, : in the path", "x.1=csv:a:b.csv", Source{Name: "x.1", Kind: "csv", Path: "a:b.csv"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseSource(tc.spec)
			if err != nil || got != tc.want {
				t.Fatalf("ParseSource(%q) = %+v, %v; want %+v", tc.spec, got, err, tc.want)
			}
			if got.String() != tc.spec && tc.name != "upper-case kind" {
				t.Errorf("String() = %q, want %q", got.String(), tc.spec)
			}
		})
	}
	for _, tc := range []struct{ name, spec, want string }{
		{"no kind", "data/train", "want [NAME=]KIND:PATH"},
		{"no path", "competition:", "want [NAME=]KIND:PATH"},
		{"unknown kind", "zip:x", "unknown kind"},
		{"imagefolder without head", "imagefolder:data", "imagefolder:HEAD=PATH"},
		{"bad head", "imagefolder:hat=x", "not one of mask"},
		{"empty imagefolder path", "imagefolder:mask=", "imagefolder:HEAD=PATH"},
		{"empty name", "=utkface:x", "empty name"},
		{"name with a slash", "a/b=utkface:x", "letters, digits"},
		{"name of dots", "..=utkface:x", "letters, digits"},
		{"name is a kind", "aaf=utkface:x", "is a kind"},
		{"named, no kind", "more=faces", "want [NAME=]KIND:PATH"},
		{"two names", "a=b=utkface:x", "unknown kind"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseSource(tc.spec)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("ParseSource(%q) = %v, want an error with %q", tc.spec, err, tc.want)
			}
		})
	}
}

func TestNamedSource(t *testing.T) {
	files := map[string]string{"26_0_2_20170116174525125.jpg.chip.jpg": "", "sub/61_1_3_20170109142408075.jpg": ""}
	a, b := tree(t, files), tree(t, files)
	plain, named := load(t, "utkface:"+a), load(t, "more=utkface:"+b)
	if len(plain.Samples) != 2 || len(named.Samples) != 2 {
		t.Fatalf("%d and %d samples", len(plain.Samples), len(named.Samples))
	}
	for i, s := range named.Samples {
		p := plain.Samples[i]
		if s.Source != "more" || p.Source != "utkface" {
			t.Errorf("sources %q and %q", p.Source, s.Source)
		}
		if want := "more/" + strings.TrimPrefix(p.ID, "utkface/"); s.ID != want || s.Person != want {
			t.Errorf("named id %q person %q, want %q", s.ID, s.Person, want)
		}
		if s.ID == p.ID {
			t.Errorf("the same file name in two sources collides: %q", s.ID)
		}
		if s.Label != p.Label || s.Race != p.Race {
			t.Errorf("labels differ: %+v, %+v", s, p)
		}
	}
	// Kinds whose ids do not start with the kind get the name in front.
	root := tree(t, map[string]string{"x.csv": "path,gender\na.jpg,male\n", "a.jpg": ""})
	res := load(t, "extra=csv:"+filepath.Join(root, "x.csv"))
	if len(res.Samples) != 1 || !strings.HasPrefix(res.Samples[0].ID, "extra/") || res.Samples[0].Source != "extra" {
		t.Errorf("named csv: %+v", res.Samples)
	}
}

func TestProblemsAreSortedStably(t *testing.T) {
	// Map iteration must not leak into what Load reports: two loads agree.
	files := map[string]string{"train/train.csv": "id,gender,race,age,path\n"}
	for _, n := range []string{"a", "b", "c", "d", "e"} {
		files["train/images/"+n+"_x/"] = ""
	}
	root := tree(t, files)
	first := load(t, "competition:"+filepath.Join(root, "train"))
	items := func(r Result) []string {
		var out []string
		for _, p := range r.Problems {
			out = append(out, p.Item)
		}
		return out
	}
	got := items(first)
	if !sort.StringsAreSorted(got) || len(got) != 5 {
		t.Errorf("stray folders reported as %v, want 5 in order", got)
	}
}

func TestBoxesSource(t *testing.T) {
	root := tree(t, map[string]string{
		"boxes.csv": "file,face,label,x0,y0,x1,y1\n" +
			"s/a.jpg,0,wear,3,205,32,225\n" +
			"s/a.jpg,1,with_mask,35.0,178,63,208\n" +
			"s/a.jpg,2,mask_weared_incorrect,56,160,78,187\n" +
			"s/b.jpg,0,none,10,10,50,60\n" +
			"s/b.jpg,0,none,60,10,90,60\n" + // face 0 twice
			"s/b.jpg,1,none,50,10,40,60\n" + // x1 < x0
			"s/b.jpg,2,none,-1,10,40,60\n" +
			"s/b.jpg,3,none,1.5,10,40,60\n" +
			"s/b.jpg,4,helmet,10,10,40,60\n" +
			"s/gone.jpg,0,wear,10,10,40,60\n" +
			",0,wear,10,10,40,60\n",
		"s/a.jpg": "", "s/b.jpg": "", "../out.jpg": "",
		"nofaces.csv": "path,mask,x0,y0,x1,y1\n" +
			"s/a.jpg,wear,1,2,3,4\n" +
			"s/a.jpg,none,5,6,7,8\n" +
			"../out.jpg,none,5,6,7,8\n",
		"nobox.csv": "file,label,x0,y0\ns/a.jpg,wear,1,2\n",
	})
	res := load(t, "boxes:"+filepath.Join(root, "boxes.csv"))
	checkReasons(t, res, map[string]int{ReasonBadRow: 6, ReasonMissing: 1})
	got := byID(res)
	if len(got) != 4 {
		t.Fatalf("%d samples, want 4: %v", len(got), res.Samples)
	}
	for id, want := range map[string]struct {
		mask   int8
		box    image.Rectangle
		person string
	}{
		"boxes/s/a.jpg#0": {label.Wear, image.Rect(3, 205, 32, 225), "boxes/s/a.jpg"},
		"boxes/s/a.jpg#1": {label.Wear, image.Rect(35, 178, 63, 208), "boxes/s/a.jpg"},
		"boxes/s/a.jpg#2": {label.Incorrect, image.Rect(56, 160, 78, 187), "boxes/s/a.jpg"},
		"boxes/s/b.jpg#0": {label.NoMask, image.Rect(10, 10, 50, 60), "boxes/s/b.jpg"},
	} {
		s, ok := got[id]
		if !ok {
			t.Errorf("no sample %s", id)
			continue
		}
		if s.Mask != want.mask || s.Box != want.box || s.Person != want.person || s.Source != KindBoxes ||
			s.Gender != label.Unknown || s.Label != label.Unknown || s.Path != filepath.Join(root, filepath.FromSlash(strings.SplitN(id[len("boxes/"):], "#", 2)[0])) {
			t.Errorf("%s = %+v", id, s)
		}
	}
	// Without a face column, faces are numbered by their rows per photo.
	res = load(t, "boxes:"+filepath.Join(root, "nofaces.csv"))
	checkReasons(t, res, nil)
	if got := byID(res); got["boxes/s/a.jpg#0"].Box != image.Rect(1, 2, 3, 4) || got["boxes/s/a.jpg#1"].Mask != label.NoMask {
		t.Errorf("numbered faces: %v", res.Samples)
	}
	// A photo outside the CSV's folder: its absolute path, as a safe id.
	out := filepath.Join(filepath.Dir(root), "out.jpg")
	if s := res.Samples[len(res.Samples)-1]; s.Path != out || s.ID != "boxes/"+strings.TrimLeft(filepath.ToSlash(out), "/")+"#0" {
		t.Errorf("photo outside the folder: %+v", s)
	}
	src, _ := ParseSource("boxes:" + filepath.Join(root, "nobox.csv"))
	if _, err := Load(src, bins58); err == nil || !strings.Contains(err.Error(), `"x1"`) {
		t.Errorf("a table without x1, y1: err = %v", err)
	}
}

// Images outside the CSV's folder get ids that stay inside an output
// folder (facet-crop names its crops by id and refuses "../").
func TestCSVPathsOutsideItsFolder(t *testing.T) {
	root := tree(t, map[string]string{
		"lists/list.csv": "path,gender\n../img/a.jpg,male\n/abs/b.jpg,female\nsub/c.jpg,male\n",
	})
	res := load(t, "csv:"+filepath.Join(root, "lists", "list.csv"))
	want := []string{
		"csv/" + strings.TrimPrefix(filepath.ToSlash(filepath.Join(root, "img", "a.jpg")), "/"),
		"csv/abs/b.jpg",
		"csv/sub/c.jpg",
	}
	if len(res.Samples) != len(want) {
		t.Fatalf("%d samples, want %d", len(res.Samples), len(want))
	}
	for i, s := range res.Samples {
		if s.ID != want[i] {
			t.Errorf("row %d: id %q, want %q", i, s.ID, want[i])
		}
		if err := table.CheckID(s.ID); err != nil {
			t.Errorf("row %d: %v", i, err)
		}
	}
}
