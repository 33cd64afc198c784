package prefetch

import (
	"context"
	"errors"
	"slices"
	"sync/atomic"
	"testing"
)

// numbers sends 0..n-1, failing at fail (if in range).
func numbers(n, fail int) func(context.Context, func(int) error) error {
	return func(_ context.Context, send func(int) error) error {
		for i := range n {
			if i == fail {
				return errors.New("produce failed")
			}
			if err := send(i); err != nil {
				return err
			}
		}
		return nil
	}
}

func TestRun(t *testing.T) {
	var got []int
	var released atomic.Int64
	err := Run(context.Background(), 2, numbers(100, -1), func(v int) error { got = append(got, v); return nil }, func(int) { released.Add(1) })
	if err != nil || len(got) != 100 || !slices.IsSorted(got) || released.Load() != 100 {
		t.Errorf("err %v, consumed %d in order %v, released %d", err, len(got), slices.IsSorted(got), released.Load())
	}

	// The producer fails: the items before are consumed, then its error.
	got = nil
	err = Run(context.Background(), 2, numbers(100, 7), func(v int) error { got = append(got, v); return nil }, nil)
	if err == nil || err.Error() != "produce failed" || !slices.Equal(got, []int{0, 1, 2, 3, 4, 5, 6}) {
		t.Errorf("producer failing at 7: err %v, consumed %v", err, got)
	}

	// The consumer fails: the producer stops, every sent item is released,
	// the consumer's error wins.
	got = nil
	released.Store(0)
	sent := 0
	err = Run(context.Background(), 1, func(ctx context.Context, send func(int) error) error {
		for i := range 1000 {
			if err := send(i); err != nil {
				return err
			}
			sent++
		}
		return nil
	}, func(v int) error {
		got = append(got, v)
		if v == 3 {
			return errors.New("consume failed")
		}
		return nil
	}, func(int) { released.Add(1) })
	if err == nil || err.Error() != "consume failed" || len(got) != 4 || sent > 6 || int(released.Load()) != sent {
		t.Errorf("consumer failing at 3: err %v, consumed %v, %d sent, %d released", err, got, sent, released.Load())
	}

	// A cancelled context stops the producer.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err = Run(ctx, 1, func(ctx context.Context, send func(int) error) error {
		for i := 0; ; i++ {
			if err := send(i); err != nil {
				return err
			}
		}
	}, func(int) error { return nil }, nil)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: err %v", err)
	}
}
