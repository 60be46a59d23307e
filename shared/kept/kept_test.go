package kept_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/jobcenter/jobcenter/shared/kept"
	"github.com/jobcenter/jobcenter/shared/teststack"
)

func open(t *testing.T, window time.Duration) (*kept.Outcomes, jetstream.JetStream) {
	t.Helper()
	st := teststack.Start(t)
	nc, err := nats.Connect(st.NATSURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	o, err := kept.Open(context.Background(), js, window, 1)
	if err != nil {
		t.Fatal(err)
	}
	return o, js
}

func TestOutcomesAreKeptByCommandIdForTheWindow(t *testing.T) {
	o, js := open(t, time.Hour)
	ctx := context.Background()
	ids := []string{"0f8fad5bd9cb469fa16570867728950e", "finish.job-1.v2", strings.Repeat("x", 200), "a b"}
	put := map[string][]byte{}
	for i, id := range ids {
		put[id] = []byte(fmt.Sprintf(`{"n":%d}`, i))
	}
	if err := o.Put(ctx, put); err != nil {
		t.Fatal(err)
	}
	for i, id := range ids {
		got, err := o.Get(ctx, id)
		if err != nil || string(got) != fmt.Sprintf(`{"n":%d}`, i) {
			t.Fatalf("%q: %s %v", id, got, err)
		}
	}
	if _, err := o.Get(ctx, "never"); !errors.Is(err, kept.ErrNotFound) {
		t.Fatalf("an outcome never kept: %v", err)
	}
	// The broker removes them after the window; a new window applies to the bucket as
	// it is opened again.
	st, err := js.Stream(ctx, "KV_"+kept.Bucket)
	if err != nil || st.CachedInfo().Config.MaxAge != time.Hour {
		t.Fatalf("bucket kept for %v (%v); want the window, an hour", st.CachedInfo().Config.MaxAge, err)
	}
	if _, err := kept.Open(ctx, js, 2*time.Hour, 1); err != nil {
		t.Fatal(err)
	}
	if info, err := st.Info(ctx); err != nil || info.Config.MaxAge != 2*time.Hour {
		t.Fatalf("bucket kept for %v after a new window (%v)", info.Config.MaxAge, err)
	}
}

func TestAnOutcomeIsGoneAfterTheWindow(t *testing.T) {
	o, _ := open(t, time.Second)
	ctx := context.Background()
	if err := o.Put(ctx, map[string][]byte{"c1": []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := o.Get(ctx, "c1"); err != nil {
		t.Fatal(err)
	}
	teststack.Eventually(t, 10*time.Second, "the outcome outlived its window", func() bool {
		_, err := o.Get(ctx, "c1")
		return errors.Is(err, kept.ErrNotFound)
	})
}
