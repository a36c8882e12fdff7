package main

import (
	"net/http/httptest"
	"testing"

	"github.com/sessionkit/sessionkit/examples/internal/demo"
	"github.com/sessionkit/sessionkit/examples/internal/demotest"
)

func TestDemo(t *testing.T) {
	m, err := demo.NewManager()
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	srv := httptest.NewServer(newEcho(m))
	defer srv.Close()
	demotest.Run(t, srv.URL, "Echo v4")
}
