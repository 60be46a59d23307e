package kills_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/jobcenter/jobcenter/contracts"
	"github.com/jobcenter/jobcenter/shared/bus"
	"github.com/jobcenter/jobcenter/shared/kills"
	"github.com/jobcenter/jobcenter/shared/teststack"
)

func TestAKillIsFoundForItsOwnTenantsFireOnlyAndForgottenWithAge(t *testing.T) {
	s := kills.NewSet(time.Hour, nil)
	now := time.Now()
	s.Add(contracts.Kill{Tenant: "a", JobID: "j", FireID: "j@1", Killed: contracts.Killed{By: "x", At: now}})
	// A kill naming a fire of another job is no kill at all.
	s.Add(contracts.Kill{Tenant: "a", JobID: "j", FireID: "k@1", Killed: contracts.Killed{At: now}})
	if k, ok := s.Find(contracts.Fire{Tenant: "a", JobID: "j", FireID: "j@1"}); !ok || k.By != "x" {
		t.Fatalf("the kill of a's fire: %+v %v", k, ok)
	}
	for _, f := range []contracts.Fire{{Tenant: "b", JobID: "j", FireID: "j@1"}, {Tenant: "a", JobID: "k", FireID: "k@1"}, {Tenant: "a", JobID: "j", FireID: "j@2"}} {
		if _, ok := s.Find(f); ok {
			t.Errorf("found a kill for %+v", f)
		}
	}
	// Old kills go as new ones come.
	for i := range 2048 {
		s.Add(contracts.Kill{Tenant: "a", JobID: "j", FireID: "j@old" + string(rune('a'+i%26)) + time.Duration(i).String(), Killed: contracts.Killed{At: now.Add(-2 * time.Hour)}})
	}
	s.Add(contracts.Kill{Tenant: "a", JobID: "j", FireID: "j@new", Killed: contracts.Killed{At: now}})
	if _, ok := s.Find(contracts.Fire{Tenant: "a", JobID: "j", FireID: "j@olda0s"}); ok {
		t.Fatal("a kill older than the bucket keeps was not forgotten")
	}
	if _, ok := s.Find(contracts.Fire{Tenant: "a", JobID: "j", FireID: "j@1"}); !ok {
		t.Fatal("a recent kill was forgotten")
	}
	var none *kills.Set
	if _, ok := none.Find(contracts.Fire{FireID: "j@1"}); ok {
		t.Fatal("a nil set found a kill")
	}
}

func TestTheFirstKillOfARunStands(t *testing.T) {
	s := kills.NewSet(time.Hour, nil)
	at := time.Now()
	s.Add(contracts.Kill{Tenant: "a", JobID: "j", FireID: "j@1", Killed: contracts.Killed{By: "eve", At: at}})
	s.Add(contracts.Kill{Tenant: "a", JobID: "j", FireID: "j@1", Killed: contracts.Killed{By: "mallory", At: at.Add(time.Second)}})
	if k, _ := s.Find(contracts.Fire{Tenant: "a", JobID: "j", FireID: "j@1"}); k.By != "eve" {
		t.Fatalf("the kill kept is %+v, want eve's", k)
	}
}

func TestAKillInTheBucketIsKnownBeforeTheSetHasLoadedIt(t *testing.T) {
	ctx := context.Background()
	st := teststack.Start(t)
	nc, js, err := bus.Dial(st.NATSURL, "kills-test", zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	kv, err := kills.Open(ctx, js, time.Hour, 1)
	if err != nil {
		t.Fatal(err)
	}
	k := contracts.Kill{V: contracts.Version, Tenant: "a", JobID: "j", FireID: "j@1", Killed: contracts.Killed{By: "eve", At: time.Now()}}
	data, _ := json.Marshal(k)
	if _, err := kv.Put(ctx, contracts.Token(k.FireID), data); err != nil {
		t.Fatal(err)
	}
	s := kills.NewSet(time.Hour, kv)
	f := contracts.Fire{Tenant: "a", JobID: "j", FireID: "j@1"}
	if got, ok := s.Known(ctx, f); !ok || got.By != "eve" {
		t.Fatalf("a kill in the bucket, the set not loaded: %+v %v", got, ok)
	}
	if _, ok := s.Known(ctx, contracts.Fire{Tenant: "b", JobID: "j", FireID: "j@1"}); ok {
		t.Fatal("another tenant's fire was found killed")
	}
	// Loaded, the set answers alone: a kill only in the bucket is not read again.
	loaded := kills.NewSet(time.Hour, kv)
	loaded.Loaded()
	if _, ok := loaded.Known(ctx, f); ok {
		t.Fatal("a loaded set read the bucket")
	}
}
