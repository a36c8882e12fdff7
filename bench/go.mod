module github.com/sessionkit/sessionkit/bench

go 1.22

replace github.com/sessionkit/sessionkit => ../

require (
	github.com/alexedwards/scs/v2 v2.9.0
	github.com/sessionkit/sessionkit v0.0.0
)

require github.com/gorilla/securecookie v1.1.2 // indirect
