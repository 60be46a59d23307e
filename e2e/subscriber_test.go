package e2e_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jobcenter/jobcenter/shared/teststack"
)

// lockedBuffer is a bytes.Buffer a process writes while the test reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// lines returns the lines that contain every one of words.
func (b *lockedBuffer) lines(words ...string) []string {
	var out []string
	for _, l := range strings.Split(b.String(), "\n") {
		match := l != ""
		for _, w := range words {
			match = match && strings.Contains(l, w)
		}
		if match {
			out = append(out, l)
		}
	}
	return out
}

func TestTheExampleSubscriberPrintsOneTenantsEventsFiresAndRunsLive(t *testing.T) {
	c := newCenter(t)
	bin := filepath.Join(t.TempDir(), "subscriber")
	build := exec.Command("go", "build", "-o", bin, "./examples/subscriber")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the example: %v\n%s", err, out)
	}
	var stdout, stderr lockedBuffer
	cmd := exec.Command(bin, "-tenant", "p", "-from", "new")
	cmd.Env = append(os.Environ(), "NATS_URL="+c.stack.NATSURL)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		if t.Failed() {
			t.Logf("subscriber's output:\n%s\nits errors:\n%s", stdout.String(), stderr.String())
		}
	})
	teststack.Eventually(t, 10*time.Second, "the subscriber never said it follows", func() bool {
		return strings.Contains(stderr.String(), `following tenant "p"`)
	})

	mine := c.do("POST", "/api/v1/jobs", "p", intervalBody()).must(t, 201).obj(t)["id"].(string)
	theirs := c.do("POST", "/api/v1/jobs", "q", intervalBody()).must(t, 201).obj(t)["id"].(string)
	c.do("POST", "/api/v1/jobs/"+theirs+"/exec", "q", nil).must(t, 200)
	c.waitJournal("q", theirs, 1)
	c.do("POST", "/api/v1/jobs/"+mine+"/exec", "p", nil).must(t, 200)
	c.waitJournal("p", mine, 1)

	teststack.Eventually(t, 10*time.Second, "the subscriber did not print the job's event, fire and run", func() bool {
		return len(stdout.lines(" event ", "created", "job="+mine)) == 1 &&
			len(stdout.lines(" fire ", "manual", "job="+mine)) == 1 &&
			len(stdout.lines(" run ", "running", "job="+mine)) == 1 &&
			len(stdout.lines(" run ", "success", "job="+mine)) == 1
	})
	// The other tenant's job was created and ran before ours: had its messages reached
	// the subscriber, they would be printed by now.
	if got := stdout.lines(theirs); len(got) > 0 {
		t.Errorf("the subscriber printed another tenant's job:\n%s", strings.Join(got, "\n"))
	}
	if s := stderr.String(); strings.Contains(s, "skipped") {
		t.Errorf("the subscriber skipped messages:\n%s", s)
	}

	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("the subscriber ended with %v on SIGTERM", err)
		}
	case <-time.After(10 * time.Second):
		t.Error("the subscriber did not end within 10s of SIGTERM")
	}
}
