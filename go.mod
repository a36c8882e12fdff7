module github.com/sessionkit/sessionkit

go 1.22

require (
	github.com/gorilla/securecookie v1.1.2
	go.uber.org/goleak v1.3.0
)
