// Package access decides who may call the api: API keys bound to tenants, stored only
// as SHA-256 digests and compared in constant time, and a request rate per tenant. It
// must not keep a key in clear, nor know what a tenant may do beyond being itself.
package access

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// AnyTenant is the tenant of a service key: one that may act for every tenant (the
// executors' key for the sdk_* calls of job code).
const AnyTenant = "*"

// Keys is a set of API keys, each bound to one tenant.
type Keys struct {
	entries []entry
}

type entry struct {
	tenant string
	sum    [sha256.Size]byte
}

// ParseKeys reads `tenant=sha256hex` pairs separated by commas or new lines (blank lines
// and lines starting with '#' are skipped). The tenant is everything before the last '='.
func ParseKeys(text string) (*Keys, error) {
	k := &Keys{}
	for _, line := range strings.FieldsFunc(text, func(r rune) bool { return r == ',' || r == '\n' || r == '\r' }) {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, '=')
		if i <= 0 {
			return nil, fmt.Errorf("key line %q: want tenant=sha256hex", clip(line))
		}
		raw, err := hex.DecodeString(strings.ToLower(strings.TrimSpace(line[i+1:])))
		if err != nil || len(raw) != sha256.Size {
			return nil, fmt.Errorf("key line for tenant %q: the digest must be 64 hex characters (the SHA-256 of the key)", clip(line[:i]))
		}
		var e entry
		e.tenant = strings.TrimSpace(line[:i])
		copy(e.sum[:], raw)
		k.entries = append(k.entries, e)
	}
	return k, nil
}

// Add binds one more key (given in clear) to tenant.
func (k *Keys) Add(tenant, key string) {
	k.entries = append(k.entries, entry{tenant: tenant, sum: sha256.Sum256([]byte(key))})
}

// Empty reports whether no key is configured: the api is then open.
func (k *Keys) Empty() bool { return k == nil || len(k.entries) == 0 }

// Tenant returns the tenant key is bound to. Every configured digest is compared, in
// constant time, so the time taken says nothing about which key nearly matched.
func (k *Keys) Tenant(key string) (tenant string, ok bool) {
	sum := sha256.Sum256([]byte(key))
	for _, e := range k.entries {
		if subtle.ConstantTimeCompare(sum[:], e.sum[:]) == 1 && !ok {
			tenant, ok = e.tenant, true
		}
	}
	return tenant, ok
}

// Allows reports whether a key bound to keyTenant may act for tenant.
func Allows(keyTenant, tenant string) bool { return keyTenant == AnyTenant || keyTenant == tenant }

// Mint makes a new random key for tenant and the line that configures it.
func Mint(tenant string) (key, line string) {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	key = "jc_" + base64.RawURLEncoding.EncodeToString(b)
	sum := sha256.Sum256([]byte(key))
	return key, tenant + "=" + hex.EncodeToString(sum[:])
}

// Limiter allows each tenant a rate of requests, with a burst.
type Limiter struct {
	rate  rate.Limit
	burst int
	mu    sync.Mutex
	per   map[string]*rate.Limiter
}

// maxTenants bounds the limiters kept: past it they start afresh (a full bucket each).
const maxTenants = 100_000

// NewLimiter allows perSecond requests a second per tenant, bursts of twice that;
// perSecond 0 means no limit (nil).
func NewLimiter(perSecond int) *Limiter {
	if perSecond <= 0 {
		return nil
	}
	return &Limiter{rate: rate.Limit(perSecond), burst: 2 * perSecond, per: map[string]*rate.Limiter{}}
}

// Allow takes one request of tenant's; when refused, retry is how long to wait.
func (l *Limiter) Allow(tenant string) (ok bool, retry time.Duration) {
	if l == nil {
		return true, 0
	}
	l.mu.Lock()
	lim := l.per[tenant]
	if lim == nil {
		if len(l.per) >= maxTenants {
			l.per = map[string]*rate.Limiter{}
		}
		lim = rate.NewLimiter(l.rate, l.burst)
		l.per[tenant] = lim
	}
	l.mu.Unlock()
	r := lim.Reserve()
	if d := r.Delay(); d > 0 {
		r.Cancel()
		return false, d
	}
	return true, 0
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
