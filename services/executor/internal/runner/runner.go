// Package runner executes fires: it claims each fire once (the "running" report's message
// id is derived from the fire id, so a redelivered fire is recognised), runs its target —
// code in the Starlark sandbox, or a business flow or behaviour by NATS request/reply or
// HTTP — within the execution timeout, and reports the result on the run subject.
package runner

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/jobcenter/jobcenter/contracts"
	"github.com/jobcenter/jobcenter/shared/bus"
	"github.com/jobcenter/jobcenter/shared/jobcode"
)

// MaxDetail bounds the journal's exedes text.
const MaxDetail = 16 << 10

// SDKFactory gives the sdk_* calls of a run, bound to the run's project.
type SDKFactory func(tenant string) jobcode.SDK

// Runner executes fires.
type Runner struct {
	JS  jetstream.JetStream
	NC  *nats.Conn
	SDK SDKFactory
	// Timeout applies when a fire carries none.
	Timeout time.Duration
	// FlowURL and BizURL, when set, are HTTP templates ({flow_id}; {bizcode}, {tecode})
	// used instead of NATS request/reply.
	FlowURL, BizURL string
	HTTP            *http.Client
	Log             zerolog.Logger
	// OnFinished, if set, is called with each final report.
	OnFinished func(f contracts.Fire, r contracts.RunEvent)
}

// Handle runs one fire message.
func (r *Runner) Handle(ctx context.Context, msg jetstream.Msg) error {
	var f contracts.Fire
	if err := json.Unmarshal(msg.Data(), &f); err != nil {
		return bus.Poison(fmt.Errorf("fire does not decode: %w", err))
	}
	if f.FireID == "" || f.JournalID == "" || f.JobID == "" {
		return bus.Poison(errors.New("fire lacks fire_id, journal_id or job_id"))
	}
	log := r.Log.With().Str("tenant", f.Tenant).Str("job_id", f.JobID).Str("fire_id", f.FireID).Logger()
	ev := contracts.RunEvent{
		V: contracts.Version, FireID: f.FireID, JournalID: f.JournalID, Tenant: f.Tenant, JobID: f.JobID,
		Status: contracts.RunRunning, DynamicID: newID(), Attempts: 1, StartedAt: time.Now().UTC(),
	}
	ack, err := r.report(ctx, ev, f.FireID+":running")
	if err != nil {
		return err
	}
	if ack.Duplicate {
		log.Info().Msg("fire already claimed; not run again")
		return nil
	}
	timeout := time.Duration(f.TimeoutMs) * time.Millisecond
	if timeout <= 0 {
		timeout = r.Timeout
	}
	rctx, cancel := context.WithTimeout(ctx, timeout)
	detail, result, runErr := r.run(rctx, f, timeout)
	cancel()
	end := time.Now().UTC()
	ev.EndedAt = &end
	ev.Status, ev.Result = contracts.RunSuccess, result
	if runErr != nil {
		ev.Status = contracts.RunFailure
		detail = strings.TrimSpace(runErr.Error() + "\n" + detail)
	}
	ev.Detail = clip(detail, MaxDetail)
	// The final report must be stored even when shutdown has begun.
	if _, err := r.report(context.WithoutCancel(ctx), ev, f.FireID+":final"); err != nil {
		return err
	}
	log.Debug().Str("status", ev.Status).Dur("took", end.Sub(ev.StartedAt)).Msg("run finished")
	if r.OnFinished != nil {
		r.OnFinished(f, ev)
	}
	return nil
}

func (r *Runner) report(ctx context.Context, ev contracts.RunEvent, msgID string) (*jetstream.PubAck, error) {
	data, _ := json.Marshal(ev)
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	ack, err := r.JS.Publish(pctx, contracts.RunSubject(ev.Tenant, ev.JobID, ev.Status), data, jetstream.WithMsgID(msgID))
	if err != nil {
		return nil, fmt.Errorf("report run %s: %w", ev.Status, err)
	}
	return ack, nil
}

// run executes the target and returns the run's log (or a flow's output), the JSON of
// its result, and why it failed.
func (r *Runner) run(ctx context.Context, f contracts.Fire, timeout time.Duration) (detail, result string, err error) {
	switch t := f.Target; {
	case t.Code != "":
		res, err := jobcode.Run(ctx, t.Code, r.SDK(f.Tenant), jobcode.Limits{Timeout: timeout})
		detail = res.Log
		if err == nil && res.Value != nil {
			detail = strings.TrimSpace(detail + "\nreturn " + res.JSON)
		}
		return detail, res.JSON, err
	case t.FlowID != "":
		return r.call(ctx, f, contracts.FlowSubject(f.Tenant, t.FlowID), expand(r.FlowURL, map[string]string{"flow_id": t.FlowID, "tecode": f.Tenant}))
	case t.BizCode != "":
		return r.call(ctx, f, contracts.BizSubject(f.Tenant, t.BizCode), expand(r.BizURL, map[string]string{"bizcode": t.BizCode, "tecode": f.Tenant}))
	}
	return "", "", errors.New("the job has nothing to run")
}

// call hands the run to a flow or behaviour runner: HTTP POST when url is set, else NATS
// request/reply on subject.
func (r *Runner) call(ctx context.Context, f contracts.Fire, subject, target string) (string, string, error) {
	req, _ := json.Marshal(contracts.FlowRequest{
		V: contracts.Version, Tenant: f.Tenant, JobID: f.JobID, FireID: f.FireID,
		FlowID: f.Target.FlowID, BizCode: f.Target.BizCode, ScheduledAt: f.ScheduledAt,
	})
	var data []byte
	if target != "" {
		d, err := r.post(ctx, target, req)
		if err != nil {
			return "", "", err
		}
		data = d
	} else {
		msg, err := r.NC.RequestWithContext(ctx, subject, req)
		switch {
		case errors.Is(err, nats.ErrNoResponders):
			return "", "", fmt.Errorf("no responder on %s", subject)
		case errors.Is(err, context.DeadlineExceeded):
			return "", "", errors.New("timeout")
		case err != nil:
			return "", "", err
		}
		data = msg.Data
	}
	var rep contracts.FlowReply
	if len(bytes.TrimSpace(data)) > 0 {
		if err := json.Unmarshal(data, &rep); err != nil {
			return clip(string(data), MaxDetail), "", errors.New("the runner's answer is not a JSON reply")
		}
	} else {
		rep.OK = true
	}
	if !rep.OK || rep.Error != "" {
		msg := rep.Error
		if msg == "" {
			msg = "the runner reported failure"
		}
		return rep.Output, "", errors.New(msg)
	}
	return rep.Output, "", nil
}

func (r *Runner) post(ctx context.Context, target string, body []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	hc := r.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return nil, errors.New("timeout")
		}
		return nil, err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, MaxDetail))
	if resp.StatusCode/100 != 2 {
		return nil, fmt.Errorf("HTTP %d from %s: %s", resp.StatusCode, target, clip(string(data), 512))
	}
	if len(bytes.TrimSpace(data)) > 0 && !json.Valid(data) {
		// A plain 2xx body is a success with that output.
		return json.Marshal(contracts.FlowReply{OK: true, Output: string(data)})
	}
	return data, nil
}

// expand fills a URL template's {name} placeholders, path-escaped.
func expand(tmpl string, vals map[string]string) string {
	for k, v := range vals {
		tmpl = strings.ReplaceAll(tmpl, "{"+k+"}", url.PathEscape(v))
	}
	return tmpl
}

// clip bounds s to n bytes without splitting a character.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s + "\n…(truncated)"
}

func newID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
