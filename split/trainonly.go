package main

// --train-only: rows that are never validation data (extra training data,
// such as faces of other populations than the one the model is judged on).
//
// A row matches when any COLUMN=VALUE given matches it. Its whole group
// then becomes training-only: a group (person) is never split, and a group
// with both training-only and ordinary rows would otherwise put the
// training-only rows in the training file of the very fold that validates
// on the group's other rows. The report counts such groups and the rows
// they took out of validation.
//
// Training-only rows get fold -1, lie in every fold's train file and in no
// val file, and take no part in the split: folds, fold sizes and class-
// share targets are computed over the other rows only, so the validation
// rows are what they would be without the extra rows (given the same
// other rows and seed).

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/boostershot/facet/internal/cli"
	"github.com/boostershot/facet/internal/fold"
)

const trainOnlyUsage = "rows where `COLUMN=VALUE` (comma separated, repeatable; a utf8 or integer column) are training data in every fold, never validation"

// trainOnly is the --train-only rule: the rows matching any of its terms.
type trainOnly struct {
	terms []trainOnlyTerm
}

type trainOnlyTerm struct{ column, value string }

func (t trainOnlyTerm) String() string { return t.column + "=" + t.value }

func (t trainOnly) String() string {
	s := make([]string, len(t.terms))
	for i, term := range t.terms {
		s[i] = term.String()
	}
	return strings.Join(s, ",")
}

// parseTrainOnly reads the --train-only flags, each COLUMN=VALUE[,COLUMN=VALUE...].
func parseTrainOnly(flags []string) (trainOnly, error) {
	var t trainOnly
	for _, flag := range flags {
		for part := range strings.SplitSeq(flag, ",") {
			col, val, ok := strings.Cut(strings.TrimSpace(part), "=")
			col, val = strings.TrimSpace(col), strings.TrimSpace(val)
			if !ok || col == "" || val == "" {
				return trainOnly{}, cli.Usagef("--train-only %q: want COLUMN=VALUE[,COLUMN=VALUE...], e.g. source=aaf", flag)
			}
			t.terms = append(t.terms, trainOnlyTerm{col, val})
		}
	}
	return t, nil
}

// check checks every term against the table's schema: the column exists
// and is utf8 or an integer, and an integer column's value is an integer
// (written as the column's values print, so 07 matches 7).
func (t *trainOnly) check(schema *arrow.Schema) error {
	for i, term := range t.terms {
		idx := schema.FieldIndices(term.column)
		if len(idx) != 1 {
			return cli.Usagef("--train-only %s: the table has no single %q column", term, term.column)
		}
		typ := schema.Field(idx[0]).Type
		switch typ.ID() {
		case arrow.STRING, arrow.LARGE_STRING, arrow.STRING_VIEW:
		case arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64:
			v, err := strconv.ParseInt(term.value, 10, 64)
			if err != nil {
				return cli.Usagef("--train-only %s: %q is an integer column and %q is not an integer", term, term.column, term.value)
			}
			t.terms[i].value = strconv.FormatInt(v, 10)
		case arrow.UINT8, arrow.UINT16, arrow.UINT32, arrow.UINT64:
			v, err := strconv.ParseUint(term.value, 10, 64)
			if err != nil {
				return cli.Usagef("--train-only %s: %q is an unsigned integer column and %q is not one", term, term.column, term.value)
			}
			t.terms[i].value = strconv.FormatUint(v, 10)
		default:
			return cli.Usagef("--train-only %s: column %q is %s, want utf8 or an integer type", term, term.column, typ)
		}
	}
	return nil
}

// matches says, row by row, whether a row matches any term.
func (t trainOnly) matches(recs []arrow.RecordBatch) ([]bool, error) {
	var out []bool
	for _, rec := range recs {
		match := make([]bool, rec.NumRows())
		for _, term := range t.terms {
			values, err := columnStrings(rec, term.column)
			if err != nil {
				return nil, err
			}
			for i, v := range values { // null reads as "", which no term's value is
				if v == term.value {
					match[i] = true
				}
			}
		}
		out = append(out, match...)
	}
	return out, nil
}

// keptOut counts what --train-only kept out of validation.
type keptOut struct {
	rows, groups int
	// mixed groups held both matching and other rows; mixedRows are those
	// other rows, training-only because of their group.
	mixed, mixedRows int
}

// restrict makes p (and the stratum names) the problem of the rows that
// may be validation data, dropping the training-only groups and the strata
// only they held. rowGroup gives every row of the table its group in the
// new p, or -1 for a training-only row.
func (t trainOnly) restrict(recs []arrow.RecordBatch, p *fold.Problem, names *[]string) (rowGroup []int, kept keptOut, err error) {
	rowGroup = make([]int, len(p.Groups))
	if len(t.terms) == 0 {
		copy(rowGroup, p.Groups)
		return rowGroup, kept, nil
	}
	match, err := t.matches(recs)
	if err != nil {
		return nil, kept, err
	}
	only := make([]bool, p.NumGroups)
	other := make([]bool, p.NumGroups)
	for row, g := range p.Groups {
		if match[row] {
			only[g] = true
		} else {
			other[g] = true
		}
	}
	for g := range p.NumGroups {
		if only[g] {
			kept.groups++
			if other[g] {
				kept.mixed++
			}
		}
	}
	keepRow := make([]bool, len(p.Groups))
	for row, g := range p.Groups {
		keepRow[row] = !only[g]
	}
	sub, newGroup := narrow(*p, *names, keepRow)
	for row, g := range p.Groups {
		rowGroup[row] = newGroup[g]
		if newGroup[g] < 0 {
			kept.rows++
			if !match[row] {
				kept.mixedRows++
			}
		}
	}
	if len(sub.p.Groups) == 0 {
		return nil, kept, fmt.Errorf("--train-only %s: every row is training-only, none is left for validation", t)
	}
	*p, *names = sub.p, sub.names
	return rowGroup, kept, nil
}

// narrowed is a problem narrowed to some of its rows, with its stratum
// names.
type narrowed struct {
	p     fold.Problem
	names []string
}

// narrow is the problem of p's rows that keepRow marks: the groups with
// at least one such row, renumbered in their old order (newGroup maps an
// old group to its new number, -1 for a group left out), and the strata
// those rows hold, renumbered in their old order.
func narrow(p fold.Problem, names []string, keepRow []bool) (sub narrowed, newGroup []int) {
	newGroup = make([]int, p.NumGroups)
	for g := range newGroup {
		newGroup[g] = -1
	}
	present := make([]bool, p.NumStrata)
	for row, g := range p.Groups {
		if keepRow[row] {
			newGroup[g] = 0
			present[p.Strata[row]] = true
		}
	}
	groups := 0
	for g, n := range newGroup {
		if n == 0 {
			newGroup[g] = groups
			groups++
		}
	}
	newStratum := make([]int, p.NumStrata)
	for s, ok := range present {
		newStratum[s] = len(sub.names)
		if ok {
			sub.names = append(sub.names, names[s])
		}
	}
	sub.p = fold.Problem{NumGroups: groups, NumStrata: len(sub.names), Targets: p.Targets, Seed: p.Seed, SearchSteps: p.SearchSteps}
	for row, g := range p.Groups {
		if keepRow[row] {
			sub.p.Groups = append(sub.p.Groups, newGroup[g])
			sub.p.Strata = append(sub.p.Strata, newStratum[p.Strata[row]])
		}
	}
	return sub, newGroup
}

// report says what --train-only kept out of validation.
func (t trainOnly) report(w io.Writer, kept keptOut, by string, rest int) {
	if len(t.terms) == 0 {
		return
	}
	cli.Printf(w, program, "--train-only %s: %d rows (%d groups) kept out of validation, in every train file; folds and class shares are over the other %d rows",
		t, kept.rows, kept.groups, rest)
	if kept.mixed > 0 {
		cli.Printf(w, program, "%d groups (%s) held training-only and other rows: all their rows are training-only, %d of them only because of their group",
			kept.mixed, by, kept.mixedRows)
	}
}
