package trigger_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/jobcenter/jobcenter/services/trigger"
	"github.com/jobcenter/jobcenter/shared/config"
)

// TestAConfigBuiltInCodeGetsTheEnvironmentsDefaultsAndChecks: a Config literal that sets
// only what it cares about used to panic at start (a zero FlushInterval in a ticker).
func TestAConfigBuiltInCodeGetsTheEnvironmentsDefaultsAndChecks(t *testing.T) {
	env := config.NewEnv(func(string) string { return "" })
	fromEnv := trigger.ConfigFromEnv(env)
	if err := env.Err(); err != nil {
		t.Fatal(err)
	}
	built := trigger.Config{NATSURL: fromEnv.NATSURL, MongoURI: fromEnv.MongoURI, InstanceID: fromEnv.InstanceID}.WithDefaults()
	fromEnv = fromEnv.WithDefaults()
	if !reflect.DeepEqual(built, fromEnv) {
		t.Fatalf("built in code:\n%+v\nfrom the environment:\n%+v", built, fromEnv)
	}
	if err := built.Validate(); err != nil {
		t.Fatal(err)
	}
	bad := built
	bad.FlushInterval, bad.MaxCatchUp = -1, 1_000_000
	err := bad.Validate()
	if err == nil || !strings.Contains(err.Error(), "JOBCENTER_FLUSH_INTERVAL") || !strings.Contains(err.Error(), "JOBCENTER_MAX_CATCHUP") {
		t.Fatalf("Validate: %v", err)
	}
}
