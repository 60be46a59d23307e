// Package sdk performs the sdk_* calls of a job's code through the job-center HTTP API,
// always as the job's own project: a snippet can reach no other tenant's jobs. It must
// not reach the store or the broker directly: the api's checks apply to a snippet too.
package sdk

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// Client calls the API for one project.
type Client struct {
	BaseURL string
	Project string
	// User is written as createUser/updateUser of what the snippet changes.
	User string
	// Key, if set, is sent as the bearer key.
	Key  string
	HTTP *http.Client
}

// Call performs fn with the snippet's arguments and returns the API's JSON answer.
func (c Client) Call(ctx context.Context, fn string, args map[string]any) (any, error) {
	id := func(k string) string { s, _ := args[k].(string); return url.PathEscape(s) }
	switch fn {
	case "sdk_add_job":
		return c.do(ctx, http.MethodPost, "/api/v1/jobs", body(args))
	case "sdk_get_job":
		return c.do(ctx, http.MethodGet, "/api/v1/jobs/"+id("id"), nil)
	case "sdk_get_jobs":
		return c.allJobs(ctx)
	case "sdk_start_job":
		return c.do(ctx, http.MethodPost, "/api/v1/jobs/"+id("job_id")+"/start", nil)
	case "sdk_stop_job":
		return c.do(ctx, http.MethodPost, "/api/v1/jobs/"+id("job_id")+"/stop", nil)
	case "sdk_exec_job":
		return c.do(ctx, http.MethodPost, "/api/v1/jobs/"+id("job_id")+"/exec", nil)
	case "sdk_update_job":
		return c.do(ctx, http.MethodPut, "/api/v1/jobs/"+id("id"), body(args))
	case "sdk_delete_job":
		return c.do(ctx, http.MethodDelete, "/api/v1/jobs/"+id("job_id"), nil)
	}
	return nil, fmt.Errorf("unknown function %s", fn)
}

// allJobs pages through the project's whole job list.
func (c Client) allJobs(ctx context.Context) (any, error) {
	const size = 1000
	all := []any{}
	for page := 1; ; page++ {
		v, err := c.do(ctx, http.MethodGet, fmt.Sprintf("/api/v1/jobs?page=%d&size=%d", page, size), nil)
		if err != nil {
			return nil, err
		}
		list, _ := v.([]any)
		all = append(all, list...)
		if len(list) < size {
			return all, nil
		}
	}
}

// body is the add/update request: the snippet's arguments under the API's field names.
func body(args map[string]any) map[string]any {
	b := map[string]any{}
	for _, k := range []string{"pid", "name", "description", "trigger", "seconds", "run_date", "flow_id", "code"} {
		if v, ok := args[k]; ok && v != nil {
			b[k] = v
		}
	}
	return b
}

func (c Client) do(ctx context.Context, method, path string, in any) (any, error) {
	var rd io.Reader
	if in != nil {
		data, err := json.Marshal(in)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(c.BaseURL, "/")+path, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Project-Id", c.Project)
	if c.Key != "" {
		req.Header.Set("Authorization", "Bearer "+c.Key)
	}
	if c.User != "" {
		req.Header.Set("X-User-Id", c.User)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return nil, err
	}
	var out any
	if len(bytes.TrimSpace(data)) > 0 {
		if err := json.Unmarshal(data, &out); err != nil {
			return nil, fmt.Errorf("answer is not JSON (HTTP %d)", resp.StatusCode)
		}
	}
	if resp.StatusCode >= 300 {
		return nil, fmt.Errorf("HTTP %d: %s", resp.StatusCode, apiMessage(out))
	}
	return out, nil
}

// apiMessage pulls the message out of the API's error body.
func apiMessage(v any) string {
	if m, ok := v.(map[string]any); ok {
		if e, ok := m["error"].(map[string]any); ok {
			msg, _ := e["message"].(string)
			// Most messages already open with their field; the rest are given it.
			if f, _ := e["field"].(string); f != "" && !strings.HasPrefix(msg, f+": ") {
				return f + ": " + msg
			}
			return msg
		}
	}
	b, _ := json.Marshal(v)
	return string(b)
}
