// Package adaptertest is the HTTP-level scenario suite every sessionkit
// adapter runs, so that net/http, Gin, Echo and Fiber behave the same.
//
// An adapter's test maps a small route table (Routes, written against
// *core.Session only) onto its framework, serves it through a real server
// on 127.0.0.1 and hands Run the base URL:
//
//	func TestScenarios(t *testing.T) {
//		adaptertest.Run(t, func(t *testing.T, m *core.Manager, routes adaptertest.Routes) string {
//			srv := httptest.NewServer(m.Handler(adaptertest.Mux(routes)))
//			t.Cleanup(srv.Close)
//			return srv.URL
//		})
//	}
//
// Run drives it with an http.Client and a cookie jar: lazy create, lazy
// write (counted on the store), regenerate, destroy, tampered tokens, a store
// that is down (503, the handler's output withheld), streaming, changes made
// after the first byte, locking (100 concurrent increments give 100), and
// the exact Set-Cookie attributes, compared with the net/http middleware's
// (the reference) for the same configuration.
package adaptertest
