package dup

import (
	"slices"
)

// Labels are the labels of one row that its duplicates should share;
// -1 is unknown and never conflicts.
type Labels struct {
	Mask, Gender, AgeGroup int8
	Age                    int16
}

// Fields that can conflict, in the order conflicts are listed.
const (
	FieldMask     = "mask"
	FieldGender   = "gender"
	FieldAgeGroup = "age_group"
	FieldAge      = "age"
)

// Conflict is one row whose label differs from the one its duplicate
// group agrees on: Value against Ref, the label of row Other.
type Conflict struct {
	Group      int // the group: its smallest row
	Row, Other int
	Field      string
	Value, Ref int
	Tie        bool // no label has a majority: Ref is the first row's
}

// Conflicts lists the rows of each duplicate group (groups as Groups
// returns them) whose labels disagree with the group's: for mask, gender
// and age group the most common known label (a tie goes to the label of
// the group's first row that has one), for age the group's median age
// (the lower of the two middle ones), with ages within maxAgeGap years of
// it agreeing. Conflicts come by group, then field, then row.
func Conflicts(groups []int, labels []Labels, maxAgeGap int) []Conflict {
	members := map[int][]int{}
	var order []int
	for row, g := range groups {
		if g < 0 {
			continue
		}
		if _, ok := members[g]; !ok {
			order = append(order, g)
		}
		members[g] = append(members[g], row)
	}
	slices.Sort(order)
	var out []Conflict
	for _, g := range order {
		rows := members[g]
		for _, f := range []struct {
			name string
			get  func(Labels) int
		}{
			{FieldMask, func(l Labels) int { return int(l.Mask) }},
			{FieldGender, func(l Labels) int { return int(l.Gender) }},
			{FieldAgeGroup, func(l Labels) int { return int(l.AgeGroup) }},
		} {
			out = append(out, categorical(g, rows, labels, f.name, f.get)...)
		}
		out = append(out, ages(g, rows, labels, maxAgeGap)...)
	}
	return out
}

// categorical is the conflicts of one class field within one group.
func categorical(g int, rows []int, labels []Labels, field string, get func(Labels) int) []Conflict {
	count := map[int]int{}
	firstRow := map[int]int{} // label -> first row with it
	var known []int
	for _, r := range rows {
		v := get(labels[r])
		if v < 0 {
			continue
		}
		if _, ok := count[v]; !ok {
			firstRow[v] = r
			known = append(known, v) // in row order
		}
		count[v]++
	}
	if len(known) < 2 {
		return nil
	}
	ref, tie := known[0], false
	for _, v := range known[1:] {
		if count[v] > count[ref] {
			ref = v
		}
	}
	for _, v := range known {
		if v != ref && count[v] == count[ref] {
			tie = true
		}
	}
	var out []Conflict
	for _, r := range rows {
		if v := get(labels[r]); v >= 0 && v != ref {
			out = append(out, Conflict{Group: g, Row: r, Other: firstRow[ref], Field: field, Value: v, Ref: ref, Tie: tie})
		}
	}
	return out
}

// ages is the age conflicts within one group.
func ages(g int, rows []int, labels []Labels, maxGap int) []Conflict {
	var known []int
	for _, r := range rows {
		if labels[r].Age >= 0 {
			known = append(known, r)
		}
	}
	if len(known) < 2 {
		return nil
	}
	byAge := slices.Clone(known)
	slices.SortStableFunc(byAge, func(a, b int) int { return int(labels[a].Age) - int(labels[b].Age) })
	mid := byAge[(len(byAge)-1)/2]
	ref := int(labels[mid].Age)
	tie := len(byAge)%2 == 0 && int(labels[byAge[len(byAge)/2]].Age)-ref > maxGap
	var out []Conflict
	for _, r := range known {
		if v := int(labels[r].Age); v-ref > maxGap || ref-v > maxGap {
			out = append(out, Conflict{Group: g, Row: r, Other: mid, Field: FieldAge, Value: v, Ref: ref, Tie: tie})
		}
	}
	return out
}

// ConflictGroups counts the groups with at least one conflict, in all
// and by field.
func ConflictGroups(cs []Conflict) (total int, byField map[string]int) {
	byField = map[string]int{}
	seen := map[int]bool{}
	seenField := map[[2]any]bool{}
	for _, c := range cs {
		if !seen[c.Group] {
			seen[c.Group] = true
			total++
		}
		k := [2]any{c.Group, c.Field}
		if !seenField[k] {
			seenField[k] = true
			byField[c.Field]++
		}
	}
	return total, byField
}

// DefaultAgeGap is how many years the ages of duplicates may differ
// before they count as a conflict: UTKFace's near-identical pictures
// often carry ages 2-3 years apart, a guess rather than an error.
const DefaultAgeGap = 5

// Column names: the hash facet-crop writes and the group facet-split
// writes.
const (
	ColHash  = "crop_hash"       // uint64, null without a crop
	ColEdges = "crop_hash_edges" // list<uint64> of the 8 Edges, null without a crop
	ColGroup = "dup_group"       // utf8: the id of the group's first row, null when alone
)
