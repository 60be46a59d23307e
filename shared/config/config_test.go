package config

import (
	"strings"
	"testing"
	"time"
)

func TestURLSettingsAcceptWhatTheClientsAcceptAndNameTheVariableOtherwise(t *testing.T) {
	for _, c := range []struct {
		key, value string
		read       func(e *Env, key string) string
		ok         bool
	}{
		{"NATS_URL", "nats://u:p@n1:4222,nats://u:p@n2:4222, nats://u:p@n3:4222", natsURLs, true},
		{"NATS_URL", "localhost:4222", natsURLs, true},
		{"NATS_URL", "http://localhost:4222", natsURLs, false},
		{"NATS_URL", "nats://", natsURLs, false},
		{"MONGO_URI", "mongodb://u:p@h1:27017,h2:27017,h3:27017/?replicaSet=rs0", mongoURI, true},
		{"MONGO_URI", "mongodb+srv://u:p@cluster.example/db", mongoURI, true},
		{"MONGO_URI", "mongodb://%2Ftmp%2Fmongodb-27017.sock", mongoURI, true},
		{"MONGO_URI", "127.0.0.1:27017", mongoURI, false},
		{"JOBCENTER_FLOW_URL", "http://flows/run?ids={flow_id},x", httpURL, true},
		{"JOBCENTER_BIZ_URL", "http://{tecode}.biz.internal/{bizcode}", httpURL, true},
		{"JOBCENTER_FLOW_URL", "flows/{flow_id}", httpURL, false},
		{"JOBCENTER_API_URL", "ftp://127.0.0.1", httpURL, false},
	} {
		e := NewEnv(func(k string) string {
			if k == c.key {
				return c.value
			}
			return ""
		})
		c.read(e, c.key)
		err := e.Err()
		if (err == nil) != c.ok {
			t.Errorf("%s=%q: error %v, want ok %v", c.key, c.value, err, c.ok)
		}
		if err != nil && (!strings.Contains(err.Error(), c.key) || strings.Contains(err.Error(), ":p@")) {
			t.Errorf("%s=%q: error %q must name the variable and hide passwords", c.key, c.value, err)
		}
	}
}

func natsURLs(e *Env, key string) string { return e.URLs(key, "", "nats", "tls", "ws", "wss") }
func mongoURI(e *Env, key string) string { return e.URI(key, "", "mongodb", "mongodb+srv") }
func httpURL(e *Env, key string) string  { return e.URL(key, "", "http", "https") }

func TestASpanGivesCodeAndTheEnvironmentTheSameDefaultsAndBounds(t *testing.T) {
	every := Span[time.Duration]{Key: "EVERY", Default: 10 * time.Second, Min: time.Millisecond, Max: time.Minute}
	limit := Span[int]{Key: "LIMIT", Default: 1000, Min: 0, Max: 5000}
	e := NewEnv(func(string) string { return "" })
	if every.From(e) != every.Or(0) || limit.From(e) != 1000 {
		t.Fatalf("unset: env %v/%v, code %v", every.From(e), limit.From(e), every.Or(0))
	}
	// Zero is a value when the bounds allow it (no limit), never replaced by the default.
	if limit.Or(0) != 0 || every.Or(time.Second) != time.Second {
		t.Fatalf("Or: %v, %v", limit.Or(0), every.Or(time.Second))
	}
	if err := every.Check(2 * time.Minute); err == nil || err.Error() != "EVERY: 2m0s is out of bounds (1ms to 1m0s)" {
		t.Fatalf("Check: %v", err)
	}
	if every.Check(time.Minute) != nil || limit.Check(-1) == nil {
		t.Fatal("Check's bounds are not inclusive, or let a negative through")
	}
	bad := NewEnv(func(k string) string { return map[string]string{"EVERY": "2m", "LIMIT": "x"}[k] })
	if every.From(bad) != 10*time.Second || limit.From(bad) != 1000 || bad.Err() == nil {
		t.Fatal("bad values were not reported")
	}
}
