package e2e_test

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/jobcenter/jobcenter/services/trigger"
)

// projections reads every document the projections hold, as canonical JSON per
// collection. A job's lastCommand and commandSeq are left out: the one is a
// de-duplication hint that an exec updates without a lifecycle event (a rebuild restores
// it from the last event only), the other the position of the command that wrote the
// state, which orders writes of one version and which a rebuild, made from the events,
// writes as 0.
func projections(t *testing.T, c *center) map[string]string {
	t.Helper()
	ctx := context.Background()
	cl, err := mongo.Connect(options.Client().ApplyURI(c.stack.MongoURI))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Disconnect(ctx)
	out := map[string]string{}
	for _, col := range []string{"jobs", "job_keys", "journal", "journal_runs"} {
		cur, err := cl.Database(c.stack.DB).Collection(col).Find(ctx, bson.M{}, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}))
		if err != nil {
			t.Fatal(err)
		}
		var docs []bson.M
		if err := cur.All(ctx, &docs); err != nil {
			t.Fatal(err)
		}
		for _, d := range docs {
			switch life := d["life"].(type) {
			case bson.M:
				delete(life, "lastCommand")
				delete(life, "commandSeq")
			case bson.D:
				d["life"] = slices.DeleteFunc(life, func(e bson.E) bool { return e.Key == "lastCommand" || e.Key == "commandSeq" })
			case nil:
			default:
				t.Fatalf("a job's life is a %T", life)
			}
		}
		b, _ := json.Marshal(docs)
		out[col] = string(b)
	}
	return out
}

func TestDroppingTheProjectionsAndReplayingTheLogGivesThemBackFieldByField(t *testing.T) {
	c := newCenter(t)
	respBiz(t, c, "T1", "b1", true)
	// A bit of everything: fired interval jobs, an exec, a finished date job, a deleted
	// job, an updated one, a Quartz schedule that ran.
	body := intervalBody()
	body["seconds"] = 1
	a := c.do("POST", "/api/v1/jobs", "p", body, "X-User-Id", "u1").must(t, 201).obj(t)["id"].(string)
	c.do("POST", "/api/v1/jobs/"+a+"/start", "p", nil).must(t, 200)
	for i := 1; i <= 3; i++ {
		c.clk.Advance(time.Second)
		c.waitJournal("p", a, i)
	}
	c.do("POST", "/api/v1/jobs/"+a+"/exec", "p", nil).must(t, 200)
	c.waitJournal("p", a, 4)
	c.do("POST", "/api/v1/jobs/"+a+"/stop", "p", nil).must(t, 200)
	body["seconds"] = 7
	c.do("PUT", "/api/v1/jobs/"+a, "p", body).must(t, 200)
	gone := c.do("POST", "/api/v1/jobs", "p", intervalBody()).must(t, 201).obj(t)["id"].(string)
	c.do("DELETE", "/api/v1/jobs/"+gone, "p", nil).must(t, 200)
	var saved map[string]map[string]string
	c.quartz("bizcronjob", "T1", save("s", "0 0 12 * * ?", "b1")).must(t, 200).json(t, &saved)
	sched := saved["resp_data"]["group_job_id"]
	c.quartz("bizcronjob", "T1", opt("trigger", sched)).must(t, 200)
	c.waitJournal("T1", sched, 1)

	c.stop("trigger")
	before := projections(t, c)
	svc, err := trigger.New(context.Background(), trigger.Config{
		NATSURL: c.stack.NATSURL, MongoURI: c.stack.MongoURI, MongoDB: c.stack.DB, Streams: streams,
		StoreTimeout: 3 * time.Second, LeaseTTL: 5 * time.Second, Clock: c.clk, Log: testLog(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	st, err := svc.Rebuild(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	after := projections(t, c)
	for col := range before {
		if before[col] != after[col] {
			t.Errorf("%s differs after the rebuild:\nbefore %s\nafter  %s", col, before[col], after[col])
		}
	}
	if st.Jobs != 3 || st.Fires != 5 {
		t.Fatalf("rebuild replayed %+v; want 3 jobs and 5 fires", st)
	}
	// And the center carries on from the rebuilt state.
	c.startTrigger()
	c.do("POST", "/api/v1/jobs/"+a+"/exec", "p", nil).must(t, 200)
	if p := c.waitJournal("p", a, 5); p.Data[0]["runtype"] != "manual" {
		t.Fatalf("after the rebuild: %s", mustJSON(p.Data[0]))
	}
}
