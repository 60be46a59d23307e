package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	mopts "go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/jobcenter/jobcenter/contracts"
	"github.com/jobcenter/jobcenter/shared/job"
	"github.com/jobcenter/jobcenter/shared/mongostore"
)

// The journal section's one job: a Quartz schedule (so that both facades can page its
// journal), disabled, so that it adds nothing to the journal while it is read.
const (
	journalTenant  = "bench-journal"
	journalBizCode = "1202494946997833818"
	journalSize    = 20
)

// journalSection is the part 5: one job with 1,000,000 journal entries, its first
// and its last page.
func journalSection(o options, w io.Writer) (*section, error) {
	m := o.journalEntries
	last := (m + journalSize - 1) / journalSize
	s := &section{Name: "journal", Columns: []string{"p50", "max", "errors"},
		Title: "5. Journal (the all-in-one program, cmd/jobcenter: embedded NATS JetStream and FerretDB on SQLite)",
		Workload: fmt.Sprintf("Workload: one job (a Quartz schedule, disabled) with %s runs in its journal, each a fire record and an end "+
			"record (success), as the journal projection writes them (mongostore's FireRecord and RunRecord, ids from job.JournalID); "+
			"seeded with InsertMany in batches of %s into the store before the program starts, with the job's saved fire progress set "+
			"to %s. Each run: %d requests of each page in turn, one at a time on one keep-alive connection, page size %d; latency "+
			"from sending the request to reading the whole answer. One store and one program for all %d runs. %s.",
			group(float64(m), 0), group(seedBatch, 0), group(float64(m), 0), o.journalRequests, journalSize, o.runs, settings(o))}

	st, err := newStack(o, w, "journal")
	if err != nil {
		return nil, err
	}
	defer st.remove()
	t := time.Now()
	j := journalJob()
	if err := st.seedStore(func(ctx context.Context, db *mongo.Database, ms *mongostore.Store) error {
		return seedJournal(ctx, db, ms, j, m)
	}); err != nil {
		return nil, fmt.Errorf("seed: %w", err)
	}
	fmt.Fprintf(w, "journal: seeded %s entries in %s\n", group(float64(m), 0), time.Since(t).Round(time.Millisecond))
	if err := st.start(); err != nil {
		return nil, err
	}
	defer st.stop()

	type probe struct {
		label, target string
		page          int
		do            func(page int) (int, []byte, error)
	}
	get := func(page int) (int, []byte, error) {
		return st.c.do("GET", fmt.Sprintf("/api/v1/jobs/%s/journal?page=%d&size=%d", j.ID, page, journalSize), journalTenant, "")
	}
	quartz := func(page int) (int, []byte, error) {
		body := fmt.Sprintf(`{"xw_quartz":{"opttype":"quaryjournal","jobinfoid":%q,"pageindex":%d,"pagesize":%d}}`, j.ID, page, journalSize)
		req, err := http.NewRequest("POST", st.c.url+"/task/quartz/bizcronjob", strings.NewReader(body))
		if err != nil {
			return 0, nil, err
		}
		req.Header.Set("tecode", journalTenant)
		req.Header.Set("Content-Type", "application/json")
		resp, err := st.c.http.Do(req)
		if err != nil {
			return 0, nil, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp.StatusCode, b, err
	}
	probes := []probe{
		{label: "page 1 (the newest 20): GET /api/v1/jobs/{id}/journal?page=1&size=20", target: "≤ 20 ms", page: 1, do: get},
		{label: fmt.Sprintf("page %s (the oldest 20): GET …/journal?page=%d&size=20", group(float64(last), 0), last), target: "≤ 20 ms", page: last, do: get},
		{label: "page 1: Quartz quaryjournal, pageindex 1, pagesize 20", page: 1, do: quartz},
		{label: fmt.Sprintf("page %s: Quartz quaryjournal, pageindex %d, pagesize 20", group(float64(last), 0), last), page: last, do: quartz},
	}
	p50s, maxes := make([][]float64, len(probes)), make([][]float64, len(probes))
	errs := make([]map[int]int, len(probes))
	for i := range errs {
		errs[i] = map[int]int{}
	}
	var loads []string
	for run := range o.runs {
		loads = append(loads, fmt.Sprintf("%.2f", load1()))
		fmt.Fprintf(w, "journal: run %d of %d (load %s) ...\n", run+1, o.runs, loadAvg())
		for k, p := range probes {
			var lat []time.Duration
			for range o.journalRequests {
				t := time.Now()
				code, b, err := p.do(p.page)
				lat = append(lat, time.Since(t))
				if err != nil || code != http.StatusOK {
					errs[k][code]++
					continue
				}
				if err := checkPage(b, m, p.page); err != nil {
					return nil, fmt.Errorf("%s: %w", p.label, err)
				}
			}
			slices.Sort(lat)
			l := latencies{d: lat, expected: len(lat)}
			p50s[k] = append(p50s[k], l.quantile(0.5))
			maxes[k] = append(maxes[k], l.quantile(1))
			fmt.Fprintf(w, "journal: %s: p50 %.1f ms, max %.1f ms\n", p.label, l.quantile(0.5), l.quantile(1))
		}
	}
	for k, p := range probes {
		nerr := 0
		for _, c := range errs[k] {
			nerr += c
		}
		ev := newValue("", []float64{float64(nerr)})
		ev.Text = errorText(errs[k], o.runs)
		r := row{Label: p.label, Values: []value{newValue("ms", p50s[k]), newValue("ms", maxes[k]), ev}, Target: p.target}
		if p.target != "" {
			r.Met = met(nerr == 0 && median(p50s[k]) <= 20)
		}
		s.Rows = append(s.Rows, r)
	}
	s.Notes = append(s.Notes,
		"p50 and max: of each run's requests; the figure is the median over the runs; a failed request's latency counts too",
		"the target (either page ≤ 20 ms) is held against the p50",
		"errors: non-200 answers over all runs, by status; status 0 is no answer (the client's 60 s timeout)",
		"machine load average (1 min) as each run began: "+strings.Join(loads, ", "))
	if o.profile != "" {
		path, err := profileJournal(o, st, probes[1].do, last)
		if err != nil {
			fmt.Fprintf(w, "journal: no profile: %v\n", err)
		} else {
			s.Notes = append(s.Notes, "profile of the last page's requests (an extra run, not measured): "+path)
		}
	}
	return s, nil
}

func profileJournal(o options, st *stack, do func(int) (int, []byte, error), page int) (string, error) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			_, _, _ = do(page)
		}
	}()
	path, err := perfRecord(o, st.pid(), "journal-last-page", 10*time.Second)
	<-done
	return path, err
}

// checkPage makes sure a page is the one asked for: its counts, and 20 entries whose runs
// ended, newest first. Either facade's answer is accepted.
func checkPage(b []byte, total, page int) error {
	type pageBody struct {
		PageIndex, PageSize, ResultCount, PageCount int
		Data                                        []struct {
			TriggerID string `json:"triggerid"`
			ExeStatus string `json:"exestatus"`
		}
	}
	var p pageBody
	var q struct {
		RespData struct {
			QuartzList *pageBody `json:"quartz_list"`
		} `json:"resp_data"`
	}
	if err := json.Unmarshal(b, &q); err == nil && q.RespData.QuartzList != nil {
		p = *q.RespData.QuartzList
	} else if err := json.Unmarshal(b, &p); err != nil {
		return fmt.Errorf("answer does not decode: %w", err)
	}
	want := min(journalSize, total-(page-1)*journalSize)
	if p.ResultCount != total || p.PageIndex != page || len(p.Data) != want {
		return fmt.Errorf("page %d: resultCount %d, pageIndex %d, %d entries; want %d, %d, %d", page, p.ResultCount, p.PageIndex, len(p.Data), total, page, want)
	}
	for _, e := range p.Data {
		if e.ExeStatus != contracts.RunSuccess {
			return fmt.Errorf("page %d: an entry's exestatus is %q, not success: the seeded end record was not found", page, e.ExeStatus)
		}
	}
	return nil
}

func journalJob() job.Job {
	created := time.Now().UTC().Add(-24 * time.Hour).Truncate(time.Millisecond)
	return job.Job{
		ID: benchID(5, 0), Key: benchKey(5, 0), Tenant: journalTenant,
		Spec: job.Spec{Name: "调度名称", Trigger: job.Trigger{Kind: job.Cron, Cron: "0 0 3 * * ?", Zone: "Asia/Shanghai"},
			Target: job.Target{BizCode: journalBizCode}, Policy: job.DefaultPolicy()},
		State: job.Stopped, CreatedAt: created, UpdatedAt: created, Version: 1, LastCommand: "bench-seed",
	}
}

// seedJournal writes job j with m runs in its journal: run k fired at a second of its
// own, ended a millisecond later.
func seedJournal(ctx context.Context, db *mongo.Database, st *mongostore.Store, j job.Job, m int) error {
	if err := st.PutJob(ctx, j); err != nil {
		return err
	}
	base := j.CreatedAt.Add(time.Hour)
	insert := func(col string, mk func(k int) any) error {
		docs := make([]any, 0, seedBatch)
		for k := 1; k <= m; k++ {
			docs = append(docs, mk(k))
			if len(docs) == seedBatch || k == m {
				if _, err := db.Collection(col).InsertMany(ctx, docs, mopts.InsertMany().SetOrdered(false)); err != nil {
					return fmt.Errorf("insert into %s: %w", col, err)
				}
				docs = docs[:0]
			}
		}
		return nil
	}
	if err := insert(colJournal, func(k int) any {
		at := base.Add(time.Duration(k) * time.Second)
		return mongostore.FireRecord{ID: job.JournalID(j.ID, int64(k)), JobID: j.ID, Tenant: j.Tenant, Seq: int64(k),
			TriggerID: job.FireID(j.ID, at), RunType: contracts.RunTypeTrigger, TriggerStatus: contracts.TriggerFired,
			TriggerTime: at, FiredAt: at}
	}); err != nil {
		return err
	}
	if err := insert(colJournalRun, func(k int) any {
		at := base.Add(time.Duration(k) * time.Second)
		end := at.Add(time.Millisecond)
		id := job.JournalID(j.ID, int64(k))
		return mongostore.RunRecord{ID: job.RunEndID(id), JournalID: id, Status: contracts.RunSuccess, Attempts: 1,
			StartedAt: at, EndedAt: &end, Detail: "return 1", DynamicID: fmt.Sprintf("%032x", k)}
	}); err != nil {
		return err
	}
	if _, err := db.Collection(colJobs).UpdateOne(ctx, bson.M{"_id": j.ID},
		bson.M{"$set": bson.M{"fireSeq": int64(m)}}); err != nil {
		return err
	}
	// The program must find them as the trigger and the journal projection would have
	// left them.
	sj, err := st.GetJob(ctx, j.ID)
	if err != nil {
		return err
	}
	if sj.Progress.Seq != int64(m) {
		return fmt.Errorf("the job's fire progress reads back as %d, not %d", sj.Progress.Seq, m)
	}
	// The oldest page: with a store that scans for an _id, the cheapest to read.
	last := int64((m + journalSize - 1) / journalSize)
	p, err := st.JournalPage(ctx, j.ID, sj.Progress.Seq, 0, last, journalSize)
	if err != nil {
		return err
	}
	if len(p.Entries) == 0 || p.Entries[len(p.Entries)-1].Fire.Seq != 1 || p.Entries[0].Status() != contracts.RunSuccess {
		return fmt.Errorf("the journal's last page reads back wrong: %+v", p)
	}
	return nil
}
