package commands

import (
	"sync"

	"github.com/jobcenter/jobcenter/shared/job"
)

// memoSize bounds the jobs the processor remembers: about 1 KiB each.
const memoSize = 100_000

// memo remembers the lifecycle state of the jobs the processor applied this term, so
// that the next command of a job is decided without reading the store. The active
// trigger is the only writer of job lifecycle, and a memo lives for one active term, so
// what it holds is the newest state. A state not written yet is in Behind as well, which
// is read first: a job forgotten to keep the memo's bound is read from there or from the
// store, which has it then.
type memo struct {
	mu   sync.Mutex
	jobs map[string]job.Job
}

func newMemo() *memo { return &memo{jobs: map[string]job.Job{}} }

func (m *memo) get(id string) (job.Job, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	j, ok := m.jobs[id]
	return j, ok
}

func (m *memo) put(j job.Job) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.jobs[j.ID]; !ok && len(m.jobs) >= memoSize {
		for id := range m.jobs { // any one: Behind or the store has it
			delete(m.jobs, id)
			break
		}
	}
	m.jobs[j.ID] = j
}

func (m *memo) forget(id string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.jobs, id)
}
