package main

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// hook is the alert webhook: it counts the alerts it receives by their run's fire id,
// and refuses the first attempt at each fifth alert, so that delivery retries.
type hook struct {
	srv     *http.Server
	url     string
	mu      sync.Mutex
	byRun   map[string]int
	refused map[string]bool
}

func startHook(host string) (*hook, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return nil, fmt.Errorf("alert webhook: %w", err)
	}
	h := &hook{url: "http://" + ln.Addr().String() + "/alerts", byRun: map[string]int{}, refused: map[string]bool{}}
	h.srv = &http.Server{Handler: http.HandlerFunc(h.receive), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = h.srv.Serve(ln) }()
	return h, nil
}

func (h *hook) receive(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var a struct {
		ID        string `json:"id"`
		TriggerID string `json:"triggerid"`
	}
	if json.Unmarshal(body, &a) != nil || a.ID == "" {
		http.Error(w, "not an alert", http.StatusBadRequest)
		return
	}
	sum := fnv.New32a()
	sum.Write([]byte(a.ID))
	h.mu.Lock()
	defer h.mu.Unlock()
	if sum.Sum32()%5 == 0 && !h.refused[a.ID] {
		h.refused[a.ID] = true
		http.Error(w, "try again", http.StatusServiceUnavailable)
		return
	}
	h.byRun[a.TriggerID]++
}

func (h *hook) refusedCount() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.refused)
}

// settle waits (up to wait) until every run in want is alerted, then a moment more for
// any alert received twice, and counts: the runs alerted, those alerted more than once,
// alerts of runs not in want, and runs in want not alerted.
func (h *hook) settle(want map[string]bool, wait time.Duration) (alerted, twice, unasked, missing int) {
	deadline := time.Now().Add(wait)
	count := func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		alerted, twice, unasked, missing = 0, 0, 0, 0
		for run, n := range h.byRun {
			alerted++
			if n > 1 {
				twice++
			}
			if !want[run] {
				unasked++
			}
		}
		for run := range want {
			if h.byRun[run] == 0 {
				missing++
			}
		}
	}
	for count(); missing > 0 && time.Now().Before(deadline); count() {
		time.Sleep(500 * time.Millisecond)
	}
	time.Sleep(3 * time.Second) // a late duplicate would come now
	count()
	return alerted, twice, unasked, missing
}

func (h *hook) close() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = h.srv.Shutdown(ctx)
}
