package scheduler

import (
	"syscall"
	"time"
)

// sleepThread sleeps the calling thread for about d (the kernel adds up to 50 µs of
// slack), outside the runtime's timers and their millisecond steps.
func sleepThread(d time.Duration) {
	ts := syscall.NsecToTimespec(int64(d))
	_ = syscall.Nanosleep(&ts, nil)
}
