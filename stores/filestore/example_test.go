package filestore_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/sessionkit/sessionkit/stores/filestore"
)

// A store sharing PHP's session directory, opened from php.ini's
// session.save_path and session.gc_maxlifetime.
func Example() {
	dir, err := os.MkdirTemp("", "sessions")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)

	const gcMaxLifetime = 1440 * time.Second
	store, err := filestore.PHP("1;0600;"+dir, gcMaxLifetime)
	if err != nil {
		panic(err)
	}

	ctx := context.Background()
	id := "k3j5h2g4f6d8s0a9q1w2e3r4t5"
	if err := store.Write(ctx, id, []byte(`user|s:5:"alice";`), time.Now().Add(gcMaxLifetime)); err != nil {
		panic(err)
	}
	raw, _ := os.ReadFile(dir + "/k/sess_" + id)
	fmt.Printf("%s\n", raw)

	// Locking as PHP does: flock on the session file from read to commit.
	lock, err := store.Lock(ctx, id)
	if err != nil {
		panic(err)
	}
	data, found, _ := lock.(interface {
		Read(context.Context) ([]byte, bool, error)
	}).Read(ctx)
	fmt.Println(found, string(data))
	lock.Unlock(ctx)
	// Output:
	// user|s:5:"alice";
	// true user|s:5:"alice";
}
