// Package demo is what the demo apps (examples/gin, echo, echov5, fiber,
// fiberv3, nethttp) share: the session manager's configuration, the pages
// as handlers written against *core.Session, and their HTML templates.
// Each app only maps Routes onto its framework.
package demo
