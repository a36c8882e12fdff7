module github.com/sessionkit/sessionkit/adapters/echov5

go 1.25.0

require (
	github.com/labstack/echo/v5 v5.4.4
	github.com/sessionkit/sessionkit v0.1.0
	go.uber.org/goleak v1.3.0
)

require (
	github.com/gorilla/securecookie v1.1.2 // indirect
	golang.org/x/time v0.15.0 // indirect
)
