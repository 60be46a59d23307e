package mongostore

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

const colDeliveries = "alert_deliveries"

// Delivery states.
const (
	DeliveryDelivered = "delivered"
	// DeliveryRetrying: the last attempt failed; another follows after a backoff.
	DeliveryRetrying = "retrying"
	// DeliveryFailed: given up on, or refused outright (why says why).
	DeliveryFailed = "failed"
)

// Delivery is an alert's delivery, as its last attempt left it: which alert (of which
// rule, event, job and run), to where, when, and delivered or why not.
type Delivery struct {
	ID          string     `bson:"_id" json:"id"`
	Tenant      string     `bson:"tenant" json:"-"`
	RuleID      string     `bson:"rule_id" json:"rule_id"`
	Event       string     `bson:"event" json:"event"`
	JobID       string     `bson:"job_id,omitempty" json:"job_id,omitempty"`
	FireID      string     `bson:"triggerid,omitempty" json:"triggerid,omitempty"`
	Channel     string     `bson:"channel" json:"channel"`
	Target      string     `bson:"target" json:"target"`
	RaisedAt    time.Time  `bson:"raised_at" json:"raised_at"`
	Status      string     `bson:"status" json:"status"`
	Attempts    int        `bson:"attempts" json:"attempts"`
	LastAttempt time.Time  `bson:"last_attempt_at" json:"last_attempt_at"`
	DeliveredAt *time.Time `bson:"delivered_at,omitempty" json:"delivered_at,omitempty"`
	Error       string     `bson:"error,omitempty" json:"error,omitempty"`
}

// PutDelivery records an attempt's outcome, replacing the one before it.
func (s *Store) PutDelivery(ctx context.Context, d Delivery) error {
	_, err := s.db.Collection(colDeliveries).ReplaceOne(ctx, bson.M{"_id": d.ID}, d, options.Replace().SetUpsert(true))
	if err != nil {
		return fmt.Errorf("record alert delivery: %w", err)
	}
	return nil
}

// GetDelivery reads an alert's delivery by its id; ErrNotFound before its first attempt.
func (s *Store) GetDelivery(ctx context.Context, id string) (Delivery, error) {
	var d Delivery
	err := s.db.Collection(colDeliveries).FindOne(ctx, bson.M{"_id": id}).Decode(&d)
	return d, notFound(err)
}

// DeliveryFilter narrows a tenant's deliveries; empty fields match all.
type DeliveryFilter struct {
	RuleID, JobID, Status string
	// After, when set, is the last delivery of the page before: the page goes on with
	// those listed after it (raised before it, or at once with a lower id).
	After *Delivery
}

// ListDeliveries returns the tenant's deliveries, newest first, at most limit.
func (s *Store) ListDeliveries(ctx context.Context, tenant string, f DeliveryFilter, limit int64) ([]Delivery, error) {
	q := bson.M{"tenant": tenant}
	for k, v := range map[string]string{"rule_id": f.RuleID, "job_id": f.JobID, "status": f.Status} {
		if v != "" {
			q[k] = v
		}
	}
	if f.After != nil {
		q["$or"] = bson.A{bson.M{"raised_at": bson.M{"$lt": f.After.RaisedAt}},
			bson.M{"raised_at": f.After.RaisedAt, "_id": bson.M{"$lt": f.After.ID}}}
	}
	cur, err := s.db.Collection(colDeliveries).Find(ctx, q,
		options.Find().SetSort(bson.D{{Key: "raised_at", Value: -1}, {Key: "_id", Value: -1}}).SetLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("list alert deliveries: %w", err)
	}
	out := []Delivery{}
	if err := cur.All(ctx, &out); err != nil {
		return nil, fmt.Errorf("list alert deliveries: %w", err)
	}
	return out, nil
}

// DeleteDeliveriesBefore removes the deliveries of alerts raised before t: their
// retention.
func (s *Store) DeleteDeliveriesBefore(ctx context.Context, t time.Time) (int64, error) {
	r, err := s.db.Collection(colDeliveries).DeleteMany(ctx, bson.M{"raised_at": bson.M{"$lt": t}})
	if err != nil {
		return 0, fmt.Errorf("remove old alert deliveries: %w", err)
	}
	return r.DeletedCount, nil
}

func deliveriesIndex() mongo.IndexModel {
	return mongo.IndexModel{Keys: bson.D{{Key: "tenant", Value: 1}, {Key: "raised_at", Value: -1}}}
}
