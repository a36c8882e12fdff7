package adaptertest_test

import (
	"net/http/httptest"
	"testing"

	"github.com/sessionkit/sessionkit/adapters/adaptertest"
	"github.com/sessionkit/sessionkit/core"
)

// TestNetHTTP runs the suite against core's own net/http middleware, the
// reference the adapters are compared with.
func TestNetHTTP(t *testing.T) {
	adaptertest.Run(t, func(t *testing.T, m *core.Manager, routes adaptertest.Routes) string {
		srv := httptest.NewServer(m.Handler(adaptertest.Mux(routes)))
		t.Cleanup(srv.Close)
		return srv.URL
	})
}
