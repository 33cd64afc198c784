package dataset

import (
	"fmt"
	"image"
	"os"
	"path/filepath"
	"strconv"

	"github.com/boostershot/facet/internal/label"
	"github.com/boostershot/facet/internal/table"
)

// loadBoxes reads a table of annotated face boxes, one row per face, as a
// face-detection data set gives them (e.g. ../shared/data/crowds/boxes.csv):
// a file (or path) column relative to the CSV's folder, the box x0 y0 x1 y1
// in photo pixels (x1, y1 exclusive), the mask label in label (or mask;
// names, numbers or the usual aliases such as with_mask), and optionally
// face (the face's number within its photo; by default its rank among the
// photo's rows), person, subset, gender and age. Each face becomes a row
// with id boxes/FILE#FACE (the id facet-crop --faces all gives a photo's
// faces, so the crop of face 3 of a.jpg is a.jpg#3.jpg) and the box in the
// box_* columns; its person is the photo (boxes/FILE) unless given, so all
// faces of one scene stay in one fold.
func loadBoxes(src Source, file string, bins label.Bins, res *Result) error {
	header, rows, err := readCSV(file, "x0", "y0", "x1", "y1")
	if err != nil {
		return err
	}
	col := "file"
	if _, ok := header[col]; !ok {
		col = "path"
		if _, ok := header[col]; !ok {
			return fmt.Errorf("%s has neither a file nor a path column", filepath.Base(file))
		}
	}
	maskCol := "label"
	if _, ok := header[maskCol]; !ok {
		maskCol = "mask"
	}
	base := filepath.Dir(file)
	stem := filepath.Base(file)
	exists := map[string]bool{}
	faces := map[string]int{} // rows seen per photo, for the default face number
	seen := map[string]int{}  // id -> line
	for n, row := range rows {
		line := fmt.Sprintf("%s line %d", stem, n+2)
		if err := checkUTF8(row); err != nil {
			res.problem(src, line, ReasonBadRow, "%v", err)
			continue
		}
		name := field(row, header, col)
		if name == "" {
			res.problem(src, line, ReasonBadRow, "empty %s", col)
			continue
		}
		p := name
		if !filepath.IsAbs(p) {
			p = filepath.Join(base, filepath.FromSlash(p))
		}
		rel := pathID(base, p)
		k := faces[p]
		faces[p]++
		if f := field(row, header, "face"); f != "" {
			var err error
			if k, err = strconv.Atoi(f); err != nil || k < 0 {
				res.problem(src, line, ReasonBadRow, "face %q is not a number from 0", f)
				continue
			}
		}
		box, err := boxOf(row, header)
		if err != nil {
			res.problem(src, line, ReasonBadRow, "%v", err)
			continue
		}
		ok, known := exists[p]
		if !known {
			st, err := os.Stat(p)
			ok = err == nil && st.Mode().IsRegular()
			exists[p] = ok
		}
		if !ok {
			res.problem(src, line, ReasonMissing, "%s", p)
			continue
		}
		id := KindBoxes + "/" + rel + "#" + strconv.Itoa(k)
		if first, dup := seen[id]; dup {
			res.problem(src, line, ReasonBadRow, "face %d of %s already on line %d", k, rel, first)
			continue
		}
		seen[id] = n + 2
		person := field(row, header, "person")
		if person == "" {
			person = KindBoxes + "/" + rel
		}
		subset := field(row, header, "subset")
		if subset == "" {
			subset = "train"
		}
		s := table.NewSample(id, p, person, KindBoxes, subset)
		s.Box = box
		if s.Mask, err = label.Parse(label.HeadMask, field(row, header, maskCol)); err != nil {
			res.problem(src, line, ReasonBadRow, "%v", err)
			continue
		}
		if s.Gender, err = label.Parse(label.HeadGender, field(row, header, "gender")); err != nil {
			res.problem(src, line, ReasonBadRow, "%v", err)
			continue
		}
		if a := field(row, header, "age"); a != "" && a != "-1" {
			age, err := strconv.Atoi(a)
			if err == nil {
				err = label.CheckAge(age)
			}
			if err != nil {
				res.problem(src, line, ReasonBadRow, "age %q is not a number of years (0..%d)", a, label.MaxAge)
				continue
			}
			s.SetAge(age, bins)
		}
		s.Relabel()
		res.Samples = append(res.Samples, s)
	}
	return nil
}

// boxOf reads x0 y0 x1 y1: whole pixels, x0 < x1, y0 < y1, none negative.
func boxOf(row []string, header map[string]int) (image.Rectangle, error) {
	var v [4]int
	for i, name := range []string{"x0", "y0", "x1", "y1"} {
		s := field(row, header, name)
		n, err := strconv.Atoi(s)
		if err != nil {
			// Some tools write whole pixels as 12.0.
			f, ferr := strconv.ParseFloat(s, 64)
			if ferr != nil || f != float64(int(f)) {
				return image.Rectangle{}, fmt.Errorf("%s %q is not a whole number of pixels", name, s)
			}
			n = int(f)
		}
		if n < 0 || n > 1<<20 {
			return image.Rectangle{}, fmt.Errorf("%s %d out of range", name, n)
		}
		v[i] = n
	}
	if v[2] <= v[0] || v[3] <= v[1] {
		return image.Rectangle{}, fmt.Errorf("empty box %d,%d,%d,%d (want x0 < x1 and y0 < y1)", v[0], v[1], v[2], v[3])
	}
	return image.Rect(v[0], v[1], v[2], v[3]), nil
}
