// Package owned holds a C object that Go owns, the one lifecycle of
// facet's cgo bindings (dlib, YuNet, the ONNX runner): Close frees it
// once, a cleanup frees it if its owner is dropped unclosed, and every
// call into it holds a lock, so that Close never frees it under a call
// and a call after Close is an error instead of a use after free.
package owned

import (
	"errors"
	"runtime"
	"sync"
)

// Ptr owns a C pointer P (such as *C.facet_yunet: cgo's opaque structs
// are incomplete types, which cannot be type arguments, but pointers to
// them can). A nil *Ptr, the field of a value never opened, owns
// nothing: Close does nothing and a call is an error.
type Ptr[P comparable] struct {
	mu      sync.RWMutex
	p       P
	free    func(P)
	cleanup runtime.Cleanup
	closed  error
}

// New owns p, which free frees. what names it in the error of a call
// after Close ("yunet: detector" -> "yunet: detector is closed").
func New[P comparable](p P, free func(P), what string) *Ptr[P] {
	o := &Ptr[P]{p: p, free: free, closed: errors.New(what + " is closed")}
	o.cleanup = runtime.AddCleanup(o, free, p)
	return o
}

// Close frees the object; closing twice is harmless.
func (o *Ptr[P]) Close() {
	if o == nil {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	var zero P
	if o.p == zero {
		return
	}
	o.cleanup.Stop()
	o.free(o.p)
	o.p = zero
}

// Use calls f with the object, alone: for C objects that keep state
// between calls (scratch buffers, a net's outputs).
func (o *Ptr[P]) Use(f func(P) error) error {
	if o == nil {
		return errNotOpened
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.call(f)
}

// Share calls f with the object alongside other Share calls: for C
// objects safe for concurrent use.
func (o *Ptr[P]) Share(f func(P) error) error {
	if o == nil {
		return errNotOpened
	}
	o.mu.RLock()
	defer o.mu.RUnlock()
	return o.call(f)
}

var errNotOpened = errors.New("never opened")

func (o *Ptr[P]) call(f func(P) error) error {
	var zero P
	if o.p == zero {
		return o.closed
	}
	return f(o.p)
}
