// Package demo is what the four demo apps (examples/gin, echo, fiber,
// nethttp) share: the session manager's configuration, the pages as
// handlers written against *core.Session, and their HTML templates. Each
// app only maps Routes onto its framework.
package demo
