package scheduler_test

import (
	"testing"
	"time"

	"github.com/jobcenter/jobcenter/services/trigger/internal/scheduler"
)

// BenchmarkDueAfterAMonthOfDowntime: an every-second cron job catching up 2.6 million
// missed instants with one fire must not walk them (walking costs about 0.6 s).
func BenchmarkDueAfterAMonthOfDowntime(b *testing.B) {
	for b.Loop() {
		scheduler.Due(everySecondCron, t0.Add(time.Second), t0.Add(30*24*time.Hour), policy)
	}
}
