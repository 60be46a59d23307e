package bus

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/jobcenter/jobcenter/contracts"
	"github.com/jobcenter/jobcenter/shared/teststack"
)

// settledMsg records what the policy did with it.
type settledMsg struct {
	jetstream.Msg // nil: any other method panics
	did           []string
}

func (m *settledMsg) Subject() string { return "s.x" }
func (m *settledMsg) Data() []byte    { return []byte("x") }
func (m *settledMsg) Metadata() (*jetstream.MsgMetadata, error) {
	return nil, errors.New("no metadata")
}
func (m *settledMsg) Ack() error  { m.did = append(m.did, "ack"); return nil }
func (m *settledMsg) Nak() error  { m.did = append(m.did, "nak"); return nil }
func (m *settledMsg) Term() error { m.did = append(m.did, "term"); return nil }
func (m *settledMsg) NakWithDelay(d time.Duration) error {
	m.did = append(m.did, "nak "+d.String())
	return nil
}

func TestEveryHandlerResultSettlesItsMessageByThePolicyTable(t *testing.T) {
	boom := errors.New("store down")
	for _, c := range []struct {
		name    string
		err     error
		ordered bool
		did     string
		want    Outcome
	}{
		{"success", nil, false, "ack", Acked},
		{"poison", Poison(boom), false, "term", DeadLettered},
		{"poison wrapped", fmt.Errorf("decide: %w", Poison(boom)), false, "term", DeadLettered},
		{"a schema version this build does not read", Version("fire", contracts.Version+1), false, "term", DeadLettered},
		{"not its turn", Later(boom, time.Minute), false, "nak 1m0s", Retried},
		{"not its turn, ordered", Later(boom, 3*time.Second), true, "nak 3s", Retried},
		{"given back at once", Later(boom, 0), false, "nak", Retried},
		{"failed", boom, false, "nak 1s", Retried},
		{"failed, wrapped", fmt.Errorf("write: %w", boom), false, "nak 1s", Retried},
		{"failed, ordered: back at once, before anything newer", boom, true, "nak", Retried},
		{"panicked (recovering)", panicked(t), false, "term", DeadLettered},
	} {
		t.Run(c.name, func(t *testing.T) {
			var seen []Outcome
			cons := Consumer{Name: "c", Log: zerolog.Nop(), Ordered: c.ordered,
				Observe: func(name string, _ jetstream.Msg, o Outcome) {
					if name != "c" {
						t.Errorf("observer told of consumer %q", name)
					}
					seen = append(seen, o)
				}}
			m := &settledMsg{}
			if got := cons.settle(m, c.err).outcome; got != c.want {
				t.Errorf("outcome %v, want %v", got, c.want)
			}
			if !slices.Equal(m.did, []string{c.did}) {
				t.Errorf("the message was %q, want [%s]", m.did, c.did)
			}
			if !slices.Equal(seen, []Outcome{c.want}) {
				t.Errorf("the observer saw %v, want [%v]", seen, c.want)
			}
		})
	}
}

func panicked(t *testing.T) error {
	return recovering(func(context.Context, jetstream.Msg) error { panic("bug") })(context.Background(), &settledMsg{})
}

// broker gives a test a stream S on subjects s.> with a durable consumer "c".
func broker(t *testing.T, ackWait time.Duration) (*nats.Conn, jetstream.JetStream, jetstream.Consumer) {
	t.Helper()
	st := &teststack.Stack{Dir: t.TempDir()}
	st.StartNATS(t)
	nc, js, err := Dial(st.NATSURL, "test", zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	ctx := context.Background()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "S", Subjects: []string{"s.>"}}); err != nil {
		t.Fatal(err)
	}
	cons, err := js.CreateOrUpdateConsumer(ctx, "S", jetstream.ConsumerConfig{Durable: "c", AckPolicy: jetstream.AckExplicitPolicy, AckWait: ackWait})
	if err != nil {
		t.Fatal(err)
	}
	return nc, js, cons
}

func publish(t *testing.T, js jetstream.JetStream, subjects ...string) {
	t.Helper()
	for _, s := range subjects {
		if _, err := js.Publish(context.Background(), s, []byte(s)); err != nil {
			t.Fatal(err)
		}
	}
}

// TestAnOrderedConsumerHandsAFailedMessageBackBeforeAnythingNewer is the commands
// processor's case: a batch fails part way, the rest is given back, and it must come
// again in stream order even though newer messages arrived meanwhile; a poison message
// is set aside on the dead-letter subject and the rest go on. The ack deadline is an
// hour, so that only the policy's own give-back can bring a message back in the test.
func TestAnOrderedConsumerHandsAFailedMessageBackBeforeAnythingNewer(t *testing.T) {
	t.Parallel()
	nc, js, cons := broker(t, time.Hour)
	dead, err := nc.SubscribeSync(contracts.DeadLetterSubject("c"))
	if err != nil {
		t.Fatal(err)
	}
	publish(t, js, "s.1", "s.2", "s.3", "s.4", "s.5")
	var (
		mu     sync.Mutex
		done   []string
		failed bool
	)
	h := func(_ context.Context, msgs []jetstream.Msg) []error {
		mu.Lock()
		defer mu.Unlock()
		errs := make([]error, len(msgs))
		for i, m := range msgs {
			switch {
			case m.Subject() == "s.2":
				errs[i] = Poison(errors.New("does not decode"))
			case m.Subject() == "s.3" && !failed:
				// It fails; a newer message arrives; it and the rest are given back.
				failed = true
				publish(t, js, "s.6")
				for j := i; j < len(msgs); j++ {
					errs[j] = errors.New("store down")
				}
				return errs
			default:
				done = append(done, m.Subject())
			}
		}
		return errs
	}
	ctx, stop := context.WithCancel(context.Background())
	c := Consumer{Name: "c", NC: nc, Log: zerolog.Nop(), Ordered: true}
	ended := make(chan error)
	go func() { ended <- c.Batches(ctx, cons, 256, 100*time.Millisecond, h) }()
	teststack.Eventually(t, 20*time.Second, "the messages were not all handled", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(done) == 5
	})
	stop()
	if err := <-ended; err != nil {
		t.Fatalf("Batches ended with %v", err)
	}
	if want := []string{"s.1", "s.3", "s.4", "s.5", "s.6"}; !slices.Equal(done, want) {
		t.Errorf("handled %v, want %v", done, want)
	}
	dl, err := dead.NextMsg(5 * time.Second)
	if err != nil {
		t.Fatal("no dead letter:", err)
	}
	if dl.Header.Get("Jobcenter-Subject") != "s.2" || dl.Header.Get("Jobcenter-Reason") != "does not decode" || dl.Header.Get("Jobcenter-Stream-Seq") != "2" {
		t.Errorf("dead letter headers %v", dl.Header)
	}
	if extra, err := dead.NextMsg(200 * time.Millisecond); err == nil {
		t.Errorf("a second dead letter: %v", extra.Header)
	}
	info, err := cons.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if info.NumAckPending != 0 || info.NumPending != 0 {
		t.Errorf("left %d unacknowledged and %d pending", info.NumAckPending, info.NumPending)
	}
}

// TestABatchWhoseHandlerPanicsIsHandledOneByOne: the message that panics is set aside,
// the others of its batch are handled.
func TestABatchWhoseHandlerPanicsIsHandledOneByOne(t *testing.T) {
	t.Parallel()
	nc, js, cons := broker(t, time.Hour)
	publish(t, js, "s.a", "s.bad", "s.c")
	var mu sync.Mutex
	var done []string
	var dead []string
	h := func(_ context.Context, msgs []jetstream.Msg) []error {
		for _, m := range msgs {
			if m.Subject() == "s.bad" {
				panic("bug on a message")
			}
		}
		mu.Lock()
		defer mu.Unlock()
		for _, m := range msgs {
			done = append(done, m.Subject())
		}
		return nil
	}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	c := Consumer{Name: "c", NC: nc, Log: zerolog.Nop(), Observe: func(_ string, m jetstream.Msg, o Outcome) {
		if o == DeadLettered {
			mu.Lock()
			dead = append(dead, m.Subject())
			mu.Unlock()
		}
	}}
	go func() { _ = c.Batches(ctx, cons, 256, 100*time.Millisecond, h) }()
	teststack.Eventually(t, 20*time.Second, "the good messages were not handled", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(done) == 2 && len(dead) == 1
	})
	if !slices.Equal(done, []string{"s.a", "s.c"}) || !slices.Equal(dead, []string{"s.bad"}) {
		t.Errorf("handled %v, dead-lettered %v", done, dead)
	}
}

// TestEachGivesBackTheMessagesItHasNotBegunWhenItStops: an executor that shuts down
// hands the fires it fetched but did not start to another at once, not after their ack
// deadline (an hour here).
func TestEachGivesBackTheMessagesItHasNotBegunWhenItStops(t *testing.T) {
	t.Parallel()
	nc, js, cons := broker(t, time.Hour)
	publish(t, js, "s.1", "s.2", "s.3")
	began := make(chan string, 3)
	ctx, stop := context.WithCancel(context.Background())
	c := Consumer{Name: "c", NC: nc, Log: zerolog.Nop()}
	ended := make(chan error)
	go func() {
		ended <- c.Each(ctx, cons, 1, func(ctx context.Context, m jetstream.Msg) error {
			began <- m.Subject()
			<-ctx.Done() // the run under way finishes after shutdown begins
			return nil
		})
	}()
	if first := <-began; first != "s.1" {
		t.Fatalf("began with %s", first)
	}
	stop()
	if err := <-ended; err != nil {
		t.Fatal(err)
	}
	// Another instance takes the rest at once.
	var mu sync.Mutex
	var rest []string
	ctx2, stop2 := context.WithCancel(context.Background())
	defer stop2()
	go func() {
		_ = c.Each(ctx2, cons, 4, func(_ context.Context, m jetstream.Msg) error {
			mu.Lock()
			defer mu.Unlock()
			rest = append(rest, m.Subject())
			return nil
		})
	}()
	teststack.Eventually(t, 20*time.Second, "the messages not begun did not come back", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(rest) == 2
	})
	slices.Sort(rest)
	if !slices.Equal(rest, []string{"s.2", "s.3"}) {
		t.Errorf("the second instance handled %v", rest)
	}
	select {
	case s := <-began:
		t.Errorf("the stopped instance began %s", s)
	default:
	}
}
