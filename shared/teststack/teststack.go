// Package teststack gives a test real servers: embedded NATS JetStream and embedded
// FerretDB in the test process, or the external ones named by NATS_URL and MONGO_URI.
// A test that cannot get its servers fails; it never skips.
package teststack

import (
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/jobcenter/jobcenter/shared/embedded"
)

// Stack is where a test's broker and store are.
type Stack struct {
	NATSURL  string
	MongoURI string
	// DB is the database name the test should use: unique per test on an external server.
	DB string
	// Dir holds the embedded servers' data.
	Dir string

	nats   *server.Server
	ferret *embedded.Ferret
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// Start returns a stack for t, stopped when t ends.
func Start(t testing.TB) *Stack {
	t.Helper()
	s := &Stack{Dir: t.TempDir(), DB: "jobcenter"}
	if url := os.Getenv("NATS_URL"); url != "" {
		s.NATSURL = url
	} else {
		s.StartNATS(t)
	}
	if uri := os.Getenv("MONGO_URI"); uri != "" {
		s.MongoURI = uri
		s.DB = "test_" + randomHex(6)
	} else {
		s.StartFerret(t)
	}
	return s
}

// StartFerret (re)starts the embedded FerretDB on the stack's data, on the same port
// when it ran before: tests of store outages stop and start it.
func (s *Stack) StartFerret(t testing.TB) {
	t.Helper()
	listen := "127.0.0.1:0"
	if s.ferret != nil {
		listen = strings.TrimSuffix(strings.TrimPrefix(s.MongoURI, "mongodb://"), "/")
	}
	f, err := retry(func() (*embedded.Ferret, error) {
		return embedded.StartFerret(listen, filepath.Join(s.Dir, "ferret"), quiet)
	})
	if err != nil {
		t.Fatalf("start embedded ferretdb: %v", err)
	}
	s.ferret = f
	s.MongoURI = f.URI()
	t.Cleanup(f.Stop)
}

// StopFerret shuts the embedded FerretDB down (only the embedded one can be stopped).
func (s *Stack) StopFerret(t testing.TB) {
	t.Helper()
	if s.ferret == nil {
		t.Fatal("StopFerret: MONGO_URI points at an external server, which a test cannot stop")
	}
	s.ferret.Stop()
}

// StartNATS (re)starts the embedded NATS server on the stack's data, on the same port
// when it ran before: tests of broker outages stop and start it.
func (s *Stack) StartNATS(t testing.TB) {
	t.Helper()
	listen := "127.0.0.1:-1"
	if s.NATSURL != "" {
		listen = s.NATSURL[len("nats://"):]
	}
	ns, err := retry(func() (*server.Server, error) { return embedded.StartNATS(listen, filepath.Join(s.Dir, "nats"), nil) })
	if err != nil {
		t.Fatalf("start embedded nats: %v", err)
	}
	s.nats = ns
	s.NATSURL = ns.ClientURL()
	t.Cleanup(ns.Shutdown)
}

// StopNATS shuts the embedded NATS server down (only the embedded one can be stopped).
func (s *Stack) StopNATS(t testing.TB) {
	t.Helper()
	if s.nats == nil {
		t.Fatal("StopNATS: NATS_URL points at an external server, which a test cannot stop")
	}
	s.nats.Shutdown()
	s.nats.WaitForShutdown()
}

// retry starts a server, again for up to five seconds: a port just released by a
// stopped server may linger briefly, and a test must not flake on it.
func retry[T any](start func() (T, error)) (T, error) {
	var v T
	var err error
	for i := 0; i < 50; i++ {
		if v, err = start(); err == nil {
			return v, nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return v, err
}

// Eventually polls cond every 10ms until it holds or timeout passes, then fails with msg.
func Eventually(t testing.TB, timeout time.Duration, msg string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", timeout, msg)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
