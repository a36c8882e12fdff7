package redisstore

import (
	"strings"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/stores/storetest"
)

// TestSwapReplyLost: a Swap (the unlocked write) whose reply is lost
// reports exactly what happened. Applied: true. Resent by the client after
// the lost reply: still true, not a conflict (the resent copy would find
// the swap's own write and answer "no match"). A real conflict: false.
// Never arrived: an error, nothing written, and the swap no longer applies
// when it arrives late. Nobody answers: an error that says the outcome is
// unknown, and the swap is fenced off once Redis answers again.
func TestSwapReplyLost(t *testing.T) {
	for _, b := range faultBackends() {
		t.Run(b.name, func(t *testing.T) {
			ctx := storetest.Context(t)
			s, h, plain := hooked(t, b)
			exp := time.Now().Add(time.Hour)
			setup := func(t *testing.T, data string) string {
				id := storetest.NewID(t)
				if err := s.Write(ctx, id, []byte(data), exp); err != nil {
					t.Fatal(err)
				}
				return id
			}

			t.Run("AppliedThenLost", func(t *testing.T) {
				id := setup(t, "old")
				h.arm(swapScript, replyLost)
				if ok, err := s.Swap(ctx, id, []byte("old"), []byte("new"), exp); !ok || err != nil {
					t.Fatalf("Swap that applied but lost its reply = %v, %v; want true, nil", ok, err)
				}
				wantRecord(ctx, t, s, id, "new")
			})

			t.Run("Resent", func(t *testing.T) {
				id := setup(t, "old")
				h.arm(swapScript, resent)
				if ok, err := s.Swap(ctx, id, []byte("old"), []byte("new"), exp); !ok || err != nil {
					t.Fatalf("Swap resent by the client = %v, %v; want true, nil (not a conflict)", ok, err)
				}
				wantRecord(ctx, t, s, id, "new")
			})

			t.Run("CreateResent", func(t *testing.T) {
				id := storetest.NewID(t)
				h.arm(swapScript, resent)
				if ok, err := s.Swap(ctx, id, nil, []byte("new"), exp); !ok || err != nil {
					t.Fatalf("creating Swap resent by the client = %v, %v; want true, nil", ok, err)
				}
				wantRecord(ctx, t, s, id, "new")
			})

			t.Run("ConflictThenLost", func(t *testing.T) {
				id := setup(t, "theirs")
				h.arm(swapScript, replyLost)
				if ok, err := s.Swap(ctx, id, []byte("old"), []byte("new"), exp); ok || err != nil {
					t.Fatalf("conflicting Swap that lost its reply = %v, %v; want false, nil", ok, err)
				}
				wantRecord(ctx, t, s, id, "theirs")
			})

			t.Run("DeliveredLate", func(t *testing.T) {
				id := setup(t, "old")
				var late held
				h.arm(swapScript, late.fault)
				ok, err := s.Swap(ctx, id, []byte("old"), []byte("new"), exp)
				if ok || err == nil || strings.Contains(err.Error(), "unknown") {
					t.Fatalf("Swap that never arrived = %v, %v; want false and the transport's error", ok, err)
				}
				wantRecord(ctx, t, s, id, "old")
				if v := late.deliver(ctx, t, plain); v != int64(-1) {
					t.Fatalf("late swap answered %v, want -1 (given up)", v)
				}
				wantRecord(ctx, t, s, id, "old")
			})

			t.Run("NoAnswer", func(t *testing.T) {
				id := setup(t, "old")
				var late, lateSettle held
				h.arm(swapScript, late.fault)
				h.arm(swapSettleScript, lateSettle.fault)
				s.settleTimeout = 0 // one question only
				t.Cleanup(func() { s.settleTimeout = defaultSettleTimeout })
				ok, err := s.Swap(ctx, id, []byte("old"), []byte("new"), exp)
				if ok || err == nil || !strings.Contains(err.Error(), "outcome unknown") {
					t.Fatalf("Swap with no answer at all = %v, %v; want an outcome-unknown error", ok, err)
				}
				// The store fences it off in the background once Redis
				// answers: a late copy then writes nothing.
				fence, _ := late.arg(4).(string)
				eventually(t, "the unsettled swap is fenced off", func() bool {
					return plain.Exists(ctx, fence).Val() == 1
				})
				if v := late.deliver(ctx, t, plain); v != int64(0) {
					t.Fatalf("late swap answered %v, want 0", v)
				}
				wantRecord(ctx, t, s, id, "old")
			})
		})
	}
}
