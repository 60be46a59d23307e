package api_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/jobcenter/jobcenter/services/api"
	"github.com/jobcenter/jobcenter/shared/bus"
	"github.com/jobcenter/jobcenter/shared/config"
)

func TestAConfigBuiltInCodeGetsTheEnvironmentsDefaultsAndChecks(t *testing.T) {
	env := config.NewEnv(func(string) string { return "" })
	fromEnv := api.ConfigFromEnv(env, bus.StreamsFromEnv(env))
	if err := env.Err(); err != nil {
		t.Fatal(err)
	}
	// What zero means something for (no wait, no rate limit, no cache) is set as the
	// environment's default is; the rest comes from WithDefaults.
	built := api.Config{HTTPAddr: fromEnv.HTTPAddr, NATSURL: fromEnv.NATSURL, MongoURI: fromEnv.MongoURI, Keys: fromEnv.Keys,
		ApplyWait: api.ApplyWait.Default, RateLimit: api.RateLimit.Default, CacheJobs: api.CacheJobs.Default}.WithDefaults()
	if fromEnv = fromEnv.WithDefaults(); !reflect.DeepEqual(built, fromEnv) {
		t.Fatalf("built in code:\n%+v\nfrom the environment:\n%+v", built, fromEnv)
	}
	bad := built
	bad.BodyLimit = 1
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "JOBCENTER_BODY_LIMIT") {
		t.Fatalf("Validate: %v", err)
	}
}
