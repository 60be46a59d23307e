package e2e_test

import (
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// readmeSettings is the set of variables in the README's Configuration table.
func readmeSettings(t *testing.T) map[string]bool {
	t.Helper()
	data, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(data), "\n## Configuration\n")
	if !ok {
		t.Fatal("README.md has no Configuration section")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	vars := map[string]bool{}
	for _, m := range regexp.MustCompile("(?m)^\\| `([A-Z][A-Z0-9_]*)` \\|").FindAllStringSubmatch(section, -1) {
		vars[m[1]] = true
	}
	if len(vars) == 0 {
		t.Fatal("the README's Configuration table lists no variable")
	}
	return vars
}

// settingRead matches a setting read through shared/config (env.Str("X", …), …, or a
// config.Span declared with its Key) or the environment itself.
var settingRead = regexp.MustCompile(`(?:(?:\.(?:Str|Int|Bool|Duration|Location|File|Require|Addr|URLs|URL|URI)|os\.Getenv|os\.LookupEnv)\(\s*|config\.Span\[[^\]]+\]\{Key:\s*)"([A-Z][A-Z0-9_]*)"`)

func TestEverySettingTheProgramsReadIsInTheREADMEsTable(t *testing.T) {
	documented := readmeSettings(t)
	read := map[string][]string{}
	for _, dir := range []string{"../cmd", "../services", "../shared"} {
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return err
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			for _, m := range settingRead.FindAllStringSubmatch(string(data), -1) {
				read[m[1]] = append(read[m[1]], strings.TrimPrefix(path, "../"))
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(read) < 20 {
		t.Fatalf("found only %d settings read: the pattern no longer matches the code", len(read))
	}
	for _, v := range slices.Sorted(func(yield func(string) bool) {
		for v := range read {
			if !yield(v) {
				return
			}
		}
	}) {
		if !documented[v] {
			t.Errorf("%s is read (%s) but not in the README's Configuration table", v, strings.Join(slices.Compact(read[v]), ", "))
		}
	}
	for v := range documented {
		if read[v] == nil {
			t.Errorf("the README documents %s, which no program reads", v)
		}
	}
}

func TestEveryProgramRefusesABadSettingNamingIt(t *testing.T) {
	bin, err := buildServices()
	if err != nil {
		t.Fatalf("build services: %v", err)
	}
	const (
		api, trigger, executor, allInOne = 1, 2, 4, 8
		every                            = api | trigger | executor | allInOne
	)
	cases := []struct {
		programs int
		setting  string
	}{
		{every, "JOBCENTER_LOG_LEVEL=loud"},
		{every, "JOBCENTER_STREAM_REPLICAS=7"},
		{every, "JOBCENTER_DUPLICATE_WINDOW=soon"},
		{every, "JOBCENTER_RUNS_MAX_AGE=-1h"},
		{api | allInOne, "JOBCENTER_TZ=Mars/Olympus"},
		{api | allInOne, "JOBCENTER_APPLY_WAIT=2"},
		{api | allInOne, "JOBCENTER_BROKER_TIMEOUT=1x"},
		{api | allInOne, "JOBCENTER_BODY_LIMIT=12"},
		{api | allInOne, "JOBCENTER_RATE_LIMIT=-1"},
		{api | allInOne, "JOBCENTER_API_KEYS_FILE=/nonexistent/keys"},
		{api | allInOne, "JOBCENTER_API_KEYS=garbage"},
		{api | trigger | allInOne, "JOBCENTER_STORE_TIMEOUT=forever"},
		{trigger | executor | allInOne, "JOBCENTER_EXEC_TIMEOUT=abc"},
		{trigger | allInOne, "JOBCENTER_MAX_CATCHUP=0"},
		{trigger | allInOne, "JOBCENTER_FLUSH_INTERVAL=often"},
		{trigger | allInOne, "JOBCENTER_LEASE_TTL=long"},
		{executor | allInOne, "JOBCENTER_EXEC_CONCURRENCY=abc"},
		{executor | allInOne, "JOBCENTER_EXEC_REDELIVER_AFTER=later"},
		{api | executor | allInOne, "JOBCENTER_HTTP_JOBS_REACH=everywhere"},
		{executor | allInOne, "JOBCENTER_WORKER_WAIT=soon"},
		{allInOne, "JOBCENTER_NATS_AUTH=maybe"},
		// Zero where zero cannot work; addresses and URLs that cannot be used.
		{trigger | allInOne, "JOBCENTER_FLUSH_INTERVAL=0s"},
		{trigger | allInOne, "JOBCENTER_IMAGE_INTERVAL=0s"},
		{trigger | allInOne, "JOBCENTER_LEASE_TTL=0s"},
		{executor | allInOne, "JOBCENTER_EXEC_REDELIVER_AFTER=100ms"},
		{api | trigger | allInOne, "JOBCENTER_STORE_TIMEOUT=0s"},
		{api | allInOne, "JOBCENTER_HTTP_ADDR=nonsense"},
		{trigger | executor, "JOBCENTER_HEALTH_ADDR=:99999"},
		{allInOne, "JOBCENTER_NATS_LISTEN=localhost"},
		{api | trigger | executor, "NATS_URL=http://127.0.0.1:4222"},
		{api | trigger, "MONGO_URI=127.0.0.1:27017"},
		{executor | allInOne, "JOBCENTER_FLOW_URL=flows/{flow_id}"},
		{executor | allInOne, "JOBCENTER_API_URL=ftp://127.0.0.1"},
		// Required by the separate services: unset (the base environment sets them).
		{api | trigger | executor, "NATS_URL="},
		{api | trigger, "MONGO_URI="},
	}
	names := map[int]string{api: "api", trigger: "trigger", executor: "executor", allInOne: "jobcenter"}
	for _, program := range []int{api, trigger, executor, allInOne} {
		name := names[program]
		for _, c := range cases {
			if c.programs&program == 0 {
				continue
			}
			variable, _, _ := strings.Cut(c.setting, "=")
			t.Run(name+"/"+variable, func(t *testing.T) {
				// Servers that are not there: a program must stop on the setting before it
				// gets as far as needing them.
				env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(),
					"NATS_URL=nats://127.0.0.1:1", "MONGO_URI=mongodb://127.0.0.1:1",
					"JOBCENTER_DATA_DIR=" + t.TempDir(), "JOBCENTER_NATS_LISTEN=127.0.0.1:0",
					"JOBCENTER_HTTP_ADDR=127.0.0.1:0", "JOBCENTER_HEALTH_ADDR=127.0.0.1:0"}
				env = append(env, c.setting) // the later value wins
				out, code := runToExit(t, filepath.Join(bin, name), env, 20*time.Second)
				if code == 0 || !strings.Contains(out, variable) {
					t.Fatalf("%s with %s: exit %d; want non-zero and a message naming %s:\n%s", name, c.setting, code, variable, out)
				}
			})
		}
	}

	// Every bad setting at once is reported at once.
	out, code := runToExit(t, filepath.Join(bin, "api"), []string{"PATH=" + os.Getenv("PATH"), "NATS_URL=nats://127.0.0.1:1",
		"MONGO_URI=mongodb://127.0.0.1:1", "JOBCENTER_TZ=Mars/Olympus", "JOBCENTER_BODY_LIMIT=big", "JOBCENTER_APPLY_WAIT=2"}, 20*time.Second)
	for _, v := range []string{"JOBCENTER_TZ", "JOBCENTER_BODY_LIMIT", "JOBCENTER_APPLY_WAIT"} {
		if code == 0 || !strings.Contains(out, v) {
			t.Errorf("api with three bad settings: exit %d, %s not named:\n%s", code, v, out)
		}
	}
}

// runToExit runs a program in exactly env and returns its output and exit code once it
// ends; it fails the test if the program is still running after limit.
func runToExit(t *testing.T, path string, env []string, limit time.Duration) (string, int) {
	t.Helper()
	var out bytes.Buffer
	cmd := exec.Command(path)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(limit):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("%s was still running after %v: it accepted the setting:\n%s", filepath.Base(path), limit, out.String())
	}
	return out.String(), cmd.ProcessState.ExitCode()
}
