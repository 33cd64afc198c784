package dataset

import (
	"fmt"

	"github.com/boostershot/facet/internal/label"
	"github.com/boostershot/facet/internal/table"
)

// GenderConflict is a person whose rows give both genders: two
// competition folders with one id and different genders, or CSV rows of
// one person. The rows stay one person (facet-split keeps them in one
// fold, the safe side), but at least one side's gender is wrong.
type GenderConflict struct {
	Person       string
	Male, Female int // rows of each gender
}

func (c GenderConflict) String() string {
	return fmt.Sprintf("person %s has %d %s and %d %s rows", c.Person,
		c.Male, label.Name(label.HeadGender, label.Male), c.Female, label.Name(label.HeadGender, label.Female))
}

// GenderConflicts lists the persons whose rows give both genders, in the
// order their first rows come. Rows of unknown gender take no side.
func GenderConflicts(samples []table.Sample) []GenderConflict {
	index := map[string]int{}
	var all []GenderConflict
	for _, s := range samples {
		if s.Gender != label.Male && s.Gender != label.Female {
			continue
		}
		i, ok := index[s.Person]
		if !ok {
			i = len(all)
			index[s.Person] = i
			all = append(all, GenderConflict{Person: s.Person})
		}
		if s.Gender == label.Male {
			all[i].Male++
		} else {
			all[i].Female++
		}
	}
	var out []GenderConflict
	for _, c := range all {
		if c.Male > 0 && c.Female > 0 {
			out = append(out, c)
		}
	}
	return out
}
