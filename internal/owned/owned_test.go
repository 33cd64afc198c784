package owned

import (
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// obj stands for a C object: freed counts the frees of each.
type obj struct{ freed *atomic.Int32 }

func TestCloseFreesOnce(t *testing.T) {
	var freed atomic.Int32
	o := New(&obj{&freed}, func(p *obj) { p.freed.Add(1) }, "test: thing")
	calls := 0
	if err := o.Use(func(*obj) error { calls++; return nil }); err != nil || calls != 1 {
		t.Fatalf("Use: %v, %d calls", err, calls)
	}
	o.Close()
	o.Close()
	if n := freed.Load(); n != 1 {
		t.Fatalf("freed %d times, want 1", n)
	}
	for name, call := range map[string]func(func(*obj) error) error{"Use": o.Use, "Share": o.Share} {
		err := call(func(*obj) error { calls++; return nil })
		if err == nil || err.Error() != "test: thing is closed" || calls != 1 {
			t.Errorf("%s after Close: %v (calls %d), want \"test: thing is closed\" without a call", name, err, calls)
		}
	}
}

// An owner dropped without Close frees its object by its cleanup.
func TestDroppedIsFreed(t *testing.T) {
	var freed atomic.Int32
	func() {
		New(&obj{&freed}, func(p *obj) { p.freed.Add(1) }, "test: thing")
	}()
	for range 50 {
		runtime.GC()
		if freed.Load() == 1 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("a dropped owner's object freed %d times, want 1", freed.Load())
}

// Close waits for the calls in progress.
func TestCloseWaitsForCalls(t *testing.T) {
	var freed atomic.Int32
	o := New(&obj{&freed}, func(p *obj) { p.freed.Add(1) }, "test: thing")
	inCall, release := make(chan struct{}), make(chan struct{})
	done := make(chan error)
	go func() {
		done <- o.Share(func(p *obj) error {
			close(inCall)
			<-release
			if p.freed.Load() != 0 {
				t.Error("freed during a call")
			}
			return nil
		})
	}()
	<-inCall
	closed := make(chan struct{})
	go func() { o.Close(); close(closed) }()
	select {
	case <-closed:
		t.Fatal("Close returned during a call")
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	<-closed
	if freed.Load() != 1 {
		t.Fatalf("freed %d times", freed.Load())
	}
}

// The owner of a value never opened (a nil *Ptr) refuses calls.
func TestNeverOpened(t *testing.T) {
	var o *Ptr[*obj]
	o.Close()
	if err := o.Use(func(*obj) error { t.Error("called"); return nil }); err == nil {
		t.Error("Use of nothing: no error")
	}
	if err := o.Share(func(*obj) error { t.Error("called"); return nil }); err == nil {
		t.Error("Share of nothing: no error")
	}
}
