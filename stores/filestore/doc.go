// Package filestore keeps sessions in files, one per session, in the layout
// of PHP's files save handler, so Go and PHP can share one session
// directory — locks included — while an application moves from one to the
// other. It needs only the standard library and runs where flock(2) exists
// (Linux, macOS, the BSDs); New fails elsewhere.
//
//	store, err := filestore.New("/var/lib/myapp/sessions", filestore.Options{})
//	m, err := core.New(store, core.Config{Locking: true})
//
// Over the session directory of a PHP application, open it with PHP, from
// php.ini's session.save_path and session.gc_maxlifetime, and give the
// Manager core.PHPConfig with the same gc_maxlifetime:
//
//	store, err := filestore.PHP("1;0600;/var/lib/php/sessions", 1440*time.Second)
//	cfg, err := core.PHPConfig("php", 1440*time.Second) // session.serialize_handler
//	cfg.Locking = true
//	m, err := core.New(store, cfg)
//
// # Layout
//
// A session lives in <dir>/sess_<id>, or with Options.Depth = N in
// <dir>/<c1>/…/<cN>/sess_<id>, where c1…cN are the ID's first characters
// (PHP's "N;MODE;/path" save_path; ParseSavePath reads one). The file holds
// the session's bytes exactly as written, nothing else, so a file PHP wrote
// is read as-is and the other way round; files are created with
// Options.Mode (default 0600). IDs are checked against PHP's alphabet
// [A-Za-z0-9,-] and MaxIDLength (250, as core.MaxIDLength) before any path
// is built from them; anything else is an error wrapping core.ErrInvalidID.
//
// The store never follows or writes through what someone with write access
// to the directory may have planted: every open uses O_NOFOLLOW; each
// subdirectory is checked with Lstat (a real directory, owned by this user
// or root) before a path goes through it and created one level at a time;
// a session file that is not a regular file, is owned by another user
// (PHP's rule: refused unless running as root) or has other hard links is
// refused with an error, never replaced (that would break PHP's lock on
// it), and Exists reports no record for it. Recovery files are created exclusively after removing
// whatever had their name. With Depth > 0 in a directory others can write
// to, create the subdirectories beforehand (PHP's mod_files.sh) and keep
// the sticky bit on the top directory: a subdirectory someone else made
// first is refused (by the same ownership rule), and only the sticky bit
// stops a checked subdirectory from being swapped for a link between the
// check and its use, a window the standard library's path-based calls
// leave open.
//
// # Expiry
//
// PHP keeps no expiry in the file: a session expires gc_maxlifetime after
// its file's mtime. The store keeps the expiry in the mtime too, in one of
// two ways:
//
//   - Options.MaxLifetime = 0 (the default, for directories only Go uses):
//     mtime = expiry; a record is live while its mtime is in the future.
//   - Options.MaxLifetime = session.gc_maxlifetime (for a directory shared
//     with PHP; PHP sets it): mtime = expiry - MaxLifetime, so a file PHP
//     wrote at t is live until t + MaxLifetime, and PHP's own GC removes a
//     file this store wrote exactly at the expiry it was given.
//
// Only the second can share a directory with PHP, which moves a session's
// mtime to "now" on every request: in the first layout a file PHP wrote
// reads as expired at once, and so does a Go session after one PHP
// request. With the second, a Manager whose IdleTimeout is gc_maxlifetime
// (core.PHPConfig) writes and touches sessions with mtime = now, as PHP
// does. PHP itself never checks expiry when it reads a session: a file its
// GC has not removed yet is still a session to PHP, while Go, counting
// the same mtime, already starts a new one.
//
// Touch moves the mtime, as PHP's updateTimestamp does. A file that was
// created but never written (PHP's read creates one) holds no record, so
// PHP opening an unknown ID never makes it known to Go's strict mode. PHP
// writes an empty session as an empty file whose data did not change, so
// it only utime()s it: such a file looks never written, and Go reads that
// session as absent (it held nothing). The store never removes a file for
// being empty: only Destroy and GC remove session files, besides a file
// the store created itself and failed to write (see Writes and failures).
//
// # Locking
//
// Lock is PHP's session lock: flock(LOCK_EX) on the session file itself,
// opened read-write, held until Unlock. Go and PHP processes exclude each
// other through it. Unlike PHP, Lock never creates the session file: PHP's
// strict mode adopts any ID whose file exists, so a file made for a
// client-chosen ID — even only while it is locked — would get that ID
// adopted, and let clients create files at will. While no session file
// exists, Lock flocks a lock file (.l_<id> in the top directory) instead,
// which every Go process's Lock takes too, and removes it on Unlock (GC
// removes the ones of processes that died holding them). A write through
// such a lock creates the session file exclusively and locks it before
// writing. PHP, which knows no lock files, may meanwhile create the session
// file for the ID (it does for any ID it opens, outside strict mode);
// then the lock's Read waits for PHP's flock and reads what PHP wrote, and
// its Write, if it did not read, fails with core.ErrLockLost: no update is
// lost either way. The same holds for a Write (which takes no Lock) from
// another process. Lock files need the top directory to be writable, as a
// flat layout does anyway.
//
// flock only blocks inside the kernel, out of a context's reach, so Lock
// polls with LOCK_NB and a short backoff (1 ms doubling to 20 ms) until it
// gets the lock or ctx ends. There is no TTL: the kernel releases a flock
// when its holder's process dies, so a crashed holder never keeps a
// session locked, and a live holder is never robbed of its lock. The lock reads and writes through its own descriptor
// (core.LockedReader, core.LockedWriter); a write through a lock whose
// session was destroyed meanwhile fails with core.ErrLockLost, so a logout
// always wins. flock is unreliable on NFS: keep the directory local.
//
// Read, Write and Swap never see each other's work half done: while this
// process holds a session's Lock they go through the holder's descriptor;
// otherwise Read takes a shared flock and Write and Swap an exclusive one
// for their own duration, waiting (bounded by ctx) while another process
// holds the session's lock, as PHP's read_and_close waits. The held locks
// are known per Store value, so use one Store per directory in a process.
//
// # Writes and failures
//
// Writes go to the locked file in place: pwrite of the whole payload at
// offset 0, then ftruncate to its length (never ftruncate to 0 first, as
// PHP does, which lets a reader see an empty session). A temporary file
// renamed over the session would be atomic but would break PHP's lock: a
// PHP process waiting in flock on the old file would get it once renamed
// away, read stale data and lose its write.
//
// A write happens completely or not at all, and an error means not at all
// (a 503 is never a change that was applied): the old record stays, and
// never turns into the new one later. A write that shrinks the file or
// spans more than a page first saves the old content in a checksummed
// recovery file (.r_<id>) and marks the session file with the
// owner-execute bit until it is done; clearing the mark commits it. A
// write that fails before (a full disk, an I/O error) restores the old
// content and removes the recovery file; after a process killed mid-write
// (or a restore that failed too), the next access to the marked session
// restores the old record from the recovery file. Writes of at most a
// page that do not shrink the file are a single pwrite, which a killed
// process completes or never starts; if it or the mtime update after it
// fails, the old bytes are put back. A recovery file that cannot be
// written completely is removed, so a full disk is not left fuller. A
// session file created by a write (or by a write through a Lock) whose
// first write fails is removed again, so failed new sessions leave nothing
// behind. Options.Sync adds fsync for durability across power loss.
//
// What stays possible:
//
//   - A kill between a one-page pwrite and its mtime update leaves the
//     complete new data with an mtime of the moment of writing.
//   - A restore that fails too: after a write through the recovery file,
//     the mark and the recovery file stay and every access reports an
//     error until the restore succeeds (it needs no new disk space on a
//     file system that overwrites in place, except after a shrinking
//     write); after a one-page write, which has no recovery file, the
//     error says so and the file may hold the new record. Both need an
//     I/O error, not a full disk.
//   - A kill while restoring an empty file the store had created can leave
//     an empty record (no data) under an ID nobody was given; a kill
//     between creating a session file and writing it leaves an empty file
//     that holds no record until GC removes it.
//   - A PHP process locking a session right after a Go writer died
//     mid-write may read the torn file: PHP knows no recovery files.
//   - Removing the session file of a failed first write checks, under its
//     flock, that the name still means that empty file and then unlinks
//     it; a Destroy and a new session file under the same name in between
//     would be removed instead. A session file is only created for an ID
//     nobody holds a session under; with core that is an ID the failing
//     request has just minted, which nobody else knows yet.
//
// # User index
//
// The store is a core.UserIndex, so Manager.DestroyUser ("log out
// everywhere") works on it, at a cost that grows with the user's sessions,
// never with the directory's: 10 sessions of one user among 10⁵ of others
// end in a few milliseconds. The index lives beside the sessions:
//
//	<dir>/.u/key            32 random bytes, made on first use (0600)
//	<dir>/.u/<hh>/<h>/<id>  an empty file per session of the user
//
// where h is HMAC-SHA256(key, user) truncated to 32 hex digits and hh its
// first two. A directory listing shows no user names, nor hashes that a
// dictionary of likely names could be matched against without the key;
// entries are named by session ID, which the sess_ files next door
// already show. The index is always in the top directory, whatever
// Options.Depth is, and every directory on the way is checked as the
// session subdirectories are (a real directory of this user or root,
// never a link, Options.DirMode when created); entries are opened with
// O_NOFOLLOW, and a name that is not a valid session ID is ignored. It
// lives in files, so it survives restarts, and every Store on the
// directory, in any process, shares it (the key is made once: each
// process links its candidate to the key's name and the first wins).
// Keep .u/key with the sessions: without it the index is lost (GC
// still removes the orphaned entries as their sessions end).
//
// PHP does not know the index, and nothing in it starts with sess_, so
// neither PHP's GC nor Debian's cron job (find -name 'sess_*') touches
// it. An entry carries no expiry: it stands for whatever its session file
// holds, so an entry whose session PHP's GC deleted, that expired, or
// whose removal failed is stale but harmless. UserSessions drops the stale
// entries of the user it lists, and GC those of every user, with the
// user directories left empty. Removing an entry checks its session under
// the entry's exclusive flock, and AddUserSession (which core calls after
// writing the session) holds a shared flock on the entry it made, so a
// session bound while its stale entry is being removed gets a new entry
// instead of losing it. Each step is a single create, link or unlink,
// so a killed process leaves at worst a missing entry for a session it
// was binding (as a crash between the two calls does on every store) or
// an empty directory that GC removes.
//
// # Garbage collection
//
// GC removes expired session files at every depth (PHP only collects depth
// 0). It never removes a locked session: it takes LOCK_EX|LOCK_NB on each
// candidate first, skips it when a Go or PHP process holds it, and checks
// the mtime again under the lock. It streams the directory in batches and
// holds no store-wide lock, so it can sweep 10⁵ files while requests go on.
// It then walks the user index and drops the entries of sessions that hold
// no live record.
// PHP's own GC takes no locks; when PHP shares the directory, let only one
// side collect (Debian disables PHP's probabilistic GC for its cron job).
package filestore
