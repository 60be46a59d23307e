package access_test

import (
	"testing"

	"github.com/jobcenter/jobcenter/services/api/internal/access"
)

func TestAMintedKeyOpensItsOwnTenantOnly(t *testing.T) {
	t.Parallel()
	key, line := access.Mint("project-a")
	other, otherLine := access.Mint("project-b")
	keys, err := access.ParseKeys("# comment\n" + line + "," + otherLine + "\n")
	if err != nil {
		t.Fatal(err)
	}
	if tenant, ok := keys.Tenant(key); !ok || tenant != "project-a" || !access.Allows(tenant, "project-a") || access.Allows(tenant, "project-b") {
		t.Fatalf("key of a: %q %v", tenant, ok)
	}
	if tenant, ok := keys.Tenant(other); !ok || tenant != "project-b" {
		t.Fatalf("key of b: %q %v", tenant, ok)
	}
	for _, wrong := range []string{"", "jc_nope", key + "x", line} {
		if _, ok := keys.Tenant(wrong); ok {
			t.Fatalf("%q was accepted", wrong)
		}
	}
	if !access.Allows(access.AnyTenant, "anything") {
		t.Fatal("a service key acts for every tenant")
	}
}

func TestBadKeyLinesAreRefusedWithTheReason(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{"noequals", "=abcd", "t=zz", "t=abcd"} {
		if _, err := access.ParseKeys(bad); err == nil {
			t.Errorf("%q was accepted", bad)
		}
	}
	if k, err := access.ParseKeys(" \n,"); err != nil || !k.Empty() {
		t.Fatalf("blank: %v", err)
	}
}

func TestATenantBeyondItsRateIsToldWhenToRetry(t *testing.T) {
	t.Parallel()
	l := access.NewLimiter(5) // burst 10
	for i := 0; i < 10; i++ {
		if ok, _ := l.Allow("t"); !ok {
			t.Fatalf("request %d of the burst refused", i)
		}
	}
	ok, retry := l.Allow("t")
	if ok || retry <= 0 {
		t.Fatalf("past the burst: %v %v", ok, retry)
	}
	if ok, _ := l.Allow("other"); !ok {
		t.Fatal("another tenant shares the bucket")
	}
	if ok, _ := (*access.Limiter)(nil).Allow("t"); !ok {
		t.Fatal("no limiter limits nothing")
	}
}
