package nn

import (
	"runtime"
	"sync"
)

// parallel calls f(i) for every i in [0, n), in contiguous blocks of
// indices on up to GOMAXPROCS goroutines. Each index is handled by one
// goroutine, so anything f computes for it does not depend on the
// scheduling.
func parallel(n int, f func(i int)) {
	parallelRange(n, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			f(i)
		}
	})
}

// parallelRange splits [0, n) into up to GOMAXPROCS contiguous blocks and
// calls f(lo, hi) for each on its own goroutine.
func parallelRange(n int, f func(lo, hi int)) {
	workers := min(runtime.GOMAXPROCS(0), n)
	if workers <= 1 {
		if n > 0 {
			f(0, n)
		}
		return
	}
	var wg sync.WaitGroup
	for w := range workers {
		lo, hi := n*w/workers, n*(w+1)/workers
		wg.Add(1)
		go func() {
			defer wg.Done()
			f(lo, hi)
		}()
	}
	wg.Wait()
}
