package bus_test

import (
	"context"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/jobcenter/jobcenter/shared/bus"
	"github.com/jobcenter/jobcenter/shared/teststack"
)

// An abandonable connection works as any other until abandoned; then it is closed for
// good: nothing it still held is sent, and it does not reconnect.
func TestAnAbandonedConnectionIsClosedForGood(t *testing.T) {
	st := teststack.Start(t)
	nc, js, abandon, err := bus.DialAbandonable(st.NATSURL, "test", zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.AccountInfo(context.Background()); err != nil {
		t.Fatalf("JetStream on the connection: %v", err)
	}
	abandon()
	time.Sleep(500 * time.Millisecond) // longer than a reconnection takes
	if !nc.IsClosed() {
		t.Fatalf("the abandoned connection is %v", nc.Status())
	}
	if err := nc.Publish("x", []byte("late")); err == nil {
		t.Fatal("a publish on the abandoned connection was taken")
	}
}
