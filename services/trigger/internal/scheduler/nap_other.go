//go:build !linux

package scheduler

import "time"

// sleepThread sleeps on the runtime's timer where there is no nanosleep: up to its
// granularity late, but without spinning a core.
func sleepThread(d time.Duration) { time.Sleep(d) }
