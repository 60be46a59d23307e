package cron_test

import (
	"testing"
	"time"

	"github.com/adhocore/gronx"

	"github.com/jobcenter/jobcenter/shared/cron"
)

// TestNextAgreesWithGronx uses gronx as an independent oracle: on expressions both
// dialects accept with the same meaning, the fires in UTC must be identical. Each pair
// is written by hand: '?' becomes '*' and day-of-week numbers drop by one (gronx counts
// 0-6 from Sunday, Quartz 1-7); names mean the same in both. "31W" is not among them:
// Quartz reads April 31 as May 1 and can fire it on April 30, gronx does not.
func TestNextAgreesWithGronx(t *testing.T) {
	t.Parallel()
	tests := []struct{ quartz, gronx string }{
		{"0 */30 8-19 ? * * *", "0 */30 8-19 * * * *"},
		{"57 24 11 ? * * *", "57 24 11 * * * *"},
		{"5/20 10-50/10 * ? * *", "5/20 10-50/10 * * * *"},
		{"0 */15 9-17 ? * MON-FRI", "0 */15 9-17 * * MON-FRI"},
		{"0 0 12 ? * 2-6", "0 0 12 * * 1-5"},
		{"0 0 12 ? * 1,7", "0 0 12 * * 0,6"},
		{"0 0 12 ? * */2", "0 0 12 * * */2"},
		{"0 30 6 1,15 * ?", "0 30 6 1,15 * *"},
		{"0 0 12 31 * ?", "0 0 12 31 * *"},
		{"0 0 12 */10 * ?", "0 0 12 */10 * *"},
		{"0 0 12 1/5 * ?", "0 0 12 1/5 * *"},
		{"0 0 0 29 2 ? *", "0 0 0 29 2 * *"},
		{"0 0 12 1 JAN,JUL ?", "0 0 12 1 JAN,JUL *"},
		{"0 0 12 1 */3 ?", "0 0 12 1 */3 *"},
		{"0 15 10 ? * * 2025-2030", "0 15 10 * * * 2025-2030"},
		{"0 0 12 L * ?", "0 0 12 L * *"},
		{"0 0 12 1W * ?", "0 0 12 1W * *"},
		{"0 0 12 15W * ?", "0 0 12 15W * *"},
		{"0 0 12 ? * 6L", "0 0 12 * * 5L"},
		{"0 0 12 ? * 1#2", "0 0 12 * * 0#2"},
		{"0 0 12 ? * 6#5", "0 0 12 * * 5#5"},
	}
	for _, tc := range tests {
		t.Run(tc.quartz, func(t *testing.T) {
			t.Parallel()
			e, err := cron.Parse(tc.quartz)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			at := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
			for i := range 40 {
				got, ok := e.Next(at, time.UTC)
				want, err := gronx.NextTickAfter(tc.gronx, at, false)
				if err != nil {
					t.Fatalf("gronx after %s: %v", at.Format(time.RFC3339), err)
				}
				if !ok && want.Year() > 2099 {
					return // Quartz's years end with 2099; gronx's go on.
				}
				if !ok || !got.Equal(want) {
					t.Fatalf("fire %d after %s: Next = %s, %v; gronx = %s",
						i, at.Format(time.RFC3339), got.Format(time.RFC3339), ok, want.Format(time.RFC3339))
				}
				at = got
			}
		})
	}
}
