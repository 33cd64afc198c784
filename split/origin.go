package main

// Rows that a stage made (table.Origin: facet-augment's augmented copies
// and synthetic masks, pseudo labels) are never validation data, in
// whatever order the programs ran. They take no part in the split: the
// folds and class shares are those of the original rows alone, so
// augmenting a table does not move any original row to another fold.
// Each made row gets the fold of its group (its person, and so its
// parent's) and is training data only: it lies in the train files of the
// folds that do not validate its person and in no val file. A group of
// made rows alone (pseudo labels of new persons) is training data in
// every fold (fold -1).

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/boostershot/facet/internal/cli"
	"github.com/boostershot/facet/internal/fold"
	"github.com/boostershot/facet/internal/table"
)

// madeRows counts the rows a stage made, by origin, and the groups that
// held nothing else.
type madeRows struct {
	byOrigin map[table.Origin]int
	rows     int
	groups   int // groups of made rows alone: training data in every fold
}

// keepMadeOut narrows p (whose rows are the table's rows with rowGroup >=
// 0, in order) to the original rows, and updates rowGroup: a made row
// keeps its group's new number, a group of made rows alone becomes -1.
func keepMadeOut(recs []arrow.RecordBatch, p *fold.Problem, names *[]string, rowGroup []int) (madeRows, error) {
	made := madeRows{byOrigin: map[table.Origin]int{}}
	origins := table.OriginsOf(recs)
	keepRow := make([]bool, 0, len(p.Groups))
	for row, o := range origins {
		if !o.IsOriginal() {
			made.byOrigin[o]++
			made.rows++
		}
		if rowGroup[row] >= 0 {
			keepRow = append(keepRow, o.IsOriginal())
		}
	}
	if made.rows == 0 {
		return made, nil
	}
	sub, newGroup := narrow(*p, *names, keepRow)
	if len(sub.p.Groups) == 0 {
		return made, fmt.Errorf("every row that may be validation data was made by a stage (%s): none is original", made.origins())
	}
	for _, g := range newGroup {
		if g < 0 {
			made.groups++
		}
	}
	for row, g := range rowGroup {
		if g >= 0 {
			rowGroup[row] = newGroup[g]
		}
	}
	*p, *names = sub.p, sub.names
	return made, nil
}

// origins lists the made rows' origins with their counts.
func (m madeRows) origins() string {
	keys := make([]table.Origin, 0, len(m.byOrigin))
	for o := range m.byOrigin {
		keys = append(keys, o)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, o := range keys {
		parts[i] = fmt.Sprintf("%d %s", m.byOrigin[o], o)
	}
	return strings.Join(parts, ", ")
}

// report says what was kept out of validation for its origin.
func (m madeRows) report(w io.Writer, by string) {
	if m.rows == 0 {
		return
	}
	msg := fmt.Sprintf("%d rows made by facet stages (origin: %s) are training data only: in the train files of the folds that do not validate their %s, in no val file",
		m.rows, m.origins(), by)
	if m.groups > 0 {
		msg += fmt.Sprintf("; %d groups of such rows alone are in every train file", m.groups)
	}
	cli.Printf(w, program, "%s", msg)
}
