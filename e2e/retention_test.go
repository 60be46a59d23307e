package e2e_test

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/jobcenter/jobcenter/contracts"
)

// retainedSample is what the center holds at one moment of the soak.
type retainedSample struct {
	at                                         time.Duration
	runs, removed                              float64
	journalRecords, runsMsgs, claimsMsgs, heap float64
	// streamBytes is what each stream and bucket holds, by the metrics; streamDisk what
	// its folder takes on disk; storeDisk the embedded store's database files, storeWAL
	// their write-ahead logs.
	streamBytes, streamDisk map[string]float64
	storeDisk, storeWAL     float64
}

// maxStoreWAL bounds the store's write-ahead logs. SQLite copies a log into its database
// and starts it over every 1,000 pages (4 MB) written, but the file keeps the largest
// size it reached, which depends on how far a checkpoint was held back by readers: it is
// not a figure that levels off by the minute, so it is bounded rather than compared.
const maxStoreWAL = 16 << 20

// storeBytes is what the store's folder takes in its database files and in their logs.
func storeBytes(t *testing.T, dir string) (db, wal float64) {
	t.Helper()
	all := float64(dirBytes(t, dir))
	logs, _ := filepath.Glob(filepath.Join(dir, "*-wal"))
	for _, f := range logs {
		if info, err := os.Stat(f); err == nil {
			wal += float64(info.Size())
		}
	}
	return all - wal, wal
}

// blockAllowance is what a stream's folder may hold beyond its messages: JetStream
// removes a file block (8 MiB for a stream or bucket without a byte limit) only once
// every message in it is gone, so a folder holds up to a block of removed messages.
const blockAllowance = 8<<20 + 1<<20

func dirBytes(t *testing.T, dir string) int64 {
	t.Helper()
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // a file removed while walking
		}
		if info, err := d.Info(); err == nil && !d.IsDir() {
			n += info.Size()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// A short soak of the all-in-one program with a journal kept 30 s and fires kept a minute:
// once the retentions are reached, what the center holds — journal records, stream and
// bucket messages, the data folder, the heap — stops growing, and old runs are gone from
// pages, the store and the stream while the newest pages stay whole.
func TestUnderSteadyLoadWhatRunsLeaveBehindLevelsOffAtTheRetention(t *testing.T) {
	bin, err := buildServices()
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	dir := t.TempDir()
	httpAddr, natsAddr := freeAddr(t), freeAddr(t)
	const keep = 30 * time.Second
	p := startProc(t, bin, "jobcenter", "JOBCENTER_DATA_DIR="+dir, "JOBCENTER_HTTP_ADDR="+httpAddr,
		"JOBCENTER_NATS_LISTEN="+natsAddr, "JOBCENTER_LOG_LEVEL=warn",
		"JOBCENTER_JOURNAL_MAX_AGE="+keep.String(), "JOBCENTER_RUNS_MAX_AGE=1m", "JOBCENTER_DUPLICATE_WINDOW=20s",
		"JOBCENTER_EXEC_REDELIVER_AFTER=2s")
	c := &center{t: t, url: "http://" + httpAddr}
	c.waitReady()
	const jobs = 40
	ids := startedJobs(t, c, "soak", jobs)
	began := time.Now()

	streamDirs, _ := filepath.Glob(filepath.Join(dir, "nats", "jetstream", "*", "streams"))
	if len(streamDirs) != 1 {
		t.Fatalf("no JetStream streams folder under %s", dir)
	}
	sample := func() retainedSample {
		m := scrape(t, c.url+"/metrics")
		s := retainedSample{
			at: time.Since(began).Round(time.Second), runs: m.value("jobcenter_runs_total"),
			removed: m.value("jobcenter_journal_removed_total", "reason=age"), journalRecords: m.value("jobcenter_journal_records"),
			runsMsgs: m.value("jobcenter_stream_messages", "stream="+contracts.StreamRuns), claimsMsgs: m.value("jobcenter_stream_messages", "stream=KV_jobcenter_claims"),
			heap:        m.value("go_memstats_heap_inuse_bytes"),
			streamBytes: map[string]float64{}, streamDisk: map[string]float64{},
		}
		s.storeDisk, s.storeWAL = storeBytes(t, filepath.Join(dir, "ferret"))
		for _, name := range m.labelValues("jobcenter_stream_bytes", "stream") {
			s.streamBytes[name] = m.value("jobcenter_stream_bytes", "stream="+name)
			s.streamDisk[name] = float64(dirBytes(t, filepath.Join(streamDirs[0], name)))
		}
		return s
	}
	// The retentions are reached after a minute (the stream's); the center is measured
	// after it, a minute apart.
	var samples []retainedSample
	for _, at := range []time.Duration{30 * time.Second, 60 * time.Second, 90 * time.Second, 120 * time.Second, 150 * time.Second} {
		time.Sleep(time.Until(began.Add(at)))
		s := sample()
		samples = append(samples, s)
		t.Logf("at %v: %.0f runs, %.0f removed; journal %.0f records, %s %.0f messages, claims %.0f, heap %.1f MB, store %.1f MB and its log %.1f MB",
			s.at, s.runs, s.removed, s.journalRecords, contracts.StreamRuns, s.runsMsgs, s.claimsMsgs, s.heap/1e6, s.storeDisk/1e6, s.storeWAL/1e6)
		for name, b := range s.streamBytes {
			t.Logf("at %v: %s holds %.2f MB in messages, %.2f MB on disk", s.at, name, b/1e6, s.streamDisk[name]/1e6)
		}
	}
	warm, last := samples[2], samples[4]
	if ran := last.runs - warm.runs; ran < jobs*50 {
		t.Fatalf("only %.0f runs in the last minute, want about %d: the load did not hold", ran, jobs*60)
	}
	level := func(what string, a, b, slack float64) {
		t.Helper()
		if b > a*(1+slack) {
			t.Errorf("%s grew from %.0f to %.0f over the last minute (more than %.0f%%): it does not level off", what, a, b, slack*100)
		}
	}
	level("journal records", warm.journalRecords, last.journalRecords, 0.15)
	level(contracts.StreamRuns+" messages", warm.runsMsgs, last.runsMsgs, 0.15)
	level("claims", warm.claimsMsgs, last.claimsMsgs, 0.5)
	level("the store's database files", warm.storeDisk, last.storeDisk, 0.15)
	for _, s := range samples {
		if s.storeWAL > maxStoreWAL {
			t.Errorf("at %v the store's write-ahead log takes %.1f MB, more than %d MB", s.at, s.storeWAL/1e6, maxStoreWAL>>20)
		}
	}
	level("the heap in use", warm.heap, last.heap, 0.5)
	for _, name := range []string{contracts.StreamRuns, "KV_jobcenter_claims", "KV_jobcenter_slots"} {
		level(name+" bytes", warm.streamBytes[name], last.streamBytes[name], 0.15)
	}
	for _, s := range samples[2:] {
		for name, disk := range s.streamDisk {
			if disk > s.streamBytes[name]+blockAllowance {
				t.Errorf("at %v %s takes %.1f MB on disk for %.1f MB of messages: more than a file block of removed ones", s.at, name, disk/1e6, s.streamBytes[name]/1e6)
			}
		}
	}
	// A run is three records (its fire, its start, its end), kept 30 s and up to a
	// granule (1.5 s) and the journal's lag more.
	if max := 3.0 * jobs * (keep.Seconds() + 6); last.journalRecords > max || last.journalRecords < max/2 {
		t.Errorf("the journal holds %.0f records; 40 jobs a second kept 30 s hold about %.0f", last.journalRecords, 3.0*jobs*keep.Seconds())
	}
	if last.removed < jobs*60 {
		t.Errorf("retention removed %.0f runs, want at least %d (those older than 30 s)", last.removed, jobs*60)
	}

	// Pages: a job's journal holds its last 30 s or so, whole, newest first.
	now := time.Now()
	pg := c.journal("soak", ids[0], 1, 100)
	if pg.ResultCount < 25 || pg.ResultCount > 40 || len(pg.Data) != pg.ResultCount {
		t.Fatalf("a job firing each second kept 30 s shows %d runs (%d on its page)", pg.ResultCount, len(pg.Data))
	}
	var prev time.Time
	for i, e := range pg.Data {
		at, err := time.Parse("2006-01-02T15:04:05.000-0700", e["triggertime"].(string))
		if err != nil {
			t.Fatal(err)
		}
		if age := now.Sub(at); age > keep+5*time.Second {
			t.Errorf("entry %d fired %v ago, past the retention of %v", i, age.Round(time.Millisecond), keep)
		}
		if i > 0 && prev.Sub(at) != time.Second {
			t.Errorf("entries %d and %d are %v apart, want a second: the kept page is not whole", i-1, i, prev.Sub(at))
		}
		if st := e["exestatus"]; i > 1 && st != "success" {
			t.Errorf("entry %d is %v", i, st)
		}
		prev = at
	}
	// The stream: its oldest fire is no older than its minute.
	nc, err := nats.Connect("nats://" + natsAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	stream, err := js.Stream(ctx, contracts.StreamRuns)
	if err != nil {
		t.Fatal(err)
	}
	first, err := stream.GetMsg(ctx, stream.CachedInfo().State.FirstSeq)
	if err != nil {
		t.Fatal(err)
	}
	if age := time.Since(first.Time); age > time.Minute+10*time.Second {
		t.Errorf("%s's oldest message is %v old; the stream keeps a minute", contracts.StreamRuns, age.Round(time.Second))
	}
	p.term(t)
}
