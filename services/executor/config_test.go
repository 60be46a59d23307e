package executor_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/jobcenter/jobcenter/services/executor"
	"github.com/jobcenter/jobcenter/shared/bus"
	"github.com/jobcenter/jobcenter/shared/config"
)

func TestAConfigBuiltInCodeGetsTheEnvironmentsDefaultsAndChecks(t *testing.T) {
	env := config.NewEnv(func(string) string { return "" })
	fromEnv := executor.ConfigFromEnv(env, bus.StreamsFromEnv(env))
	if err := env.Err(); err != nil {
		t.Fatal(err)
	}
	built := executor.Config{NATSURL: fromEnv.NATSURL, APIURL: fromEnv.APIURL}.WithDefaults()
	if fromEnv = fromEnv.WithDefaults(); !reflect.DeepEqual(built, fromEnv) {
		t.Fatalf("built in code:\n%+v\nfrom the environment:\n%+v", built, fromEnv)
	}
	bad := built
	bad.Concurrency = 5000
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "JOBCENTER_EXEC_CONCURRENCY") {
		t.Fatalf("Validate: %v", err)
	}
	bad = built
	bad.HTTPReach = "everywhere"
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "JOBCENTER_HTTP_JOBS_REACH") {
		t.Fatalf("Validate: %v", err)
	}
	env = config.NewEnv(func(k string) string { return map[string]string{"JOBCENTER_HTTP_JOBS_REACH": "nowhere"}[k] })
	executor.ConfigFromEnv(env, bus.StreamsFromEnv(env))
	if err := env.Err(); err == nil || !strings.Contains(err.Error(), "JOBCENTER_HTTP_JOBS_REACH") {
		t.Fatalf("a reach that is none was read: %v", err)
	}
}
