package alerting

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jobcenter/jobcenter/contracts"
	"github.com/jobcenter/jobcenter/shared/alert"
)

// The guard is where the address is dialled: a URL that passed the write (a name, or a
// redirect) still cannot reach loopback.
func TestAWebhookOnThisMachineIsRefusedAsItIsDialledUnlessAllowed(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if r.Header.Get("X-Jobcenter-Alert-Id") != "a1" || r.Header.Get("Authorization") != "Bearer t" {
			w.WriteHeader(http.StatusBadRequest)
		}
	}))
	defer srv.Close()
	a := contracts.Alert{V: 1, ID: "a1", Tenant: "p", RuleID: "r", Event: alert.Test, At: time.Now()}
	port := srv.URL[strings.LastIndex(srv.URL, ":"):]
	for _, u := range []string{srv.URL, "http://localhost" + port} {
		err := NewSender(false, SMTP{}).Send(context.Background(), alert.Channel{Type: alert.Webhook, URL: u}, a)
		if err == nil || !isPermanent(err) || !strings.Contains(err.Error(), "is loopback") {
			t.Fatalf("%s: %v, want a refusal", u, err)
		}
	}
	if hits.Load() != 0 {
		t.Fatalf("the refused webhook was reached %d times", hits.Load())
	}
	ch := alert.Channel{Type: alert.Webhook, URL: srv.URL, Headers: map[string]string{"Authorization": "Bearer t"}}
	if err := NewSender(true, SMTP{}).Send(context.Background(), ch, a); err != nil || hits.Load() != 1 {
		t.Fatalf("allowed: %v, %d hits", err, hits.Load())
	}
}

func TestARedirectIsNotFollowed(t *testing.T) {
	var reached atomic.Bool
	target := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { reached.Store(true) }))
	defer target.Close()
	srv := httptest.NewServer(http.RedirectHandler(target.URL, http.StatusTemporaryRedirect))
	defer srv.Close()
	err := NewSender(true, SMTP{}).Send(context.Background(), alert.Channel{Type: alert.Webhook, URL: srv.URL}, contracts.Alert{V: 1, ID: "a"})
	if err == nil || isPermanent(err) || reached.Load() {
		t.Fatalf("a redirect: %v (reached %v), want a failure to retry", err, reached.Load())
	}
}

func TestEMailWithoutAServerIsAPermanentFailure(t *testing.T) {
	err := NewSender(false, SMTP{}).Send(context.Background(), alert.Channel{Type: alert.Email, To: []string{"a@example.com"}}, contracts.Alert{V: 1, ID: "a"})
	if !isPermanent(err) || !strings.Contains(err.Error(), "JOBCENTER_SMTP_ADDR") {
		t.Fatalf("%v", err)
	}
}
