package alert

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/jobcenter/jobcenter/contracts"
)

// MaxDetail bounds an alert's detail: the start of a run's error is what a person reads
// in a chat message; the journal keeps the rest.
const MaxDetail = 1024

// Text is an alert as one message a person reads.
func Text(a contracts.Alert) string {
	var b strings.Builder
	job := a.JobID
	if a.JobName != "" {
		job = a.JobName + " (" + a.JobID + ")"
	}
	switch a.Event {
	case Failure:
		fmt.Fprintf(&b, "Job Center: a run of %s failed", job)
	case Timeout:
		fmt.Fprintf(&b, "Job Center: a run of %s timed out", job)
	case Missed:
		fmt.Fprintf(&b, "Job Center: a fire of %s was missed", job)
	case Skipped:
		fmt.Fprintf(&b, "Job Center: a run of %s was skipped", job)
	case Paused:
		fmt.Fprintf(&b, "Job Center: %s was paused after failures", job)
	case Test:
		b.WriteString("Job Center: a test of alert rule " + a.RuleID)
	default:
		fmt.Fprintf(&b, "Job Center: %s of %s", a.Event, job)
	}
	if a.Count > 1 {
		fmt.Fprintf(&b, " (%d times)", a.Count)
	}
	fmt.Fprintf(&b, "\nproject: %s\nat: %s", a.Tenant, a.At.UTC().Format(time.RFC3339))
	if a.FireID != "" {
		b.WriteString("\nrun: " + a.FireID)
	}
	if a.Detail != "" {
		b.WriteString("\n" + a.Detail)
	}
	fmt.Fprintf(&b, "\nrule: %s, alert %s", a.RuleID, a.ID)
	return b.String()
}

// Subject is an alert's e-mail subject.
func Subject(a contracts.Alert) string {
	first, _, _ := strings.Cut(Text(a), "\n")
	return "[" + a.Event + "] " + strings.TrimPrefix(first, "Job Center: ")
}

// Request is what a webhook channel sends: to URL, the body, JSON.
type Request struct {
	URL  string
	Body []byte
}

// Build makes a webhook channel's request for the alert, at now (the signing time of
// DingTalk and Feishu).
func Build(c Channel, a contracts.Alert, now time.Time) (Request, error) {
	text := Text(a)
	var body any
	u := c.URL
	switch c.Type {
	case Webhook:
		body = a
	case DingTalk:
		body = map[string]any{"msgtype": "text", "text": map[string]string{"content": text}}
		if c.Secret != "" {
			// DingTalk's signature: HMAC-SHA256 of "timestamp\nsecret" keyed by the secret,
			// both on the URL.
			ts := strconv.FormatInt(now.UnixMilli(), 10)
			sign := hmacBase64([]byte(c.Secret), ts+"\n"+c.Secret)
			u = addQuery(u, url.Values{"timestamp": {ts}, "sign": {sign}})
		}
	case Feishu:
		m := map[string]any{"msg_type": "text", "content": map[string]string{"text": text}}
		if c.Secret != "" {
			// Feishu's signature: HMAC-SHA256 of nothing keyed by "timestamp\nsecret",
			// both in the body.
			ts := strconv.FormatInt(now.Unix(), 10)
			m["timestamp"], m["sign"] = ts, hmacBase64([]byte(ts+"\n"+c.Secret), "")
		}
		body = m
	case WeCom:
		body = map[string]any{"msgtype": "text", "text": map[string]string{"content": text}}
	case Slack:
		body = map[string]string{"text": text}
	default:
		return Request{}, fmt.Errorf("channel %q is not a webhook", c.Type)
	}
	data, err := json.Marshal(body)
	return Request{URL: u, Body: data}, err
}

// Accepted says why a webhook's answer is a refusal ("" when it accepted the alert): a
// status outside 2xx, or — DingTalk, Feishu and WeCom answer 200 to a refused message —
// an error code in the body.
func Accepted(c Channel, status int, body []byte) string {
	if status < 200 || status > 299 {
		return fmt.Sprintf("answered %d %s", status, snippet(body))
	}
	var ans struct {
		ErrCode    *int   `json:"errcode"` // DingTalk, WeCom
		ErrMsg     string `json:"errmsg"`
		Code       *int   `json:"code"` // Feishu
		Msg        string `json:"msg"`
		StatusCode *int   `json:"StatusCode"` // Feishu's older robots
	}
	switch c.Type {
	case DingTalk, WeCom:
		if json.Unmarshal(body, &ans) != nil || ans.ErrCode == nil {
			return "answered without an errcode: " + snippet(body)
		}
		if *ans.ErrCode != 0 {
			return fmt.Sprintf("refused: errcode %d %s", *ans.ErrCode, ans.ErrMsg)
		}
	case Feishu:
		if json.Unmarshal(body, &ans) != nil || (ans.Code == nil && ans.StatusCode == nil) {
			return "answered without a code: " + snippet(body)
		}
		if ans.Code != nil && *ans.Code != 0 {
			return fmt.Sprintf("refused: code %d %s", *ans.Code, ans.Msg)
		}
		if ans.Code == nil && *ans.StatusCode != 0 {
			return fmt.Sprintf("refused: StatusCode %d", *ans.StatusCode)
		}
	}
	return ""
}

// Mail is an alert as an e-mail message (RFC 5322, plain text, UTF-8), from from to to.
func Mail(a contracts.Alert, from string, to []string, now time.Time) []byte {
	var b strings.Builder
	b.WriteString("From: " + from + "\r\n")
	b.WriteString("To: " + strings.Join(to, ", ") + "\r\n")
	b.WriteString("Subject: " + mimeWord(Subject(a)) + "\r\n")
	b.WriteString("Date: " + now.Format(time.RFC1123Z) + "\r\n")
	b.WriteString("Message-ID: <" + strings.NewReplacer(":", ".", "@", ".", "/", ".").Replace(a.ID) + "@jobcenter>\r\n")
	b.WriteString("X-Jobcenter-Alert-Id: " + mimeWord(a.ID) + "\r\n")
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n")
	enc := base64.StdEncoding.EncodeToString([]byte(Text(a)))
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	b.WriteString(enc + "\r\n")
	return []byte(b.String())
}

// mimeWord encodes a header value that is not plain ASCII (RFC 2047).
func mimeWord(s string) string {
	for _, c := range []byte(s) {
		if c < ' ' || c > '~' {
			return "=?utf-8?b?" + base64.StdEncoding.EncodeToString([]byte(s)) + "?="
		}
	}
	return s
}

func hmacBase64(key []byte, msg string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(msg))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

func addQuery(raw string, v url.Values) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	q := u.Query()
	for k, vs := range v {
		q[k] = vs
	}
	u.RawQuery = q.Encode()
	return u.String()
}

func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
