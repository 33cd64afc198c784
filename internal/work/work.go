// Package work runs the items of a job on a fixed number of goroutines,
// the pattern every facet stage that touches images uses.
package work

import (
	"context"
	"sync"
)

// Each calls fn(worker, i) for every i in 0..n-1 on workers goroutines
// (worker is 0..workers-1, so each goroutine can own per-worker state such
// as a detector). done, when not nil, is called after each item, from one
// goroutine at a time. When ctx is cancelled no new item starts; the items
// already running finish, and Each returns ctx's error.
func Each(ctx context.Context, n, workers int, fn func(worker, i int), done func()) error {
	workers = max(1, workers)
	next := make(chan int)
	var wg sync.WaitGroup
	var mu sync.Mutex
	for w := range workers {
		wg.Go(func() {
			for i := range next {
				fn(w, i)
				if done != nil {
					mu.Lock()
					done()
					mu.Unlock()
				}
			}
		})
	}
feed:
	for i := range n {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	return ctx.Err()
}

// Try is Each for items that can fail: the first error fn returns stops
// new items from starting (those running finish) and is what Try
// returns; else it returns ctx's error, as Each does.
func Try(ctx context.Context, n, workers int, fn func(worker, i int) error, done func()) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	err := Each(ctx, n, workers, func(w, i int) {
		if err := fn(w, i); err != nil {
			cancel(err)
		}
	}, done)
	if err != nil {
		return context.Cause(ctx)
	}
	return nil
}
