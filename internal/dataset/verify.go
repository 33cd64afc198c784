package dataset

import (
	"context"

	"github.com/boostershot/facet/internal/table"
	"github.com/boostershot/facet/internal/work"
)

// Verify calls readable on every sample's image path with workers
// goroutines: facet-prep passes the decoder every later stage uses
// (cvimage.Verify), so what passes here is what they can read. It returns
// the samples that are readable, in their order, and a Problem for each
// that is not. progress, when not nil, is called after each image from one
// goroutine at a time.
func Verify(ctx context.Context, samples []table.Sample, workers int, readable func(path string) error, progress func(done, total int)) ([]table.Sample, []Problem, error) {
	errs := make([]error, len(samples))
	done := 0
	err := work.Each(ctx, len(samples), workers, func(_, i int) {
		errs[i] = readable(samples[i].Path)
	}, func() {
		done++
		if progress != nil {
			progress(done, len(samples))
		}
	})
	if err != nil {
		return nil, nil, err
	}
	var ok []table.Sample
	var problems []Problem
	for i, s := range samples {
		if errs[i] != nil {
			problems = append(problems, Problem{Source: s.Source, Item: s.ID, Reason: ReasonUnreadable, Detail: errs[i].Error()})
			continue
		}
		ok = append(ok, s)
	}
	return ok, problems, nil
}
