package dataset

import (
	"context"
	"sync"

	"github.com/boostershot/facet/internal/imagefile"
	"github.com/boostershot/facet/internal/table"
)

// Verify decodes every sample's image with workers goroutines. It returns
// the samples that decode, in their order, and a Problem for each that
// does not. progress, when not nil, is called after each image from one
// goroutine at a time.
func Verify(ctx context.Context, samples []table.Sample, workers int, progress func(done, total int)) ([]table.Sample, []Problem, error) {
	workers = max(1, workers)
	errs := make([]error, len(samples))
	next := make(chan int)
	var wg sync.WaitGroup
	var mu sync.Mutex
	done := 0
	for range workers {
		wg.Go(func() {
			for i := range next {
				_, _, errs[i] = imagefile.Decode(samples[i].Path)
				if progress != nil {
					mu.Lock()
					done++
					progress(done, len(samples))
					mu.Unlock()
				}
			}
		})
	}
feed:
	for i := range samples {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if err := ctx.Err(); err != nil {
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
