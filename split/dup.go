package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/spf13/pflag"

	"github.com/boostershot/facet/internal/cli"
	"github.com/boostershot/facet/internal/dup"
	"github.com/boostershot/facet/internal/fold"
	"github.com/boostershot/facet/internal/table"
)

// dupOptions are the duplicate flags.
type dupOptions struct {
	distance int
}

func (o *dupOptions) flags(fs *pflag.FlagSet) {
	cli.IntVar(fs, &o.distance, "dup-distance", dup.DefaultDistance, 0, dup.MaxDistance,
		"rows whose crop_hash (or crop_hash_edges) differ in at most `N` bits are duplicates and stay in one fold (0: off)")
}

// dups is what the duplicate pass found: each row's group (its first
// row, -1 alone), the rows' ids, and what the report says.
type dups struct {
	on        bool // the table has crop_hash and --dup-distance > 0
	distance  int
	group     []int
	ids       []string
	conflicts []dup.Conflict
	merged    int // person groups joined to another by a duplicate
}

// linkDuplicates finds the rows whose crop hashes are near and joins
// their groups in p (the union of person and duplicate links), so that
// no duplicate ever straddles two folds. Without a crop_hash column, or
// with --dup-distance 0, it changes nothing. Rows facet-augment made
// (dup.TableGroups) carry their parent's hash and already follow its
// person: they are left out.
func linkDuplicates(recs []arrow.RecordBatch, p *fold.Problem, o dupOptions) (*dups, error) {
	d := &dups{distance: o.distance}
	group, err := dup.TableGroups(recs, o.distance)
	if err != nil || group == nil {
		return d, err
	}
	d.on, d.group = true, group
	var labels []dup.Labels
	for _, rec := range recs {
		for _, s := range table.Samples(rec) {
			labels = append(labels, dup.Labels{Mask: s.Mask, Gender: s.Gender, AgeGroup: s.AgeGroup, Age: s.Age})
			d.ids = append(d.ids, s.ID)
		}
	}
	d.conflicts = dup.Conflicts(d.group, labels, dup.DefaultAgeGap)
	// Join the groups of duplicates, then number the joined groups in
	// order of first appearance.
	u := dup.NewUnionFind(p.NumGroups)
	for row, g := range d.group {
		if g >= 0 && p.Groups[row] != p.Groups[g] && u.Find(p.Groups[row]) != u.Find(p.Groups[g]) {
			u.Union(p.Groups[row], p.Groups[g])
			d.merged++
		}
	}
	renum := make([]int, p.NumGroups)
	for i := range renum {
		renum[i] = -1
	}
	n := 0
	for row, g := range p.Groups {
		r := u.Find(g)
		if renum[r] < 0 {
			renum[r] = n
			n++
		}
		p.Groups[row] = renum[r]
	}
	p.NumGroups = n
	return d, nil
}

// fields are the columns the duplicate pass adds.
func (d *dups) fields() []arrow.Field {
	if !d.on {
		return nil
	}
	return []arrow.Field{{Name: dup.ColGroup, Type: arrow.BinaryTypes.String, Nullable: true}}
}

// columns are the added columns for rows from, from+1, ..., from+n-1.
func (d *dups) columns(from, n int) []arrow.Array {
	if !d.on {
		return nil
	}
	b := array.NewStringBuilder(memory.DefaultAllocator)
	defer b.Release()
	for row := from; row < from+n; row++ {
		if g := d.group[row]; g >= 0 {
			b.Append(d.ids[g])
		} else {
			b.AppendNull()
		}
	}
	return []arrow.Array{b.NewArray()}
}

// report says how many duplicate groups there are, with how many rows,
// and how many of them disagree on a label.
func (d *dups) report(w io.Writer) {
	if !d.on {
		return
	}
	size := map[int]int{}
	for _, g := range d.group {
		if g >= 0 {
			size[g]++
		}
	}
	rows := 0
	for _, n := range size {
		rows += n
	}
	total, byField := dup.ConflictGroups(d.conflicts)
	var parts []string
	for _, f := range []string{dup.FieldMask, dup.FieldGender, dup.FieldAgeGroup, dup.FieldAge} {
		if byField[f] > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", f, byField[f]))
		}
	}
	conf := ""
	if total > 0 {
		conf = fmt.Sprintf(" (%s; ages more than %d years apart count)", strings.Join(parts, ", "), dup.DefaultAgeGap)
	}
	cli.Printf(w, program, "duplicates (crop_hash within %d bits): %d groups, %d rows, %d groups with conflicting labels%s; %d groups joined by them; facet-merge suspects lists the conflicts",
		d.distance, len(size), rows, total, conf, d.merged)
}

func releaseArrays(cols []arrow.Array) {
	for _, c := range cols {
		c.Release()
	}
}
