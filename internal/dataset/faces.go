package dataset

import (
	"fmt"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/boostershot/facet/internal/label"
	"github.com/boostershot/facet/internal/table"
)

// AAF is a parsed All-Age-Faces file name, %05dA%02d.jpg.
type AAF struct {
	Index  int
	Age    int
	Gender int8
}

// aafLastFemale is the highest All-Age-Faces index of a female face:
// 00000-07380 are female, 07381-13321 male; aafLast is the last index.
const (
	aafLastFemale = 7380
	aafLast       = 13321
)

// ParseAAF parses an All-Age-Faces file name such as 00123A45.jpg.
func ParseAAF(name string) (AAF, error) {
	stem := strings.TrimSuffix(name, filepath.Ext(name))
	idx, age, ok := strings.Cut(stem, "A")
	if !ok || len(idx) != 5 || len(age) < 1 || len(age) > 3 || !digits(idx) || !digits(age) || !IsImageName(name) {
		return AAF{}, fmt.Errorf("%q is not <5-digit index>A<age>.jpg", name)
	}
	a := AAF{}
	a.Index, _ = strconv.Atoi(idx)
	a.Age, _ = strconv.Atoi(age)
	if a.Index > aafLast {
		// The gender comes from the index: past the last one it is a guess.
		return AAF{}, fmt.Errorf("%q: index %d is outside All-Age-Faces' 00000..%05d", name, a.Index, aafLast)
	}
	if err := label.CheckAge(a.Age); err != nil {
		return AAF{}, fmt.Errorf("%q: age %w", name, err)
	}
	a.Gender = label.Male
	if a.Index <= aafLastFemale {
		a.Gender = label.Female
	}
	return a, nil
}

func digits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}

// loadAAF reads All-Age-Faces images from one folder (the dataset ships
// the same faces twice, as "original images" and "aligned faces": give one
// of the two). Each image is its own person; every face is unmasked.
func loadAAF(src Source, dir string, bins label.Bins, res *Result) error {
	files, err := walkFiles(src, dir, res)
	if err != nil {
		return err
	}
	for _, rel := range files {
		a, err := ParseAAF(path.Base(rel))
		if err != nil {
			res.problem(src, rel, ReasonFileName, "%v", err)
			continue
		}
		s := table.NewSample("aaf/"+rel, filepath.Join(dir, filepath.FromSlash(rel)), "aaf/"+rel, KindAAF, "train")
		s.Race = "Asian"
		s.SetLabels(label.NoMask, a.Gender, a.Age, bins)
		res.Samples = append(res.Samples, s)
	}
	return nil
}

// UTKFace is a parsed UTKFace file name, age_gender_race_datetime.jpg
// (the aligned set adds .chip.jpg). A few files lack the race field.
type UTKFace struct {
	Age    int
	Gender int8
	Race   string // "" when the name lacks it
}

// utkRaces are UTKFace's race codes.
var utkRaces = []string{"White", "Black", "Asian", "Indian", "Others"}

// ParseUTKFace parses a UTKFace file name.
func ParseUTKFace(name string) (UTKFace, error) {
	if !IsImageName(name) {
		return UTKFace{}, fmt.Errorf("%q is not an image", name)
	}
	parts := strings.Split(name, "_")
	if len(parts) < 3 || len(parts) > 4 || !digits(parts[0]) || len(parts[0]) > 3 {
		return UTKFace{}, fmt.Errorf("%q is not <age>_<gender>_<race>_<date>.jpg", name)
	}
	u := UTKFace{}
	u.Age, _ = strconv.Atoi(parts[0])
	if err := label.CheckAge(u.Age); err != nil {
		return UTKFace{}, fmt.Errorf("%q: age %w", name, err)
	}
	var err error
	if u.Gender, err = genderOf(name, parts[1], "0", "1"); err != nil {
		return UTKFace{}, err
	}
	if len(parts) == 4 {
		r, err := strconv.Atoi(parts[2])
		if err != nil || r < 0 || r >= len(utkRaces) {
			return UTKFace{}, fmt.Errorf("%q: race %q is not 0..4", name, parts[2])
		}
		u.Race = utkRaces[r]
	}
	return u, nil
}

// loadUTKFace reads UTKFace images under a folder, recursively. Each image
// is its own person; every face is unmasked.
func loadUTKFace(src Source, dir string, bins label.Bins, res *Result) error {
	files, err := walkFiles(src, dir, res)
	if err != nil {
		return err
	}
	for _, rel := range files {
		u, err := ParseUTKFace(path.Base(rel))
		if err != nil {
			res.problem(src, rel, ReasonFileName, "%v", err)
			continue
		}
		s := table.NewSample("utkface/"+rel, filepath.Join(dir, filepath.FromSlash(rel)), "utkface/"+rel, KindUTKFace, "train")
		s.Race = u.Race
		s.SetLabels(label.NoMask, u.Gender, u.Age, bins)
		res.Samples = append(res.Samples, s)
	}
	return nil
}

// loadImageFolder reads one subfolder per class of one head, e.g.
// masks/{wear,incorrect,none}/...: the subfolder names the class (by name,
// alias or number), the other heads stay unknown. Images may sit in deeper
// folders; each image is its own person.
func loadImageFolder(src Source, dir string, _ label.Bins, res *Result) error {
	files, err := walkFiles(src, dir, res)
	if err != nil {
		return err
	}
	root := filepath.Base(dir)
	classes := 0
	seen := map[string]bool{}
	for _, rel := range files {
		class, _, nested := strings.Cut(rel, "/")
		if !nested {
			res.problem(src, rel, ReasonStray, "file outside the class folders")
			continue
		}
		v, err := label.Parse(src.Head, class)
		if err != nil || v == label.Unknown {
			res.problem(src, rel, ReasonFolderName, "folder %q is not a %s class", class, src.Head)
			continue
		}
		if !IsImageName(rel) {
			res.problem(src, rel, ReasonStray, "not an image file name")
			continue
		}
		if !seen[class] {
			seen[class] = true
			classes++
		}
		id := "imagefolder/" + root + "/" + rel
		s := table.NewSample(id, filepath.Join(dir, filepath.FromSlash(rel)), id, KindImageFolder, "train")
		switch src.Head {
		case label.HeadMask:
			s.Mask = v
		case label.HeadGender:
			s.Gender = v
		case label.HeadAgeGroup:
			s.AgeGroup = v
		case label.HeadLabel:
			s.Mask, s.Gender, s.AgeGroup = label.Split(v)
		}
		s.Relabel()
		res.Samples = append(res.Samples, s)
	}
	if classes == 0 {
		return fmt.Errorf("no class folders with images (want e.g. %s/%s/*.jpg)", root, label.Name(src.Head, 0))
	}
	return nil
}
