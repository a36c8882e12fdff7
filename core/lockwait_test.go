//go:build go1.25

// synctest needs Go 1.25 and the timer channels of Go 1.23+, which the
// module's go line would otherwise switch off (as in timeout_test.go).

//go:debug asynctimerchan=0

package core

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"
)

// boundedCtx must behave as context.WithTimeout (or, detached, as
// WithTimeout over WithoutCancel) whether or not a store ever asked for
// Done.
func TestBoundedCtxIsWithTimeout(t *testing.T) {
	type key struct{}
	for _, done := range []bool{false, true} {
		synctest.Test(t, func(t *testing.T) {
			parent, cancelParent := context.WithCancel(context.WithValue(context.Background(), key{}, "v"))
			c, stop := withBound(parent, 5*time.Second, false)
			defer stop()
			if done {
				c.Done()
			}
			if err := c.Err(); err != nil {
				t.Fatalf("Err before the deadline = %v", err)
			}
			if d, ok := c.Deadline(); !ok || !d.Equal(time.Now().Add(5*time.Second)) {
				t.Fatalf("Deadline = %v, %v", d, ok)
			}
			if c.Value(key{}) != "v" {
				t.Fatal("the parent's value is lost")
			}
			time.Sleep(5 * time.Second)
			synctest.Wait() // the deadline's timer, if armed, has fired
			if err := c.Err(); !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("Err at the deadline = %v", err)
			}
			select {
			case <-c.Done():
			default:
				t.Fatal("Done not closed at the deadline")
			}
			cancelParent()
		})
		synctest.Test(t, func(t *testing.T) {
			parent, cancelParent := context.WithCancel(context.Background())
			c, stop := withBound(parent, 5*time.Second, false)
			defer stop()
			detached, stopDetached := withBound(parent, 5*time.Second, true)
			defer stopDetached()
			if done {
				c.Done()
				detached.Done()
			}
			cancelParent()
			synctest.Wait()
			if err := c.Err(); !errors.Is(err, context.Canceled) {
				t.Fatalf("Err after the parent was cancelled = %v", err)
			}
			if err := detached.Err(); err != nil {
				t.Fatalf("detached: Err after the parent was cancelled = %v", err)
			}
			<-c.Done()
			time.Sleep(5 * time.Second)
			synctest.Wait()
			if err := detached.Err(); !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("detached: Err at the deadline = %v", err)
			}
			<-detached.Done()
		})
	}
}

// A parent deadline earlier than the bound is the one that counts.
func TestBoundedCtxKeepsAnEarlierParentDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		parent, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		c, stop := withBound(parent, 5*time.Second, false)
		defer stop()
		if d, _ := c.Deadline(); !d.Equal(time.Now().Add(time.Second)) {
			t.Fatalf("Deadline = %v, want the parent's", d)
		}
		detached, stopDetached := withBound(parent, 5*time.Second, true)
		defer stopDetached()
		if d, _ := detached.Deadline(); !d.Equal(time.Now().Add(5 * time.Second)) {
			t.Fatalf("detached: Deadline = %v, want its own", d)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		if err := c.Err(); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Err at the parent's deadline = %v", err)
		}
		if err := detached.Err(); err != nil {
			t.Fatalf("detached: Err at the parent's deadline = %v", err)
		}
	})
}
