// Package filestore keeps sessions in files, one per session, in the layout
// of PHP's files save handler, so Go and PHP can share one session
// directory — locks included — while an application moves from one to the
// other. It needs only the standard library and runs where flock(2) exists
// (Linux, macOS, the BSDs); New fails elsewhere.
//
//	store, err := filestore.New("/var/lib/myapp/sessions", filestore.Options{})
//	m, err := core.New(store, core.Config{Locking: true})
//
// # Layout
//
// A session lives in <dir>/sess_<id>, or with Options.Depth = N in
// <dir>/<c1>/…/<cN>/sess_<id>, where c1…cN are the ID's first characters
// (PHP's "N;MODE;/path" save_path; ParseSavePath reads one). The file holds
// the session's bytes exactly as written, nothing else, so a file PHP wrote
// is read as-is and the other way round; files are created with
// Options.Mode (default 0600). IDs are checked against PHP's alphabet
// [A-Za-z0-9,-] and MaxIDLength before any path is built from them, every
// open uses O_NOFOLLOW, and files owned by another user are refused as PHP
// refuses them; anything else is an error wrapping core.ErrInvalidID.
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
//     with PHP): mtime = expiry - MaxLifetime, so a file PHP wrote at t is
//     live until t + MaxLifetime, and PHP's own GC removes a file this store
//     wrote exactly at the expiry it was given.
//
// Touch moves the mtime, as PHP's updateTimestamp does. A file that was
// created but never written (PHP's read creates one; so does Lock) holds no
// record, so locking an unknown ID never makes it known to strict mode.
//
// # Locking
//
// Lock is PHP's session lock: flock(LOCK_EX) on the session file itself,
// opened read-write and created if absent, held until Unlock. Go and PHP
// processes exclude each other through it. flock only blocks inside the
// kernel, out of a context's reach, so Lock polls with LOCK_NB and a short
// backoff (1 ms doubling to 20 ms) until it gets the lock or ctx ends. There
// is no TTL: the kernel releases a flock when its holder's process dies, so
// a crashed holder never keeps a session locked, and a live holder is never
// robbed of its lock. The lock reads and writes through its own descriptor
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
// # Writes and crashes
//
// Writes go to the locked file in place: pwrite of the whole payload at
// offset 0, then ftruncate to its length (never ftruncate to 0 first, as
// PHP does, which lets a reader see an empty session). A temporary file
// renamed over the session would be atomic but would break PHP's lock: a
// PHP process waiting in flock on the old file would get it once renamed
// away, read stale data and lose its write. To survive a process killed in
// the middle of a write, a write that shrinks the file or spans more than a
// page first saves the new content in a checksummed redo file
// (.r_<id>) and marks the session file with the owner-execute bit until it
// is done; the next access to a marked session finishes or discards the
// write. Writes of at most a page that do not shrink the file are a single
// pwrite, which a killed process completes or never starts. A kill between
// such a pwrite and the mtime update leaves the complete new data with an
// mtime of the moment of writing. Options.Sync adds fsync for durability
// across power loss.
//
// # Garbage collection
//
// GC removes expired session files at every depth (PHP only collects depth
// 0). It never removes a locked session: it takes LOCK_EX|LOCK_NB on each
// candidate first, skips it when a Go or PHP process holds it, and checks
// the mtime again under the lock. It streams the directory in batches and
// holds no store-wide lock, so it can sweep 10⁵ files while requests go on.
// PHP's own GC takes no locks; when PHP shares the directory, let only one
// side collect (Debian disables PHP's probabilistic GC for its cron job).
package filestore
