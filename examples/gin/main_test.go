package main

import (
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/sessionkit/sessionkit/examples/internal/demo"
	"github.com/sessionkit/sessionkit/examples/internal/demotest"
)

func TestDemo(t *testing.T) {
	gin.SetMode(gin.ReleaseMode)
	m, err := demo.NewManager()
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	srv := httptest.NewServer(newRouter(m))
	defer srv.Close()
	demotest.Run(t, srv.URL, "Gin")
}
