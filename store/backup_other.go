//go:build !linux

package store

// inBackground runs f; only Linux lowers the priority of one thread.
func inBackground(f func()) { f() }
