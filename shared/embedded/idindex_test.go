package embedded

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// plan is SQLite's plan for FerretDB's own lookup by _id in collection col of database
// db.
func plan(t *testing.T, dir, db, col string) string {
	t.Helper()
	conn, err := sql.Open("sqlite", "file:"+filepath.Join(dir, db+".sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var table string
	if err := conn.QueryRow(`SELECT table_name FROM _ferretdb_collections WHERE name = ?`, col).Scan(&table); err != nil {
		t.Fatalf("table of %s: %v", col, err)
	}
	rows, err := conn.Query(fmt.Sprintf(`EXPLAIN QUERY PLAN SELECT _ferretdb_sjson FROM %q WHERE %s = ?`, table, idExpr), `"a"`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var steps []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		steps = append(steps, detail)
	}
	return strings.Join(steps, "; ")
}

func TestLookupsByIDUseAnIndex(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	start := func() (*Ferret, *mongo.Client) {
		f, err := StartFerret("127.0.0.1:0", dir, nil)
		if err != nil {
			t.Fatal(err)
		}
		c, err := mongo.Connect(options.Client().ApplyURI(f.URI()))
		if err != nil {
			t.Fatal(err)
		}
		return f, c
	}
	f, c := start()
	db := c.Database("jc")
	if _, err := db.Collection("jobs").InsertMany(ctx, []any{bson.M{"_id": "a"}, bson.M{"_id": "b"}}); err != nil {
		t.Fatal(err)
	}
	if err := f.IndexIDs(ctx); err != nil {
		t.Fatal(err)
	}
	if p := plan(t, dir, "jc", "jobs"); !strings.Contains(p, "USING INDEX") {
		t.Fatalf("lookup by _id after indexing: %s", p)
	}

	// Reads, updates and deletes by _id still see every document.
	jobs := db.Collection("jobs")
	if _, err := jobs.UpdateOne(ctx, bson.M{"_id": "b"}, bson.M{"$set": bson.M{"n": 2}}); err != nil {
		t.Fatal(err)
	}
	var got bson.M
	if err := jobs.FindOne(ctx, bson.M{"_id": "b"}).Decode(&got); err != nil || got["n"] != int32(2) {
		t.Fatalf("read after update: %v %v", got, err)
	}
	if r, err := jobs.DeleteOne(ctx, bson.M{"_id": "a"}); err != nil || r.DeletedCount != 1 {
		t.Fatalf("delete by _id: %v %v", r, err)
	}

	// A dropped database comes back without the index; the indexer gives it one again.
	if err := db.Drop(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Collection("jobs").InsertOne(ctx, bson.M{"_id": "c"}); err != nil {
		t.Fatal(err)
	}
	if err := f.IndexIDs(ctx); err != nil {
		t.Fatal(err)
	}
	if p := plan(t, dir, "jc", "jobs"); !strings.Contains(p, "USING INDEX") {
		t.Fatalf("lookup by _id after a drop: %s", p)
	}
	_ = c.Disconnect(ctx)
	f.Stop()

	// Data from before the index existed gets it at start, before any query.
	conn, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "jc.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	var table string
	if err := conn.QueryRow(`SELECT table_name FROM _ferretdb_collections WHERE name = 'jobs'`).Scan(&table); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(fmt.Sprintf(`DROP INDEX %q`, table+indexSuffix)); err != nil {
		t.Fatal(err)
	}
	conn.Close()
	f, c = start()
	defer f.Stop()
	defer c.Disconnect(ctx)
	if p := plan(t, dir, "jc", "jobs"); !strings.Contains(p, "USING INDEX") {
		t.Fatalf("lookup by _id after a restart: %s", p)
	}
}
