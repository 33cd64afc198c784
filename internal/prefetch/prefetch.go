// Package prefetch runs a producer ahead of its consumer: facet-train
// makes the next training batches while the model trains on the current
// one, and facet-infer decodes the next rows' images while the model
// predicts the current ones.
package prefetch

import "context"

// Run calls produce on a goroutine of its own; each item it sends goes to
// consume, in order, through a buffer of depth items, so up to depth items
// are ready while one is consumed. release, when not nil, is called on
// every item sent, consumed or not. An item send refuses (Run is ending)
// stays the producer's to release.
//
// The first error stops both sides: an error of consume cancels the
// context produce gets (send then fails) and the items left are released
// without being consumed; an error of produce ends the items after the
// ones it sent. Run returns consume's error, else produce's.
func Run[T any](ctx context.Context, depth int, produce func(ctx context.Context, send func(T) error) error, consume func(T) error, release func(T)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	items := make(chan T, depth)
	produced := make(chan error, 1)
	go func() {
		defer close(items)
		produced <- produce(ctx, func(v T) error {
			if err := ctx.Err(); err != nil {
				return err // select would pick at random while both are ready
			}
			select {
			case items <- v:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	}()
	var err error
	for v := range items {
		if err == nil {
			if err = consume(v); err != nil {
				cancel()
			}
		}
		if release != nil {
			release(v)
		}
	}
	if perr := <-produced; err == nil {
		err = perr
	}
	return err
}
