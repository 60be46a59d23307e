package httpapi

import (
	"bytes"
	"encoding/json"
	"sync"
	"time"

	"github.com/jobcenter/jobcenter/shared/job"
)

// A list of 100 jobs spent most of its CPU encoding the same job infos again (measured:
// README, Performance, section 4). A job's info changes only with its version, but for
// next_run_time, which moves with the clock: infoCache keeps each job's info as JSON cut
// around next_run_time, so a list writes the parts and formats one time a job.

// infosKept bounds the jobs whose encoded infos are kept: about 700 bytes each.
const infosKept = 50_000

// nextMark stands for next_run_time while a job's info is encoded whole once.
const nextMark = "\x00next_run_time\x00"

var nextMarkJSON, _ = json.Marshal(nextMark)

// encodedInfo is a job's info as JSON, head and tail around next_run_time's value.
type encodedInfo struct {
	version    int64
	head, tail []byte
}

// infoCache holds the encoded infos of up to max jobs; full, it starts again empty.
type infoCache struct {
	max int
	mu  sync.RWMutex
	m   map[string]encodedInfo
}

func newInfoCache(max int) *infoCache { return &infoCache{max: max, m: map[string]encodedInfo{}} }

// appendInfo appends j's info as JSON at now, in loc, as toJobInfoNext renders it with
// next.
func (c *infoCache) appendInfo(b []byte, j job.Job, now time.Time, loc *time.Location, next func(time.Time) (time.Time, bool)) []byte {
	c.mu.RLock()
	e, ok := c.m[j.ID]
	c.mu.RUnlock()
	if !ok || e.version != j.Version {
		e = encodeInfo(j, loc)
		c.mu.Lock()
		if len(c.m) >= c.max {
			c.m = map[string]encodedInfo{}
		}
		c.m[j.ID] = e
		c.mu.Unlock()
	}
	b = append(b, e.head...)
	if at, ok := next(now); ok {
		b = append(b, '"')
		b = append(b, job.FormatLocal(at, loc)...)
		b = append(b, '"')
	} else {
		b = append(b, "null"...)
	}
	return append(b, e.tail...)
}

func encodeInfo(j job.Job, loc *time.Location) encodedInfo {
	info := toJobInfo(j, time.Time{}, loc)
	mark := nextMark
	info.NextRunTime = &mark
	data, _ := json.Marshal(info) // plain fields always marshal
	i := bytes.Index(data, nextMarkJSON)
	return encodedInfo{version: j.Version, head: data[:i], tail: data[i+len(nextMarkJSON):]}
}
