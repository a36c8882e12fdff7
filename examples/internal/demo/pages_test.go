package demo

import (
	"testing"
	"time"
)

func TestHuman(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{0, "0 seconds"},
		{time.Second, "1 second"},
		{90 * time.Second, "90 seconds"},
		{30 * time.Minute, "30 minutes"},
		{12 * time.Hour, "12 hours"},
		{7*24*time.Hour - time.Second, "7 days"},
		{30 * 24 * time.Hour, "30 days"},
	} {
		if got := human(tc.d); got != tc.want {
			t.Errorf("human(%v) = %q, want %q", tc.d, got, tc.want)
		}
	}
}
