package dataset

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/boostershot/facet/internal/label"
	"github.com/boostershot/facet/internal/table"
)

// competitionImages are the seven photos of a competition person, in order,
// and their mask state.
var competitionImages = []struct {
	Stem string
	Mask int8
}{
	{"mask1", label.Wear}, {"mask2", label.Wear}, {"mask3", label.Wear}, {"mask4", label.Wear}, {"mask5", label.Wear},
	{"incorrect_mask", label.Incorrect}, {"normal", label.NoMask},
}

// Folder is a parsed competition person folder name,
// <id>_<gender>_<race>_<age>, e.g. 000001_female_Asian_45.
type Folder struct {
	ID     string
	Gender int8
	Race   string
	Age    int
}

// genderOf reads a gender a file name writes as male or female (the
// layout's words for them); the error quotes name.
func genderOf(name, v, male, female string) (int8, error) {
	switch v {
	case male:
		return label.Male, nil
	case female:
		return label.Female, nil
	}
	return 0, fmt.Errorf("%q: gender %q is not %s or %s", name, v, male, female)
}

// ParseFolder parses a competition person folder name.
func ParseFolder(name string) (Folder, error) {
	parts := strings.Split(name, "_")
	if len(parts) != 4 {
		return Folder{}, fmt.Errorf("%q is not <id>_<gender>_<race>_<age>", name)
	}
	f := Folder{ID: parts[0], Race: parts[2]}
	if f.ID == "" || f.Race == "" {
		return Folder{}, fmt.Errorf("%q has an empty id or race", name)
	}
	var err error
	if f.Gender, err = genderOf(name, parts[1], "male", "female"); err != nil {
		return Folder{}, err
	}
	age, err := strconv.Atoi(parts[3])
	if err != nil || strings.TrimLeft(parts[3], "0123456789") != "" {
		return Folder{}, fmt.Errorf("%q: age %q is not a number of years", name, parts[3])
	}
	if err := label.CheckAge(age); err != nil {
		return Folder{}, fmt.Errorf("%q: age %w", name, err)
	}
	f.Age = age
	return f, nil
}

// loadCompetition reads the competition layout. path is the train folder
// (train.csv + images/), the eval folder (info.csv + images/) or a folder
// holding both as train/ and eval/.
func loadCompetition(src Source, path string, bins label.Bins, res *Result) error {
	has := func(p ...string) bool {
		_, err := os.Stat(filepath.Join(append([]string{path}, p...)...))
		return err == nil
	}
	switch {
	case has("train.csv"):
		return loadCompetitionTrain(src, path, bins, res)
	case has("info.csv"):
		return loadCompetitionEval(src, path, res)
	case has("train", "train.csv") || has("eval", "info.csv"):
		found := false
		if has("train", "train.csv") {
			if err := loadCompetitionTrain(src, filepath.Join(path, "train"), bins, res); err != nil {
				return err
			}
			found = true
		}
		if has("eval", "info.csv") {
			if err := loadCompetitionEval(src, filepath.Join(path, "eval"), res); err != nil {
				return err
			}
			found = true
		}
		if found {
			return nil
		}
	}
	return errors.New("no train.csv or info.csv here: give the competition's train/ or eval/ folder, or the folder holding both")
}

// readCSV reads a CSV file with a header, checking the header holds want.
func readCSV(path string, want ...string) (header map[string]int, rows [][]string, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	head, err := r.Read()
	if err == io.EOF {
		return nil, nil, fmt.Errorf("%s is empty", filepath.Base(path))
	}
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	header = map[string]int{}
	for i, h := range head {
		h = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
		header[strings.ToLower(h)] = i
	}
	for _, w := range want {
		if _, ok := header[w]; !ok {
			return nil, nil, fmt.Errorf("%s has no %q column (header: %s)", filepath.Base(path), w, strings.Join(head, ","))
		}
	}
	rows, err = r.ReadAll()
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	return header, rows, nil
}

// checkUTF8 refuses a CSV row with a field that is not UTF-8 (a file
// saved in another encoding): its text would go into utf8 columns.
func checkUTF8(row []string) error {
	for i, f := range row {
		if !utf8.ValidString(f) {
			return fmt.Errorf("field %d (%s) is not valid UTF-8: save the file as UTF-8", i+1, EscapeName(f))
		}
	}
	return nil
}

// rowPath is the path column of a CSV row (line names it); a row that
// is not UTF-8 or has no path is a problem of r, and ok is false.
func (r *Result) rowPath(src Source, line string, row []string, header map[string]int) (path string, ok bool) {
	if err := checkUTF8(row); err != nil {
		r.problem(src, line, ReasonBadRow, "%v", err)
		return "", false
	}
	if path = field(row, header, "path"); path == "" {
		r.problem(src, line, ReasonBadRow, "empty path")
		return "", false
	}
	return path, true
}

func field(row []string, header map[string]int, name string) string {
	if i, ok := header[name]; ok && i < len(row) {
		return strings.TrimSpace(row[i])
	}
	return ""
}

// listDir lists a folder's entries: name -> is a folder, and the names in
// sorted order; hidden system files are counted in res.Ignored, names
// that are not UTF-8 are problems (relative to the folder above, under).
func listDir(src Source, dir, under string, res *Result) (map[string]bool, []string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, err
	}
	isDir := map[string]bool{}
	var names []string // sorted, as ReadDir gives them
	for _, e := range entries {
		if IsHidden(e.Name()) {
			res.Ignored++
			continue
		}
		if !utf8.ValidString(e.Name()) {
			res.problem(src, under+EscapeName(e.Name()), ReasonFileName, "%s", notUTF8)
			continue
		}
		isDir[e.Name()] = e.IsDir()
		names = append(names, e.Name())
	}
	return isDir, names, nil
}

func loadCompetitionTrain(src Source, dir string, bins label.Bins, res *Result) error {
	header, rows, err := readCSV(filepath.Join(dir, "train.csv"), "id", "gender", "age", "path")
	if err != nil {
		return err
	}
	imagesDir := filepath.Join(dir, "images")
	onDisk, names, err := listDir(src, imagesDir, "images/", res)
	if err != nil {
		return fmt.Errorf("train images: %w", err)
	}
	listed := map[string]bool{}
	for n, row := range rows {
		line := fmt.Sprintf("train.csv line %d", n+2)
		folder, ok := res.rowPath(src, line, row, header)
		if !ok {
			continue
		}
		if listed[folder] {
			res.problem(src, line, ReasonBadRow, "folder %s listed twice", folder)
			continue
		}
		listed[folder] = true
		f, err := ParseFolder(folder)
		if err != nil {
			res.problem(src, folder, ReasonFolderName, "%v", err)
			continue
		}
		if err := checkTrainRow(row, header, f); err != nil {
			res.problem(src, folder, ReasonMismatch, "%v", err)
			continue
		}
		isDir, ok := onDisk[folder]
		if !ok || !isDir {
			res.problem(src, folder, ReasonMissing, "folder images/%s not found: %d images", folder, len(competitionImages))
			continue
		}
		loadPerson(src, filepath.Join(imagesDir, folder), folder, f, bins, res)
	}
	for _, name := range names {
		if !listed[name] {
			what := "file"
			if onDisk[name] {
				what = "folder"
			}
			res.problem(src, "images/"+name, ReasonStray, "%s not listed in train.csv", what)
		}
	}
	return nil
}

// checkTrainRow checks that a train.csv row agrees with its folder name.
func checkTrainRow(row []string, header map[string]int, f Folder) error {
	if id := field(row, header, "id"); id != f.ID {
		return fmt.Errorf("csv id %q, folder id %q", id, f.ID)
	}
	if g := field(row, header, "gender"); g != label.Name(label.HeadGender, f.Gender) {
		return fmt.Errorf("csv gender %q, folder gender %q", g, label.Name(label.HeadGender, f.Gender))
	}
	if a := field(row, header, "age"); a != strconv.Itoa(f.Age) {
		return fmt.Errorf("csv age %q, folder age %d", a, f.Age)
	}
	return nil
}

// loadPerson reads one person's folder: the seven photos, whatever their
// extensions, reporting missing, doubled and stray files.
func loadPerson(src Source, dir, folder string, f Folder, bins label.Bins, res *Result) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		res.problem(src, folder, ReasonMissing, "%v", err)
		return
	}
	byStem := map[string][]string{}
	for _, e := range entries {
		name := e.Name()
		if IsHidden(name) {
			res.Ignored++
			continue
		}
		if !utf8.ValidString(name) {
			res.problem(src, folder+"/"+EscapeName(name), ReasonFileName, "%s", notUTF8)
			continue
		}
		stem := strings.TrimSuffix(name, filepath.Ext(name))
		if e.IsDir() || !IsImageName(name) || !isCompetitionStem(stem) {
			res.problem(src, folder+"/"+name, ReasonStray, "not one of mask1..mask5, incorrect_mask, normal")
			continue
		}
		byStem[stem] = append(byStem[stem], name)
	}
	var missing []string
	for _, img := range competitionImages {
		files := byStem[img.Stem]
		switch len(files) {
		case 0:
			missing = append(missing, img.Stem)
			continue
		case 1:
		default:
			for _, name := range files {
				res.problem(src, folder+"/"+name, ReasonDuplicate, "%s exists as %s", img.Stem, strings.Join(files, " and "))
			}
			continue
		}
		s := table.NewSample(folder+"/"+img.Stem, filepath.Join(dir, files[0]), f.ID, KindCompetition, "train")
		s.Race = f.Race
		s.SetLabels(img.Mask, f.Gender, f.Age, bins)
		res.Samples = append(res.Samples, s)
	}
	if len(missing) > 0 {
		res.problem(src, folder, ReasonCount, "%d of %d images, missing %s", len(competitionImages)-len(missing), len(competitionImages), strings.Join(missing, ", "))
	}
}

func isCompetitionStem(stem string) bool {
	for _, img := range competitionImages {
		if img.Stem == stem {
			return true
		}
	}
	return false
}

// loadCompetitionEval reads eval/info.csv and eval/images. Eval images
// carry no labels; each is its own person, as nothing says otherwise.
func loadCompetitionEval(src Source, dir string, res *Result) error {
	header, rows, err := readCSV(filepath.Join(dir, "info.csv"), "imageid")
	if err != nil {
		return err
	}
	imagesDir := filepath.Join(dir, "images")
	onDisk, names, err := listDir(src, imagesDir, "eval/images/", res)
	if err != nil {
		return fmt.Errorf("eval images: %w", err)
	}
	listed := map[string]bool{}
	for n, row := range rows {
		if err := checkUTF8(row); err != nil {
			res.problem(src, fmt.Sprintf("info.csv line %d", n+2), ReasonBadRow, "%v", err)
			continue
		}
		id := field(row, header, "imageid")
		switch {
		case id == "" || strings.ContainsAny(id, `/\`):
			res.problem(src, fmt.Sprintf("info.csv line %d", n+2), ReasonBadRow, "ImageID %q is not a file name", id)
			continue
		case listed[id]:
			res.problem(src, fmt.Sprintf("info.csv line %d", n+2), ReasonBadRow, "ImageID %s listed twice", id)
			continue
		}
		listed[id] = true
		if isDir, ok := onDisk[id]; !ok || isDir {
			res.problem(src, "eval/images/"+id, ReasonMissing, "listed in info.csv, not on disk")
			continue
		}
		s := table.NewSample("eval/"+id, filepath.Join(imagesDir, id), "eval/"+id, KindCompetition, "eval")
		res.Samples = append(res.Samples, s)
	}
	for _, name := range names {
		if !listed[name] {
			res.problem(src, "eval/images/"+name, ReasonStray, "not listed in info.csv")
		}
	}
	return nil
}
