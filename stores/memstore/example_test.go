package memstore_test

import (
	"context"
	"fmt"
	"time"

	"github.com/sessionkit/sessionkit/stores/memstore"
)

func ExampleNew() {
	ctx := context.Background()
	s := memstore.New(memstore.Options{})
	defer s.Close()

	id := "EXAMPLE-session-id-0123456789abcdefghijklmn"
	_ = s.Write(ctx, id, []byte("n=1"), time.Now().Add(30*time.Minute))
	data, found, _ := s.Read(ctx, id)
	fmt.Println(string(data), found)

	_ = s.Destroy(ctx, id)
	_, found, _ = s.Read(ctx, id)
	fmt.Println(found)
	// Output:
	// n=1 true
	// false
}

func ExampleStore_Lock() {
	ctx := context.Background()
	s := memstore.New(memstore.Options{LockTTL: 10 * time.Second})
	defer s.Close()

	id := "EXAMPLE-session-id-0123456789abcdefghijklmn"
	l, err := s.Lock(ctx, id)
	if err != nil {
		fmt.Println(err)
		return
	}
	// Read and write through the lock: a holder that lost it cannot write.
	w := l.(interface {
		Write(context.Context, []byte, time.Time) error
	})
	fmt.Println(w.Write(ctx, []byte("n=2"), time.Now().Add(30*time.Minute)))
	fmt.Println(l.Unlock(ctx))
	// Output:
	// <nil>
	// <nil>
}
