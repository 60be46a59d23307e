// Package embedded runs Job Center's infrastructure inside the process: a NATS server
// with JetStream on file storage, and FerretDB — a MongoDB-wire server — on SQLite.
// `make run` and the tests use it; production points at real servers instead. It starts
// and stops servers; it must not know Job Center's streams or collections.
package embedded

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
	"github.com/nats-io/nats-server/v2/server"
)

// StartNATS starts a NATS server with JetStream storing under dir, listening on listen
// ("host:port"; port 0 or -1 picks a free one), and waits until it takes connections.
// With auth, only the users it knows connect (NATSAuth).
func StartNATS(listen, dir string, auth *NATSAuth) (*server.Server, error) {
	host, portStr, err := net.SplitHostPort(listen)
	if err != nil {
		return nil, fmt.Errorf("nats listen address %q: %w", listen, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return nil, fmt.Errorf("nats listen port %q: %w", portStr, err)
	}
	if port == 0 {
		port = server.RANDOM_PORT
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("nats store dir (JOBCENTER_DATA_DIR): %w", err)
	}
	s, err := server.NewServer(&server.Options{
		ServerName: "jobcenter-embedded",
		Host:       host,
		Port:       port,
		JetStream:  true,
		StoreDir:   dir,
		NoSigs:     true,
		// Generous limits: one account holds every stream of the embedded stack.
		MaxPayload:                 8 << 20,
		CustomClientAuthentication: customAuth(auth),
	})
	if err != nil {
		return nil, fmt.Errorf("nats server: %w", err)
	}
	s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		s.Shutdown()
		return nil, fmt.Errorf("nats server on %s did not become ready", listen)
	}
	return s, nil
}

func customAuth(a *NATSAuth) server.Authentication {
	if a == nil {
		return nil
	}
	return a
}

// Ferret is a running embedded FerretDB.
type Ferret struct {
	ix     *idIndexer
	uri    string
	cancel context.CancelFunc
	done   chan struct{}
}

// StartFerret starts FerretDB on SQLite files under dir, listening on listen
// ("127.0.0.1:0" picks a free port).
func StartFerret(listen, dir string, log *slog.Logger) (*Ferret, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("ferretdb dir: %w", err)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("ferretdb dir: %w", err)
	}
	if log == nil {
		log = slog.Default()
	}
	// Tables from before the index existed get it before the first query reaches them.
	ix := &idIndexer{dir: abs, log: log}
	if err := ix.indexAll(context.Background()); err != nil {
		return nil, fmt.Errorf("ferretdb _id index: %w", err)
	}
	f, err := ferretdb.New(&ferretdb.Config{
		Listener: ferretdb.ListenerConfig{TCP: listen},
		Logger:   slog.New(lazy(log.Handler())),
		Handler:  "sqlite",
		// Without an fsync at each commit (WAL mode keeps commits whole through a crash
		// of the process): every update by _id is a transaction of its own in FerretDB,
		// and an fsync here costs 1.7 ms, which capped updates at about 600 a second. The
		// embedded JetStream does not fsync each message either; what a power cut could
		// take from the projections comes back from the log (`jobcenter rebuild`).
		// A write-ahead log keeps the largest size it reached while readers held a
		// checkpoint back; the limit cuts it back to 4 MiB each time it starts over.
		SQLiteURL: "file:" + abs + "/?_pragma=synchronous(normal)&_pragma=journal_size_limit(4194304)",
	})
	if err != nil {
		return nil, fmt.Errorf("ferretdb: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	fe := &Ferret{cancel: cancel, done: make(chan struct{}), ix: ix}
	var wg sync.WaitGroup
	wg.Go(func() { _ = f.Run(ctx) })
	wg.Go(func() { ix.run(ctx) })
	go func() {
		wg.Wait()
		close(fe.done)
	}()
	// MongoDBURI blocks until the listener is up.
	fe.uri = f.MongoDBURI()
	return fe, nil
}

// URI is the mongodb:// address of the server.
func (f *Ferret) URI() string { return f.uri }

// IndexIDs gives every collection made so far its _id index now, instead of within a
// second.
func (f *Ferret) IndexIDs(ctx context.Context) error { return f.ix.indexAll(ctx) }

// Stop shuts the server down and waits for it.
func (f *Ferret) Stop() {
	f.cancel()
	<-f.done
}
