package store

import (
	"runtime"
	"syscall"
)

// ioprioClassIdle is the idle I/O scheduling class (linux/ioprio.h).
const (
	ioprioClassShift = 13
	ioprioClassIdle  = 3
	ioprioWhoProcess = 1
)

// inBackground runs f on an OS thread of its own at the lowest CPU
// priority (nice 19) and, where the I/O scheduler supports it, the idle
// I/O class, and waits for it: a backup then takes the CPUs and the disk
// only when the bot's own work leaves them free. Linux sets both per
// thread; the thread is thrown away afterwards (the goroutine ends
// locked to it), so no other goroutine ever runs at that priority.
func inBackground(f func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread()
		// Not unlocked: the thread ends with the goroutine.
		tid := syscall.Gettid()
		_ = syscall.Setpriority(syscall.PRIO_PROCESS, tid, 19)
		_, _, _ = syscall.Syscall(syscall.SYS_IOPRIO_SET, ioprioWhoProcess, uintptr(tid), ioprioClassIdle<<ioprioClassShift)
		f()
	}()
	<-done
}
