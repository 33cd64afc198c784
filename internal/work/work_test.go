package work

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
)

func TestEachRunsEveryItemOnce(t *testing.T) {
	seen := make([]int32, 1000)
	var workersUsed [4]int32
	calls := 0
	err := Each(context.Background(), len(seen), 4, func(w, i int) {
		atomic.AddInt32(&seen[i], 1)
		atomic.AddInt32(&workersUsed[w], 1)
	}, func() { calls++ })
	if err != nil {
		t.Fatal(err)
	}
	for i, n := range seen {
		if n != 1 {
			t.Fatalf("item %d ran %d times", i, n)
		}
	}
	if calls != len(seen) {
		t.Errorf("done called %d times", calls)
	}
}

func TestEachStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var ran atomic.Int32
	err := Each(ctx, 1000, 2, func(_, i int) {
		if ran.Add(1) == 10 {
			cancel()
		}
	}, nil)
	if err == nil {
		t.Fatal("a cancelled Each returned no error")
	}
	if n := ran.Load(); n >= 1000 || n < 10 {
		t.Errorf("%d items ran after cancelling at 10", n)
	}
}

// Try returns the first error and starts no item after it.
func TestTryStopsAtTheFirstError(t *testing.T) {
	bad := errors.New("disk full")
	var ran atomic.Int32
	err := Try(context.Background(), 1000, 2, func(_, i int) error {
		ran.Add(1)
		if i == 10 {
			return bad
		}
		return nil
	}, nil)
	if !errors.Is(err, bad) {
		t.Fatalf("err = %v, want %v", err, bad)
	}
	if n := ran.Load(); n >= 1000 {
		t.Errorf("all %d items ran after the error", n)
	}
	if err := Try(context.Background(), 50, 3, func(int, int) error { return nil }, nil); err != nil {
		t.Errorf("no failure: err = %v", err)
	}
}
