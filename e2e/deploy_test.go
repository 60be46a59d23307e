package e2e_test

import (
	"bufio"
	"maps"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// The deployment (deployments/) cannot run here — no Docker engine — so these tests check
// what can be checked without one: Compose reads the file, the file describes the
// production stack, and every image's Dockerfile builds its program statically as a
// non-root user. TestTheProductionTopologyRunsAJobWithoutContainers runs the same
// topology as processes, from the same NATS configuration.

// composeCommand is the Compose program of this machine: docker-compose (v1, Debian's
// package) or the docker compose plugin. Without either the test skips, but fails in CI,
// which installs docker-compose (.ci/run).
func composeCommand(t *testing.T) []string {
	t.Helper()
	if p, err := exec.LookPath("docker-compose"); err == nil {
		return []string{p}
	}
	if p, err := exec.LookPath("docker"); err == nil && exec.Command(p, "compose", "version").Run() == nil {
		return []string{p, "compose"}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("neither docker-compose nor the docker compose plugin is installed; CI must install one (apt-get install docker-compose)")
	}
	t.Skip("neither docker-compose nor the docker compose plugin is installed (apt-get install docker-compose): the compose file is not checked")
	return nil
}

// composeConfig runs `compose config` over deployments/docker-compose.yml with the env
// file, in an environment holding nothing else, and returns its output and error.
func composeConfig(t *testing.T, envFile string) (string, error) {
	t.Helper()
	args := append(composeCommand(t), "-f", "deployments/docker-compose.yml", "--env-file", envFile, "config")
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Dir = ".."
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out), &buildError{out: []byte(stderr.String()), err: err}
	}
	return string(out), nil
}

// composeFile is the part of Compose's resolved configuration the tests read.
type composeFile struct {
	Services map[string]composeService `yaml:"services"`
	Volumes  map[string]any            `yaml:"volumes"`
}

type composeService struct {
	Image string `yaml:"image"`
	Build struct {
		Context    string `yaml:"context"`
		Dockerfile string `yaml:"dockerfile"`
	} `yaml:"build"`
	Command     any            `yaml:"command"`
	Environment map[string]any `yaml:"environment"`
	Deploy      struct {
		Replicas *int `yaml:"replicas"`
	} `yaml:"deploy"`
	Healthcheck struct {
		Test    any  `yaml:"test"`
		Disable bool `yaml:"disable"`
	} `yaml:"healthcheck"`
	Restart   string   `yaml:"restart"`
	Profiles  []string `yaml:"profiles"`
	DependsOn map[string]struct {
		Condition string `yaml:"condition"`
	} `yaml:"depends_on"`
	Volumes []any `yaml:"volumes"`
}

// env returns the service's variable as a string ("" when unset).
func (s composeService) env(key string) string {
	v, ok := s.Environment[key]
	if !ok || v == nil {
		return ""
	}
	if str, ok := v.(string); ok {
		return str
	}
	b, _ := yaml.Marshal(v)
	return strings.TrimSpace(string(b))
}

// words is a command or a health check test as one string.
func words(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case []any:
		var s []string
		for _, w := range v {
			s = append(s, strings.TrimSpace(yamlString(w)))
		}
		return strings.Join(s, " ")
	}
	return ""
}

func yamlString(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, _ := yaml.Marshal(v)
	return string(b)
}

func TestTheComposeFileDescribesTheProductionStack(t *testing.T) {
	out, err := composeConfig(t, "deployments/.env.example")
	if err != nil {
		t.Fatalf("compose config with .env.example: %v", err)
	}
	var cf composeFile
	if err := yaml.Unmarshal([]byte(out), &cf); err != nil {
		t.Fatalf("compose config's output is not YAML: %v\n%s", err, out)
	}
	svc := func(name string) composeService {
		t.Helper()
		s, ok := cf.Services[name]
		if !ok {
			t.Fatalf("no service %q in %v", name, slices.Sorted(maps.Keys(cf.Services)))
		}
		return s
	}

	// Three NATS nodes, each on its own volume, all from deployments/nats/nats.conf.
	var nats []string
	for name, s := range cf.Services {
		if strings.HasPrefix(s.Image, "nats:") && len(s.Profiles) == 0 {
			nats = append(nats, name)
		}
	}
	slices.Sort(nats)
	if !slices.Equal(nats, []string{"nats-1", "nats-2", "nats-3"}) {
		t.Fatalf("NATS nodes: %v, want nats-1, nats-2, nats-3", nats)
	}
	for _, name := range nats {
		s := svc(name)
		if !strings.Contains(words(s.Command), "--config /etc/nats/nats.conf") || s.env("NATS_SERVER_NAME") != name {
			t.Errorf("%s: command %q, server name %q", name, words(s.Command), s.env("NATS_SERVER_NAME"))
		}
		for _, v := range []string{"NATS_JOBCENTER_PASSWORD", "NATS_SYS_PASSWORD", "NATS_ROUTE_PASSWORD", "NATS_ROUTE_1", "NATS_ROUTE_2", "NATS_ROUTE_3"} {
			if s.env(v) == "" {
				t.Errorf("%s: %s unset (nats.conf reads it)", name, v)
			}
		}
		if vols := mustJSON(s.Volumes); !strings.Contains(vols, "nats.conf") || !strings.Contains(vols, name) {
			t.Errorf("%s: volumes %s, want nats.conf and its own data volume", name, vols)
		}
	}

	// MongoDB: a replica set with auth and a key file made by the stack, initiated by it.
	mongo := svc("mongo")
	for _, arg := range []string{"--replSet rs0", "--keyFile /keyfile/keyfile", "--auth"} {
		if !strings.Contains(words(mongo.Command), arg) {
			t.Errorf("mongo command %q lacks %q", words(mongo.Command), arg)
		}
	}
	if mongo.env("MONGO_INITDB_ROOT_USERNAME") == "" || mongo.env("MONGO_INITDB_ROOT_PASSWORD") == "" {
		t.Errorf("mongo has no root user: %v", mongo.Environment)
	}
	if kf := words(svc("mongo-keyfile").Command); !strings.Contains(kf, "chown 999:999") || !strings.Contains(kf, "chmod 400") {
		t.Errorf("the key file is not made readable by mongod only: %q", kf)
	}
	if mongo.DependsOn["mongo-keyfile"].Condition != "service_completed_successfully" {
		t.Errorf("mongo starts before its key file exists: %v", mongo.DependsOn)
	}
	if svc("mongo-init").DependsOn["mongo"].Condition != "service_healthy" {
		t.Errorf("mongo-init does not wait for mongo: %v", svc("mongo-init").DependsOn)
	}
	if _, err := os.Stat("../deployments/mongo/init-replica-set.js"); err != nil {
		t.Error(err)
	}

	// The services: keys on, three stream replicas, every NATS node as a seed, with a user.
	for _, name := range []string{"api", "trigger", "executor"} {
		s := svc(name)
		if s.env("JOBCENTER_STREAM_REPLICAS") != "3" {
			t.Errorf("%s: JOBCENTER_STREAM_REPLICAS=%q, want 3", name, s.env("JOBCENTER_STREAM_REPLICAS"))
		}
		seeds := strings.Split(s.env("NATS_URL"), ",")
		var hosts []string
		for _, seed := range seeds {
			u, err := url.Parse(seed)
			if err != nil || u.User == nil || u.User.Username() == "" {
				t.Errorf("%s: NATS_URL seed %q has no user", name, seed)
				continue
			}
			hosts = append(hosts, u.Hostname())
		}
		if !slices.Equal(hosts, nats) {
			t.Errorf("%s: NATS_URL seeds %v, want every node %v", name, hosts, nats)
		}
		for _, n := range nats {
			if s.DependsOn[n].Condition != "service_healthy" {
				t.Errorf("%s does not wait for %s to be healthy: %v", name, n, s.DependsOn)
			}
		}
		if name != "executor" {
			u, err := url.Parse(s.env("MONGO_URI"))
			if err != nil || u.User == nil || u.Query().Get("replicaSet") != "rs0" {
				t.Errorf("%s: MONGO_URI %q, want a user and replicaSet=rs0", name, s.env("MONGO_URI"))
			}
			if s.DependsOn["mongo-init"].Condition != "service_completed_successfully" {
				t.Errorf("%s starts before the replica set is initiated: %v", name, s.DependsOn)
			}
		}
		df := filepath.Join(s.Build.Context, s.Build.Dockerfile)
		if !strings.HasPrefix(s.Build.Dockerfile, "/") {
			if _, err := os.Stat(df); err != nil {
				t.Errorf("%s: its Dockerfile: %v", name, err)
			}
		}
	}
	if svc("api").env("JOBCENTER_API_KEYS") == "" || svc("executor").env("JOBCENTER_API_KEY") == "" {
		t.Error("API keys are off: JOBCENTER_API_KEYS (api) and JOBCENTER_API_KEY (executor) must be set")
	}
	for _, name := range []string{"trigger", "executor"} {
		if r := svc(name).Deploy.Replicas; r == nil || *r != 2 {
			t.Errorf("%s replicas: %v, want 2", name, r)
		}
	}

	// Every service that keeps running restarts by itself and has a health check; the
	// one-shot set-up services and the tools (a profile) are the only others.
	for name, s := range cf.Services {
		if len(s.Profiles) > 0 || name == "mongo-keyfile" || name == "mongo-init" {
			continue
		}
		if test := words(s.Healthcheck.Test); test == "" || strings.HasPrefix(test, "NONE") || s.Healthcheck.Disable {
			t.Errorf("%s has no health check", name)
		}
		if s.Restart == "" || s.Restart == "no" {
			t.Errorf("%s has no restart policy", name)
		}
	}

	// Every Job Center setting the file sets is one the README documents (no typos).
	documented := readmeSettings(t)
	for _, name := range []string{"api", "trigger", "executor"} {
		for v := range cf.Services[name].Environment {
			if !documented[v] {
				t.Errorf("%s sets %s, which is not in the README's Configuration table", name, v)
			}
		}
	}
}

func TestTheComposeFileRefusesToRunWithoutItsSecrets(t *testing.T) {
	empty := filepath.Join(t.TempDir(), "empty.env")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := composeConfig(t, empty)
	if err == nil || !strings.Contains(err.Error(), "PASSWORD") {
		t.Fatalf("compose config without secrets: %v; want an error naming the missing password", err)
	}
}

func TestEveryDockerfileBuildsItsProgramStaticallyAsANonRootUser(t *testing.T) {
	files, _ := filepath.Glob("../deployments/*.Dockerfile")
	if len(files) < 3 {
		t.Fatalf("Dockerfiles: %v, want one per service", files)
	}
	modules := workspaceModules(t)
	var targets []string
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".Dockerfile")
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		text := string(data)
		target := "./cmd/" + name
		if _, err := os.Stat("../services/" + name + "/cmd/" + name); err == nil {
			target = "./services/" + name + "/cmd/" + name
		}
		if _, err := os.Stat(".." + target[1:]); err != nil {
			t.Errorf("%s: no program %s for it", f, target)
		}
		var froms, users []string
		var builds []string
		for _, line := range strings.Split(strings.ReplaceAll(text, "\\\n", " "), "\n") {
			fields := strings.Fields(line)
			if len(fields) == 0 || strings.HasPrefix(fields[0], "#") {
				continue
			}
			switch strings.ToUpper(fields[0]) {
			case "FROM":
				froms = append(froms, fields[1])
			case "USER":
				users = append(users, fields[1])
			}
			for _, m := range goBuild.FindAllStringSubmatch(line, -1) {
				builds = append(builds, m[0])
				for _, w := range strings.Fields(m[0]) {
					if strings.HasPrefix(w, "./") {
						targets = append(targets, w)
					}
				}
			}
		}
		if len(froms) < 2 || !strings.HasPrefix(froms[0], "golang:1.26") {
			t.Errorf("%s: stages %v, want a golang:1.26 builder and a final image", f, froms)
		} else if last := froms[len(froms)-1]; !strings.Contains(last, "distroless/static") && last != "scratch" {
			t.Errorf("%s: final image %s, want distroless/static or scratch", f, last)
		}
		if len(users) == 0 {
			t.Errorf("%s: no USER: the program would run as root", f)
		} else if u := users[len(users)-1]; u == "root" || u == "0" || strings.HasPrefix(u, "0:") || strings.HasPrefix(u, "root:") {
			t.Errorf("%s: USER %s", f, u)
		}
		if !strings.Contains(text, "CGO_ENABLED=0") {
			t.Errorf("%s: not CGO_ENABLED=0: the final image has no libc", f)
		}
		for _, b := range builds {
			if !strings.Contains(b, "-trimpath") {
				t.Errorf("%s: %q without -trimpath", f, b)
			}
		}
		if !containsBuildOf(builds, target) || !containsBuildOf(builds, "./cmd/healthcheck") {
			t.Errorf("%s builds %v; want %s and ./cmd/healthcheck", f, builds, target)
		}
		if !strings.Contains(text, `ENTRYPOINT ["/`+name+`"]`) {
			t.Errorf("%s: want ENTRYPOINT [\"/%s\"]", f, name)
		}
		// `go mod download` runs before the sources are copied: it needs every module's go.mod.
		for _, m := range modules {
			if !regexp.MustCompile(`(?m)^COPY .*\b` + regexp.QuoteMeta(filepath.Join(m, "go.mod")) + `\b`).MatchString(text) {
				t.Errorf("%s does not copy %s/go.mod, a module of go.work", f, m)
			}
		}
	}

	// The targets are programs whose whole dependency graph builds without cgo, as the
	// images build them (go list resolves every file under CGO_ENABLED=0 without
	// compiling: a full static rebuild here would cost minutes on a cold cache, and make
	// build compiles the same packages).
	targets = slices.Compact(slices.Sorted(slices.Values(targets)))
	cmd := exec.Command("go", append([]string{"list", "-deps", "-f", "{{if not .DepOnly}}{{.ImportPath}} {{.Name}}{{end}}"}, targets...)...)
	cmd.Dir = ".."
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go list %v with CGO_ENABLED=0: %v\n%s", targets, err, out)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if path, name, _ := strings.Cut(line, " "); name != "main" {
			t.Errorf("Dockerfile target %s is package %s, not a program", path, name)
		}
	}
}

var goBuild = regexp.MustCompile(`go build [^&;]*`)

func containsBuildOf(builds []string, target string) bool {
	for _, b := range builds {
		if slices.Contains(strings.Fields(b), target) {
			return true
		}
	}
	return false
}

// workspaceModules lists go.work's modules other than the root ("contracts", …).
func workspaceModules(t *testing.T) []string {
	t.Helper()
	f, err := os.Open("../go.work")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var mods []string
	in := false
	for sc := bufio.NewScanner(f); sc.Scan(); {
		line := strings.TrimSpace(sc.Text())
		switch {
		case strings.HasPrefix(line, "use ("):
			in = true
		case in && line == ")":
			in = false
		case in && line != "" && line != ".":
			mods = append(mods, strings.TrimPrefix(line, "./"))
		case strings.HasPrefix(line, "use ") && !strings.Contains(line, "("):
			if m := strings.TrimPrefix(strings.TrimSpace(strings.TrimPrefix(line, "use")), "./"); m != "." {
				mods = append(mods, m)
			}
		}
	}
	if len(mods) == 0 {
		t.Fatal("go.work lists no modules")
	}
	return mods
}
