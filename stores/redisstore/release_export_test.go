package redisstore

// releasesSent waits until every release queued so far has been answered
// (tests use it before they look at Redis).
func (s *Store) releasesSent() {
	r := &s.releaser
	r.mu.Lock()
	idle := r.idle
	r.mu.Unlock()
	if idle != nil {
		<-idle
	}
}
