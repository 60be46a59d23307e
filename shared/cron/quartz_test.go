package cron_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jobcenter/jobcenter/shared/cron"
)

// vector is one line of testdata/quartz_vectors.jsonl: what real Quartz 2.3.2 answered
// for an expression (refused it, with Error), or for an accepted one in Zone from the
// instant From: the chain of getTimeAfter results Next (epoch milliseconds), which ends
// early (End: "null", "exception: ..." or "hang") where Quartz found no more.
type vector struct {
	Meta  map[string]any `json:"meta"`
	Expr  *string        `json:"expr"`
	Error *string        `json:"error"`
	Zone  string         `json:"zone"`
	From  int64          `json:"from"`
	Next  []int64        `json:"next"`
	End   string         `json:"end"`
}

// loadVectors reads the vectors scripts/quartzoracle/gen.sh wrote (make cron-vectors).
func loadVectors(t *testing.T) (meta map[string]any, vs []vector) {
	t.Helper()
	f, err := os.Open("testdata/quartz_vectors.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for line := 1; sc.Scan(); line++ {
		var v vector
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			t.Fatalf("line %d: %v", line, err)
		}
		if v.Meta != nil {
			meta = v.Meta
			continue
		}
		vs = append(vs, v)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return meta, vs
}

// TestParseAndNextMatchQuartz checks the engine against real Quartz 2.3.2 on the
// vectors: Parse accepts exactly the expressions Quartz accepts, and from each start
// instant, in each zone, Next gives the fires getTimeAfter gives, one after the other,
// and reports none where Quartz has none.
func TestParseAndNextMatchQuartz(t *testing.T) {
	t.Parallel()
	meta, vs := loadVectors(t)
	k := int(meta["k"].(float64))
	if len(vs) < 1000 {
		t.Fatalf("only %d vectors", len(vs))
	}
	zones := map[string]*time.Location{}
	for i, v := range vs {
		name := fmt.Sprintf("%04d %q", i+2, *v.Expr)
		if v.Error == nil {
			name += " " + v.Zone + " " + time.UnixMilli(v.From).UTC().Format("2006-01-02T15:04:05.000Z")
		}
		t.Run(strings.ReplaceAll(name, "/", "÷"), func(t *testing.T) {
			e, err := cron.Parse(*v.Expr)
			if v.Error != nil {
				if err == nil {
					t.Fatalf("Parse accepted what Quartz refuses (%s)", *v.Error)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse refused what Quartz accepts: %v", err)
			}
			loc, ok := zones[v.Zone]
			if !ok {
				loc = loadZone(t, v.Zone)
				zones[v.Zone] = loc
			}
			at := time.UnixMilli(v.From)
			for i, want := range v.Next {
				got, ok := e.Next(at, loc)
				if !ok || got.UnixMilli() != want {
					t.Fatalf("fire %d after %s: Next = %s, %v; Quartz %s", i, show(at, loc), show(got, loc), ok, show(time.UnixMilli(want), loc))
				}
				at = got
			}
			if len(v.Next) < k {
				if got, ok := e.Next(at, loc); ok {
					t.Fatalf("after %s: Next = %s; Quartz has none (%s)", show(at, loc), show(got, loc), v.End)
				}
			}
		})
	}
}

func show(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return "none"
	}
	return t.In(loc).Format("2006-01-02T15:04:05.000 Mon -07:00")
}
