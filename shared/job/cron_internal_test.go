package job

import (
	"fmt"
	"testing"
)

// Anyone may preview any expression: the cache of parsed ones stays within its bound, and
// an expression parsed again after the cache started afresh is the same.
func TestTheCacheOfParsedExpressionsIsBounded(t *testing.T) {
	c := newCompileCache(16)
	for i := range 100 {
		if _, err := c.cron(fmt.Sprintf("%d * * * * ?", i%60)); err != nil {
			t.Fatal(err)
		}
		if n := len(c.crons); n > 16 {
			t.Fatalf("the cache holds %d expressions; at most 16", n)
		}
	}
	a, _ := c.cron("0 0 12 * * ?")
	b, _ := c.cron("0 0 12 * * ?")
	if a != b {
		t.Fatal("an expression in the cache was parsed again")
	}
	if _, err := c.cron("not cron"); err == nil {
		t.Fatal("a bad expression was taken")
	}
}
