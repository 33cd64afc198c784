package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/boostershot/facet/internal/cli"
	"github.com/boostershot/facet/internal/fold"
	"github.com/boostershot/facet/internal/numrange"
	"github.com/boostershot/facet/internal/table"
)

type options struct {
	k         int
	val       float64
	by        string
	stratify  string
	seed      uint64
	out       string
	table     cli.TableOutput
	dup       dupOptions
	trainOnly []string
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	var o options
	fs := cli.NewFlags("facet-split", doc, stdout, stderr)
	cli.IntVarP(fs, &o.k, "num-folds", "k", 5, 2, 100, "number of folds")
	cli.FloatVar(fs, &o.val, "val-share", 0, numrange.Range{Min: 0, Max: 1, MinOpen: true, MaxOpen: true}, "instead of folds, one train/validation split with this validation `SHARE`")
	cli.Renamed(fs, "folds", "num-folds")
	cli.Renamed(fs, "val", "val-share")
	fs.StringVar(&o.by, "by", table.ColPerson, "group column: rows with one value never cross folds")
	fs.StringVar(&o.stratify, "stratify", table.ColLabel, "column(s) to stratify by, comma separated")
	fs.StringArrayVar(&o.trainOnly, "train-only", nil, trainOnlyUsage)
	fs.Uint64Var(&o.seed, "seed", 1, "random seed")
	cli.DirVar(fs, &o.out, "out", "", "also write the folds as Arrow files under `DIR`")
	o.table.AddFlags(fs)
	o.dup.flags(fs)
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	stderr = cli.Stderr(fs, stderr)
	targets, err := o.targets(fs)
	if err != nil {
		return err
	}
	only, err := parseTrainOnly(o.trainOnly)
	if err != nil {
		return err
	}
	name, err := cli.InputTable(fs.Args())
	if err != nil {
		return err
	}
	strat := strings.Split(o.stratify, ",")
	for i := range strat {
		strat[i] = strings.TrimSpace(strat[i])
	}
	r, err := table.Open(name, stdin, append([]string{o.by}, strat...)...)
	if err != nil {
		return err
	}
	defer r.Release()
	if err := only.check(r.Schema()); err != nil {
		return err
	}
	recs, err := table.ReadAll(r)
	if err != nil {
		return err
	}
	defer func() {
		for _, rec := range recs {
			rec.Release()
		}
	}()
	if r.Rows() == 0 {
		return errors.New("the table has no rows")
	}
	start := time.Now()
	p, strataNames, err := problem(recs, o.by, strat)
	if err != nil {
		return err
	}
	dups, err := linkDuplicates(recs, &p, o.dup)
	if err != nil {
		return err
	}
	p.Targets, p.Seed = targets, o.seed
	rowGroup, kept, err := only.restrict(recs, &p, &strataNames)
	if err != nil {
		return err
	}
	made, err := keepMadeOut(recs, &p, &strataNames, rowGroup)
	if err != nil {
		return err
	}
	if p.NumGroups < len(targets) {
		return fmt.Errorf("%d groups (%s) cannot fill %d folds", p.NumGroups, o.by, len(targets))
	}
	warnThinStrata(stderr, p, strataNames, o.val > 0)
	sp, err := fold.Assign(p)
	if err != nil {
		return err
	}
	took := time.Since(start)
	st := fold.StatsOf(p, sp)
	foldOf := func(f int) int8 {
		if o.val > 0 {
			return int8(f - 1) // fold 0 of the problem is train (-1), fold 1 is validation (0)
		}
		return int8(f)
	}
	// The fold column, batch by batch.
	fields := append([]arrow.Field{{Name: table.ColFold, Type: arrow.PrimitiveTypes.Int8}}, dups.fields()...)
	schema := table.ExtendSchema(recs[0].Schema(), fields)
	var outRecs []arrow.RecordBatch
	defer func() {
		for _, rec := range outRecs {
			rec.Release()
		}
	}()
	row := 0
	for _, rec := range recs {
		b := array.NewInt8Builder(memory.DefaultAllocator)
		for range rec.NumRows() {
			if g := rowGroup[row]; g >= 0 {
				b.Append(foldOf(sp.GroupFold[g]))
			} else {
				b.Append(-1) // --train-only, or made rows alone
			}
			row++
		}
		cols := append([]arrow.Array{b.NewArray()}, dups.columns(row-int(rec.NumRows()), int(rec.NumRows()))...)
		b.Release()
		ext, err := table.Extend(rec, schema, fields, cols)
		releaseArrays(cols)
		if err != nil {
			return err
		}
		outRecs = append(outRecs, ext)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := o.table.Open(stdout); err != nil {
		return err
	}
	defer o.table.Abort()
	if err := o.table.WriteAll(schema, outRecs...); err != nil {
		return err
	}
	if o.out != "" {
		if err := writeFolds(ctx, o, schema, outRecs, st); err != nil {
			return err
		}
	}
	if err := o.table.Commit(); err != nil {
		return err
	}
	cli.Printf(stderr, program, "%d rows, %d groups (%s), stratified by %s, in %s", r.Rows(), p.NumGroups+kept.groups+made.groups, o.by, o.stratify, took.Round(time.Millisecond))
	only.report(stderr, kept, o.by, len(p.Groups))
	made.report(stderr, o.by)
	foldName := func(f int) string {
		if o.val > 0 {
			return [...]string{"train", "val"}[f]
		}
		return strconv.Itoa(f)
	}
	if err := st.Write(stderr, strataNames, foldName); err != nil {
		return err
	}
	dups.report(stderr)
	return nil
}

func (o *options) targets(fs interface{ Changed(string) bool }) ([]float64, error) {
	if fs.Changed("val-share") {
		if fs.Changed("num-folds") {
			return nil, cli.Usagef("give -k or --val-share, not both")
		}
		return []float64{1 - o.val, o.val}, nil
	}
	t := make([]float64, o.k)
	for i := range t {
		t[i] = 1 / float64(o.k)
	}
	return t, nil
}

// problem reads the group and strata of every row.
func problem(recs []arrow.RecordBatch, by string, strat []string) (fold.Problem, []string, error) {
	var p fold.Problem
	groupIndex := map[string]int{}
	var groupNames []string
	strataIndex := map[string]int{}
	var strataKeys []string
	for _, rec := range recs {
		groups, err := columnStrings(rec, by)
		if err != nil {
			return p, nil, err
		}
		parts := make([][]string, len(strat))
		for i, name := range strat {
			if parts[i], err = columnStrings(rec, name); err != nil {
				return p, nil, err
			}
		}
		for row, g := range groups {
			gi, ok := groupIndex[g]
			if !ok {
				gi = len(groupNames)
				groupIndex[g] = gi
				groupNames = append(groupNames, g)
			}
			key := make([]string, len(strat))
			for i := range strat {
				key[i] = parts[i][row]
			}
			k := strings.Join(key, "/")
			si, ok := strataIndex[k]
			if !ok {
				si = len(strataKeys)
				strataIndex[k] = si
				strataKeys = append(strataKeys, k)
			}
			p.Groups = append(p.Groups, gi)
			p.Strata = append(p.Strata, si)
		}
	}
	// Number strata in a stable, readable order (numeric where they are).
	order := make([]int, len(strataKeys))
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(a, b int) bool { return lessKey(strataKeys[order[a]], strataKeys[order[b]]) })
	renum := make([]int, len(order))
	names := make([]string, len(order))
	for newIdx, old := range order {
		renum[old] = newIdx
		names[newIdx] = strataKeys[old]
	}
	for i, s := range p.Strata {
		p.Strata[i] = renum[s]
	}
	p.NumGroups, p.NumStrata = len(groupNames), len(names)
	if len(strat) == 1 && strat[0] == table.ColLabel {
		for i, n := range names {
			if v, err := strconv.Atoi(n); err == nil {
				names[i] = fmt.Sprintf("%d", v)
			}
		}
	}
	return p, names, nil
}

// lessKey orders "a/b" keys part by part, numerically where both parts are numbers.
func lessKey(a, b string) bool {
	pa, pb := strings.Split(a, "/"), strings.Split(b, "/")
	for i := range min(len(pa), len(pb)) {
		if pa[i] == pb[i] {
			continue
		}
		na, ea := strconv.Atoi(pa[i])
		nb, eb := strconv.Atoi(pb[i])
		if ea == nil && eb == nil {
			return na < nb
		}
		return pa[i] < pb[i]
	}
	return len(pa) < len(pb)
}

// columnStrings reads a column of any type as strings (null as "").
func columnStrings(rec arrow.RecordBatch, name string) ([]string, error) {
	idx := rec.Schema().FieldIndices(name)
	if len(idx) != 1 {
		return nil, fmt.Errorf("the table has no single %q column", name)
	}
	col := rec.Column(idx[0])
	out := make([]string, col.Len())
	for i := range out {
		if col.IsValid(i) {
			out[i] = col.ValueStr(i)
		}
	}
	return out, nil
}

// warnThinStrata warns about classes that cannot appear in every fold.
func warnThinStrata(w io.Writer, p fold.Problem, names []string, val bool) {
	groups := make([]map[int]bool, p.NumStrata)
	for i := range groups {
		groups[i] = map[int]bool{}
	}
	for i, s := range p.Strata {
		groups[s][p.Groups[i]] = true
	}
	k := len(p.Targets)
	for s, g := range groups {
		if len(g) < k {
			what := "folds"
			if val {
				what = "sides"
			}
			cli.Printf(w, program, "warning: class %s has %d groups for %d %s: some will hold none of it", names[s], len(g), k, what)
		}
	}
}

// writeFolds writes the fold set for the trainer (fold.WriteSet).
func writeFolds(ctx context.Context, o options, schema *arrow.Schema, recs []arrow.RecordBatch, st fold.Stats) error {
	k := o.k
	if o.val > 0 {
		k = 1
	}
	bins, _ := table.AgeBins(schema)
	m := &fold.Manifest{Folds: k, Val: o.val, By: o.by, Stratify: o.stratify, Seed: o.seed, AgeBins: bins.String(),
		Worst: st.Worst, Only: o.trainOnly, Created: time.Now().UTC().Format(time.RFC3339)}
	return fold.WriteSet(ctx, o.out, m, schema, recs)
}
