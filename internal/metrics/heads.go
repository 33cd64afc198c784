package metrics

import "github.com/boostershot/facet/internal/label"

// Head is the report of one of facet's heads (mask, gender, age_group)
// or of the 18 classes, with the names of its classes.
type Head struct {
	Head  string   `json:"head"`  // mask, gender, age_group or 18-class
	Title string   `json:"-"`     // for people: "mask", "age group", "18 classes"
	Names []string `json:"names"` // the head's class names, by class
	Report
}

// Heads reports the three heads and the 18 classes of rows with true
// parts mask, gender and age (-1 unknown) and predictions pm, pg, pa
// (per head) and p18 (the 18-class prediction). A head's report keeps
// the rows whose part is known, the 18-class report the rows with all
// three. Age groups are named by bins.
func Heads(mask, gender, age []int8, pm, pg, pa, p18 []int, bins label.Bins) []Head {
	c18 := make([]int8, len(mask))
	for i := range c18 {
		c18[i] = label.Join(mask[i], gender[i], age[i])
	}
	heads := []struct {
		name  string
		title string
		h     label.Head
		truth []int8
		pred  []int
	}{
		{"mask", "mask", label.HeadMask, mask, pm},
		{"gender", "gender", label.HeadGender, gender, pg},
		{"age_group", "age group", label.HeadAgeGroup, age, pa},
		{"18-class", "18 classes", label.HeadLabel, c18, p18},
	}
	out := make([]Head, len(heads))
	for i, h := range heads {
		names := bins.ClassNames(h.h)
		r := Classify(h.truth, h.pred, len(names))
		for k := range r.Classes {
			r.Classes[k].Name = names[r.Classes[k].Class]
		}
		out[i] = Head{Head: h.name, Title: h.title, Names: names, Report: r}
	}
	return out
}
