package dataset

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/boostershot/facet/internal/label"
	"github.com/boostershot/facet/internal/table"
)

// loadCSV reads a CSV with a path column (relative to the CSV's folder, or
// absolute) and any of id, person, subset, race, mask, gender, age,
// age_group, label. Labels are names or numbers; age sets age_group when
// that is not given, and label sets the parts when they are not.
func loadCSV(src Source, file string, bins label.Bins, res *Result) error {
	header, rows, err := readCSV(file, "path")
	if err != nil {
		return err
	}
	base := filepath.Dir(file)
	stem := filepath.Base(file)
	for n, row := range rows {
		line := fmt.Sprintf("%s line %d", stem, n+2)
		p, ok := res.rowPath(src, line, row, header)
		if !ok {
			continue
		}
		if !filepath.IsAbs(p) {
			p = filepath.Join(base, filepath.FromSlash(p))
		}
		id := field(row, header, "id")
		if id == "" {
			id = "csv/" + pathID(base, p)
		}
		person := field(row, header, "person")
		if person == "" {
			person = id
		}
		subset := field(row, header, "subset")
		if subset == "" {
			subset = "train"
		}
		s := table.NewSample(id, p, person, KindCSV, subset)
		s.Race = field(row, header, "race")
		if err := csvLabels(&s, row, header, bins); err != nil {
			res.problem(src, line, ReasonBadRow, "%v", err)
			continue
		}
		res.Samples = append(res.Samples, s)
	}
	return nil
}

func csvLabels(s *table.Sample, row []string, header map[string]int, bins label.Bins) error {
	var err error
	parse := func(h label.Head) int8 {
		v, e := label.Parse(h, field(row, header, string(h)))
		if e != nil && err == nil {
			err = e
		}
		return v
	}
	s.Mask, s.Gender, s.AgeGroup = parse(label.HeadMask), parse(label.HeadGender), parse(label.HeadAgeGroup)
	joint := parse(label.HeadLabel)
	if a := field(row, header, "age"); a != "" && a != "-1" {
		age, e := strconv.Atoi(a)
		if e != nil {
			return fmt.Errorf("age %q is not a number of years", a)
		}
		if e := label.CheckAge(age); e != nil {
			return fmt.Errorf("age %w", e)
		}
		g := bins.Group(age)
		if s.AgeGroup != label.Unknown && s.AgeGroup != g {
			return fmt.Errorf("age %d is in age group %d, the row says %d", age, g, s.AgeGroup)
		}
		s.SetAge(age, bins)
	}
	if err != nil {
		return err
	}
	if joint != label.Unknown {
		m, g, a := label.Split(joint)
		for _, p := range []struct {
			have *int8
			want int8
			head label.Head
		}{{&s.Mask, m, label.HeadMask}, {&s.Gender, g, label.HeadGender}, {&s.AgeGroup, a, label.HeadAgeGroup}} {
			if *p.have != label.Unknown && *p.have != p.want {
				return fmt.Errorf("label %d says %s %s, the row says %s", joint, p.head, label.Name(p.head, p.want), label.Name(p.head, *p.have))
			}
			*p.have = p.want
		}
	}
	s.Relabel()
	return nil
}

// pathID is the id of the image at p (absolute) for a CSV in folder base:
// its path relative to base, or, for an image outside base, its absolute
// path without the leading slash, so the id never climbs out of an output
// folder ("../x.jpg" would be refused by facet-crop).
func pathID(base, p string) string {
	if rel, err := filepath.Rel(base, p); err == nil && filepath.IsLocal(rel) {
		return filepath.ToSlash(rel)
	}
	return strings.TrimLeft(filepath.ToSlash(filepath.Clean(p)), "/")
}
