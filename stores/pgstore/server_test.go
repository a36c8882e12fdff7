package pgstore

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sessionkit/sessionkit/stores/storetest"
)

// pgServer is a PostgreSQL cluster of the test's own, for tests that crash
// it, so the shared one is left alone. It is started the way
// scripts/services.sh starts the shared one (initdb, pg_ctl, fsync off),
// as the postgres user when the test runs as root.
type pgServer struct {
	bindir, dir, port string
	cred              *syscall.Credential // nil: run as ourselves
}

// startPostgres initialises and starts a cluster on a free port; it is
// stopped and removed with t. It needs SESSIONKIT_PG_DSN like every other
// PostgreSQL test (the shared server proves PostgreSQL is installed), and
// the server binaries under /usr/lib/postgresql.
func startPostgres(t *testing.T) *pgServer {
	t.Helper()
	storetest.RequireEnv(t, "SESSIONKIT_PG_DSN")
	s := &pgServer{bindir: pgBindir(t)}
	// Not t.TempDir: as root the cluster belongs to postgres, which must
	// be able to reach its data directory.
	dir, err := os.MkdirTemp("", "pgstore-test-")
	if err != nil {
		t.Fatal(err)
	}
	s.dir = dir
	t.Cleanup(func() { os.RemoveAll(dir) })
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("running as root needs a postgres user: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		s.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	s.run(t, "initdb", "-D", s.data(), "-U", "postgres", "--auth=trust",
		"--encoding=UTF8", "--locale=C", "--no-sync")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, s.port, _ = net.SplitHostPort(ln.Addr().String())
	ln.Close()
	s.start(t)
	t.Cleanup(func() { s.crash(t) })
	return s
}

// pgBindir returns the newest PostgreSQL server bin directory.
func pgBindir(t *testing.T) string {
	t.Helper()
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool {
		vi, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[i])))
		vj, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[j])))
		return vi > vj
	})
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "pg_ctl")); err == nil {
			return d
		}
	}
	t.Fatal("no PostgreSQL server binaries under /usr/lib/postgresql")
	return ""
}

func (s *pgServer) data() string { return filepath.Join(s.dir, "data") }

// dsn is the connection string of the cluster's postgres database.
func (s *pgServer) dsn() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%s/postgres?sslmode=disable&connect_timeout=2", s.port)
}

// run runs one of the server binaries to completion.
func (s *pgServer) run(t *testing.T, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(filepath.Join(s.bindir, name), args...)
	cmd.Dir = s.dir
	if s.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred}
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", name, err, out)
	}
}

// start starts the cluster (again, on the same port and data) and waits
// until it accepts connections.
func (s *pgServer) start(t *testing.T) {
	t.Helper()
	s.run(t, "pg_ctl", "-D", s.data(), "-l", filepath.Join(s.dir, "postgres.log"), "-w", "-t", "30",
		"-o", "-p "+s.port+" -k "+s.dir+" -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c max_connections=50",
		"start")
}

// crash stops every process of the cluster at once, without a shutdown
// checkpoint (pg_ctl's immediate mode, SIGQUIT), as a crash would: the
// next start runs crash recovery. Stopping a stopped cluster does nothing.
func (s *pgServer) crash(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(s.data(), "postmaster.pid")); err != nil {
		return
	}
	s.run(t, "pg_ctl", "-D", s.data(), "-m", "immediate", "-w", "-t", "30", "stop")
}

// pool returns a pool of the cluster, closed with t.
func (s *pgServer) pool(t *testing.T, configure ...func(*pgxpool.Config)) *pgxpool.Pool {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(s.dsn())
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range configure {
		f(cfg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if err := pool.Ping(ctx); err != nil {
		t.Fatalf("own postgres not reachable: %v", err)
	}
	return pool
}

// logTail returns the end of the server log, for failure messages.
func (s *pgServer) logTail() string {
	b, _ := os.ReadFile(filepath.Join(s.dir, "postgres.log"))
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return strings.Join(lines[max(0, len(lines)-20):], "\n")
}
