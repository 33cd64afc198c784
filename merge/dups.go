package main

import (
	"fmt"
	"io"
	"strconv"

	"github.com/boostershot/facet/internal/cli"
	"github.com/boostershot/facet/internal/dup"
	"github.com/boostershot/facet/internal/label"
)

// duplicateGroups is each row's duplicate group (its first row; -1
// alone): from facet-split's dup_group column when the table has one,
// else from crop_hash within maxDist bits (none when maxDist is 0). It is
// nil when the table has neither.
func duplicateGroups(in *input, maxDist int) ([]int, error) {
	if ids := in.optionalStrings(dup.ColGroup); ids != nil {
		first := map[string]int{}
		groups := make([]int, len(ids))
		count := map[string]int{}
		for _, g := range ids {
			count[g]++
		}
		for row, g := range ids {
			groups[row] = -1
			if g == "" || count[g] < 2 {
				continue
			}
			if _, ok := first[g]; !ok {
				first[g] = row
			}
			groups[row] = first[g]
		}
		return groups, nil
	}
	groups, err := dup.TableGroups(in.recs, maxDist)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", in.name, err)
	}
	return groups, nil
}

// dupRow is one row whose label its duplicates disagree with.
type dupRow struct {
	c          dup.Conflict
	id, other  string
	given, ref string
	rows       int // in its group
}

// dupConflicts lists the rows of duplicate groups whose labels conflict
// (internal/dup decides which, and the label the group agrees on).
func dupConflicts(d *oof, groups []int) []dupRow {
	if groups == nil {
		return nil
	}
	labels := make([]dup.Labels, len(d.IDs))
	for i := range labels {
		labels[i] = dup.Labels{Mask: d.Labels[label.HeadMask][i], Gender: d.Labels[label.HeadGender][i],
			AgeGroup: d.Labels[label.HeadAgeGroup][i], Age: d.ages[i]}
		if d.Skip[i] {
			labels[i] = dup.Labels{Mask: -1, Gender: -1, AgeGroup: -1, Age: -1}
		}
	}
	size := map[int]int{}
	for _, g := range groups {
		size[g]++
	}
	var out []dupRow
	for _, c := range dup.Conflicts(groups, labels, dup.DefaultAgeGap) {
		name := func(v int) string {
			if c.Field == dup.FieldAge {
				return strconv.Itoa(v)
			}
			return label.Name(label.Head(c.Field), int8(v))
		}
		out = append(out, dupRow{c: c, id: d.IDs[c.Row], other: d.IDs[c.Other], given: name(c.Value), ref: name(c.Ref), rows: size[c.Group]})
	}
	return out
}

// csv is the corrections line: set the field to the group's label.
func (r dupRow) csv() []string {
	note := fmt.Sprintf("duplicate of %s: %s %s vs %s", r.other, r.c.Field, r.given, r.ref)
	if r.c.Tie {
		note += " (no majority: check which is right)"
	}
	return []string{"id", r.id, r.c.Field, r.ref, note, r.given, r.ref, "", "", "", strconv.Itoa(r.rows)}
}

func reportDuplicates(w io.Writer, groups []int, rows []dupRow) {
	n := map[int]bool{}
	for _, g := range groups {
		if g >= 0 {
			n[g] = true
		}
	}
	cs := make([]dup.Conflict, len(rows))
	for i, r := range rows {
		cs[i] = r.c
	}
	total, _ := dup.ConflictGroups(cs)
	cli.Printf(w, program, "duplicates: %d groups, %d with conflicting labels (%d rows listed)", len(n), total, len(rows))
}
