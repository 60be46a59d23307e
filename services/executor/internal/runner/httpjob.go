package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/jobcenter/jobcenter/contracts"
	"github.com/jobcenter/jobcenter/shared/egress"
	"github.com/jobcenter/jobcenter/shared/wire"
)

// AnswerKept bounds how much of an HTTP job's answer its journal entry keeps.
const AnswerKept = 4 << 10

// callHTTP makes an HTTP job's call. The run succeeds when the answer's status is one
// the call expects; its journal entry (detail) says what was called, the status and how
// long it took, then the start of the answer; its result is {"status": N}. The call's
// header values are never written to the journal.
func (r *Runner) callHTTP(ctx context.Context, f contracts.Fire, c contracts.HTTPCall) (detail, result string, err error) {
	call := wire.HTTPFromPayload(&c)
	var body io.Reader
	if c.Body != "" {
		body = strings.NewReader(c.Body)
	}
	req, err := http.NewRequestWithContext(ctx, c.Method, c.URL, body)
	if err != nil {
		return "", "", fmt.Errorf("the call cannot be made: %w", err)
	}
	for k, v := range c.Headers {
		req.Header.Set(k, v)
	}
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", "jobcenter")
	}
	// The receiver may drop a second delivery of the same run (a retry is the same run).
	req.Header.Set("X-Jobcenter-Fire-Id", f.FireID)
	web := r.Web
	if web == nil {
		web = egress.Client(egress.Public, 10*time.Second, "JOBCENTER_HTTP_JOBS_REACH")
	}
	what := c.Method + " " + c.URL
	began := time.Now()
	resp, err := web.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // it names the URL again
		}
		if errors.Is(err, context.DeadlineExceeded) {
			return what + ": no answer", "", errTimedOut
		}
		return "", "", fmt.Errorf("%s: not reached: %w", what, err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, AnswerKept+1))
	more := len(answer) > AnswerKept
	if more {
		answer = answer[:AnswerKept]
	}
	detail = fmt.Sprintf("%s → %s (%v)", what, resp.Status, time.Since(began).Round(time.Millisecond))
	if text := strings.ToValidUTF8(string(answer), "\uFFFD"); strings.TrimSpace(text) != "" {
		detail += "\n" + clipText(text)
		if more {
			detail += "\n…(the answer goes on)"
		}
	}
	result = `{"status":` + strconv.Itoa(resp.StatusCode) + `}`
	if !call.Succeeded(resp.StatusCode) {
		return detail, result, fmt.Errorf("HTTP %d, expected %s", resp.StatusCode, call.Expected())
	}
	return detail, result, nil
}

// clipText drops a last character the limit cut in two.
func clipText(s string) string { return strings.TrimSuffix(s, "\uFFFD") }
