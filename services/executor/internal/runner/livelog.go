package runner

import (
	"encoding/json"
	"sync"
	"time"

	"github.com/jobcenter/jobcenter/contracts"
)

// LiveLogEvery is how often a run's new log lines are published while it runs: one
// message a run for the common run that writes a line or two and ends sooner.
const LiveLogEvery = 250 * time.Millisecond

// liveLog publishes the lines an attempt writes on its job's log subject, in batches.
type liveLog struct {
	r       *Runner
	msg     contracts.RunLog
	mu      sync.Mutex // pending, sent, timer, closed
	pending []string
	sent    int
	timer   *time.Timer
	closed  bool
	// pub keeps batches in order while publishing outside mu: a line written never
	// waits for the network.
	pub sync.Mutex
}

func (r *Runner) liveLog(f contracts.Fire, attempt int) *liveLog {
	return &liveLog{r: r, msg: contracts.RunLog{V: contracts.Version, FireID: f.FireID, JournalID: f.JournalID,
		Tenant: f.Tenant, JobID: f.JobID, Attempt: attempt}}
}

// add takes a line as it is written; it does not block. A line after the last flush (an
// abandoned interpreter's) is dropped: the run's end has it, or nothing does.
func (l *liveLog) add(line string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return
	}
	l.pending = append(l.pending, line)
	if l.timer == nil {
		l.timer = time.AfterFunc(LiveLogEvery, l.flush)
	}
}

// flush publishes the lines not yet published.
func (l *liveLog) flush() { l.send(false) }

// close publishes the lines not yet published, and takes no more.
func (l *liveLog) close() { l.send(true) }

func (l *liveLog) send(last bool) {
	l.pub.Lock()
	defer l.pub.Unlock()
	l.mu.Lock()
	if l.timer != nil {
		l.timer.Stop()
		l.timer = nil
	}
	l.closed = l.closed || last
	if len(l.pending) == 0 {
		l.mu.Unlock()
		return
	}
	m := l.msg
	m.Seq, m.Lines = l.sent+1, l.pending
	l.sent += len(l.pending)
	l.pending = nil
	l.mu.Unlock()
	data, _ := json.Marshal(m)
	if err := l.r.NC.Publish(contracts.LogSubject(m.Tenant, m.JobID), data); err != nil {
		l.r.Log.Debug().Err(err).Str("fire_id", m.FireID).Msg("live log lines not published")
	}
}
