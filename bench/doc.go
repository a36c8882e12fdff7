// Package bench measures sessionkit side by side with the Go session
// libraries people use today, in one `go test -bench` run, on the same
// handlers and the same in-process request path:
//
//	cd bench && go test -run '^$' -bench . -benchmem -count 6 | tee new.txt
//	benchstat new.txt
//
// Every benchmark name is Benchmark<Framework>/<library>/<scenario>, with
// scenario one of read (existing session, one value read), write (existing
// session, one value read and written) and new (no cookie, one value
// written). "bare" is the framework without any session middleware: a
// library's overhead is its time minus bare's.
package bench
