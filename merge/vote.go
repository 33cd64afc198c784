package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/boostershot/facet/internal/cli"
	"github.com/boostershot/facet/internal/label"
	"github.com/boostershot/facet/internal/numrange"
	"github.com/boostershot/facet/internal/pred"
	"github.com/boostershot/facet/internal/submission"
	"github.com/boostershot/facet/internal/table"
)

type voteMethod int

const (
	soft voteMethod = iota
	geo
	hard
)

// probFloor is the smallest probability the geometric mean takes the log
// of (see the vote section of doc.go).
const probFloor = 1e-12

func runVote(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	var (
		out                      output
		useSoft, useGeo, useHard bool
		weights                  string
		subPath, info, pseudoOut string
		pseudo                   float64
	)
	fs := cli.NewFlags("facet-merge vote", doc, stdout, stderr)
	fs.BoolVar(&useSoft, "soft", false, "mean of probabilities (the default)")
	fs.BoolVar(&useGeo, "geo", false, "geometric mean of probabilities")
	fs.BoolVar(&useHard, "hard", false, "majority of predictions, ties by summed probability")
	fs.StringVar(&weights, "weights", "", "one weight per table, comma separated (default equal)")
	fs.StringVar(&subPath, "submission", "", "also write the competition submission to `FILE`")
	fs.StringVar(&info, "info", "", "the competition's eval `info.csv` (with --submission)")
	cli.FloatVar(fs, &pseudo, "pseudo", 0, numrange.Range{Min: 0, Max: 1, MinOpen: true}, "write rows with combined 18-class confidence >= `T` to --pseudo-out")
	fs.StringVar(&pseudoOut, "pseudo-out", "", "the pseudo-label table `FILE`, in the format its name says, as -o")
	out.flags(fs)
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	stderr = cli.Stderr(fs, stderr)
	switch {
	case (pseudoOut == "") != (pseudo == 0):
		return cli.Usagef("--pseudo T and --pseudo-out FILE go together")
	case pseudoOut == "-":
		return cli.Usagef("--pseudo-out -: want a file of its own")
	}
	method := soft
	switch {
	case b2i(useSoft)+b2i(useGeo)+b2i(useHard) > 1:
		return cli.Usagef("give one of --soft, --geo, --hard")
	case useGeo:
		method = geo
	case useHard:
		method = hard
	}
	if (subPath == "") != (info == "") {
		return cli.Usagef("--submission and --info go together")
	}
	if fs.NArg() < 2 {
		return cli.Usagef("want two prediction tables or more, got %d", fs.NArg())
	}
	w, err := parseWeights(weights, fs.NArg())
	if err != nil {
		return err
	}
	ins, err := readInputs(fs.Args(), stdin, append([]string{table.ColID}, predColumns()...)...)
	if err != nil {
		return err
	}
	defer releaseAll(ins)
	ids, models, err := alignByID(ins)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	p, err := vote(models, w, method)
	if err != nil {
		return err
	}
	first := ins[0]
	schema := pred.Schema(first.schema)
	var recs []arrow.RecordBatch
	defer func() { releaseRecs(recs) }()
	row := 0
	for _, rec := range first.recs {
		ext, err := pred.Extend(rec, schema, p, row)
		if err != nil {
			return err
		}
		if method == hard {
			ext, err = winnerParts(ext, schema, p.Pred18[row:row+int(rec.NumRows())])
			if err != nil {
				return err
			}
		}
		recs = append(recs, ext)
		row += int(rec.NumRows())
	}
	if pseudoOut != "" {
		if err := writePseudo(pseudoOut, pseudo, schema, recs, p, stderr); err != nil {
			return err
		}
	}
	if subPath != "" {
		paths := first.optionalStrings(table.ColPath)
		rows := make([]submission.Row, len(ids))
		for i := range rows {
			rows[i] = submission.Row{ID: ids[i], Class: p.Pred18[i]}
			if paths != nil {
				rows[i].Path = paths[i]
			}
		}
		unused, err := submission.Write(subPath, info, rows)
		if err != nil {
			return err
		}
		cli.Printf(stderr, program, "wrote %s (%d rows of %s not in it)", subPath, unused, first.name)
	}
	if err := out.write(stdout, schema, recs); err != nil {
		return err
	}
	cli.Printf(stderr, program, "%s vote of %d tables, %d rows", [...]string{"soft", "geometric", "hard"}[method], len(ins), p.N)
	return nil
}

// writePseudo writes the confident rows of the vote (recs, with their
// combined predictions p) as pseudo labels.
func writePseudo(path string, threshold float64, schema *arrow.Schema, recs []arrow.RecordBatch, p *pred.Probs, stderr io.Writer) error {
	w, err := pred.NewPseudoWriter(path, schema, threshold)
	if err != nil {
		return err
	}
	defer w.Abort()
	row := 0
	for _, rec := range recs {
		n := int(rec.NumRows())
		if err := w.Add(rec, p.Slice(row, row+n), nil); err != nil {
			return err
		}
		row += n
	}
	if err := w.Commit(); err != nil {
		return err
	}
	cli.Printf(stderr, program, "%d pseudo labels of %d rows at confidence >= %g -> %s", w.Rows, p.N, threshold, path)
	return nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func predColumns() []string {
	var out []string
	for _, f := range pred.Fields {
		out = append(out, f.Name)
	}
	return out
}

// maxWeight bounds a --weights value: weights are relative, and a sum of
// huge weights would overflow.
const maxWeight = 1e6

// parseWeights reads n non-negative weights and normalises them to sum
// 1; an empty string is n equal weights.
func parseWeights(s string, n int) ([]float64, error) {
	w := make([]float64, n)
	if s == "" {
		for i := range w {
			w[i] = 1 / float64(n)
		}
		return w, nil
	}
	parts := strings.Split(s, ",")
	if len(parts) != n {
		return nil, cli.Usagef("--weights %s: %d weights for %d tables", s, len(parts), n)
	}
	sum := 0.0
	for i, p := range parts {
		v, err := numrange.ParseFloat(p, numrange.Between(0, maxWeight))
		if err != nil {
			return nil, cli.Usagef("--weights %s: weight %d: %v", s, i+1, err)
		}
		w[i] = v
		sum += v
	}
	if sum == 0 {
		return nil, cli.Usagef("--weights %s: all zero", s)
	}
	for i := range w {
		w[i] /= sum
	}
	return w, nil
}

// alignByID reads each table's predictions in the row order of the first
// table, whose ids it returns. Every table must hold exactly the first table's ids, each once,
// and the same age bins.
func alignByID(ins []*input) ([]string, []*pred.Probs, error) {
	first := ins[0]
	bins, err := table.AgeBins(first.schema)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", first.name, err)
	}
	ids, err := first.strings(table.ColID)
	if err != nil {
		return nil, nil, err
	}
	index := make(map[string]int, len(ids))
	for i, id := range ids {
		if _, dup := index[id]; dup {
			return nil, nil, fmt.Errorf("%s: id %q appears twice", first.name, id)
		}
		index[id] = i
	}
	var out []*pred.Probs
	for _, in := range ins {
		b, err := table.AgeBins(in.schema)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", in.name, err)
		}
		if b != bins {
			return nil, nil, fmt.Errorf("age bins %s in %s and %s in %s: the age groups mean different ages", bins, first.name, b, in.name)
		}
		p, err := readProbs(in)
		if err != nil {
			return nil, nil, err
		}
		if in == first {
			out = append(out, p)
			continue
		}
		theirs, err := in.strings(table.ColID)
		if err != nil {
			return nil, nil, err
		}
		perm := make([]int, len(ids)) // row of the first table -> row of in
		for i := range perm {
			perm[i] = -1
		}
		for r, id := range theirs {
			i, ok := index[id]
			switch {
			case !ok:
				return nil, nil, fmt.Errorf("id %q of %s is not in %s", id, in.name, first.name)
			case perm[i] >= 0:
				return nil, nil, fmt.Errorf("%s: id %q appears twice", in.name, id)
			}
			perm[i] = r
		}
		for i, r := range perm {
			if r < 0 {
				return nil, nil, fmt.Errorf("id %q of %s is missing from %s", ids[i], first.name, in.name)
			}
		}
		out = append(out, permute(p, perm))
	}
	return ids, out, nil
}

func readProbs(in *input) (*pred.Probs, error) {
	all := pred.New(0)
	for _, rec := range in.recs {
		p, err := pred.Read(rec)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", in.name, err)
		}
		all.Append(p)
	}
	return all, nil
}

// permute returns the rows perm[0], perm[1], ... of p (18 classes and
// their prediction; the heads are derived later).
func permute(p *pred.Probs, perm []int) *pred.Probs {
	q := pred.New(len(perm))
	for i, r := range perm {
		copy(q.Class18[i*label.NumClasses:(i+1)*label.NumClasses], p.Class18[r*label.NumClasses:(r+1)*label.NumClasses])
		q.Pred18[i] = p.Pred18[r]
	}
	return q
}

// vote combines the models' 18-class probabilities with weights w (sum
// 1) and returns the result with its heads as the marginals.
func vote(models []*pred.Probs, w []float64, method voteMethod) (*pred.Probs, error) {
	n := models[0].N
	out := pred.New(n)
	const k = label.NumClasses
	acc := make([]float64, k)
	for i := range n {
		clear(acc)
		for m, p := range models {
			row := p.Class18[i*k : (i+1)*k]
			for c, v := range row {
				if method == geo {
					acc[c] += w[m] * math.Log(max(float64(v), probFloor))
				} else {
					acc[c] += w[m] * float64(v)
				}
			}
		}
		if method == geo {
			top := acc[0]
			for _, v := range acc {
				top = max(top, v)
			}
			for c := range acc {
				acc[c] = math.Exp(acc[c] - top) // largest is 1, so the sum is >= 1
			}
		}
		sum := 0.0
		for _, v := range acc {
			sum += v
		}
		if !(sum > 0) || math.IsInf(sum, 0) {
			return nil, fmt.Errorf("row %d: the probabilities sum to %g", i, sum)
		}
		dst := out.Class18[i*k : (i+1)*k]
		for c, v := range acc {
			dst[c] = float32(v / sum)
		}
	}
	out.Marginalise()
	if method == hard {
		for i := range n {
			out.Pred18[i] = hardWinner(models, w, i, out.Class18[i*k:(i+1)*k])
		}
	}
	return out, nil
}

// hardWinner is the class with the most (weighted) votes of row i; among
// tied classes the one with the largest summed probability (mean is the
// weighted mean of the probabilities, which orders classes as the sum
// does), then the lowest class.
func hardWinner(models []*pred.Probs, w []float64, i int, mean []float32) int {
	var votes [label.NumClasses]float64
	for m, p := range models {
		votes[p.Pred18[i]] += w[m]
	}
	const tie = 1e-9 // weights are floats: 1/3+1/3 and 2/3 count as a tie
	best := 0
	for c := 1; c < label.NumClasses; c++ {
		switch d := votes[c] - votes[best]; {
		case d > tie:
			best = c
		case d >= -tie && mean[c] > mean[best]:
			best = c
		}
	}
	return best
}

// winnerParts sets pred_mask, pred_gender and pred_age_group of rec to the
// parts of the hard-vote winners, so they agree with pred.
func winnerParts(rec arrow.RecordBatch, schema *arrow.Schema, winners []int) (arrow.RecordBatch, error) {
	defer rec.Release()
	names := []string{pred.ColPredMask, pred.ColPredGender, pred.ColPredAge}
	var fields []arrow.Field
	var cols []arrow.Array
	defer func() {
		for _, c := range cols {
			c.Release()
		}
	}()
	for part, name := range names {
		idx := schema.FieldIndices(name)
		if len(idx) != 1 {
			return nil, errors.New("vote: the prediction schema has no " + name)
		}
		fields = append(fields, schema.Field(idx[0]))
		b := array.NewInt8Builder(memory.DefaultAllocator)
		for _, c := range winners {
			m, g, a := label.Split(int8(c))
			b.Append([]int8{m, g, a}[part])
		}
		cols = append(cols, b.NewArray())
		b.Release()
	}
	return table.Extend(rec, schema, fields, cols)
}
