package cron_test

import (
	"testing"
	"time"

	"github.com/jobcenter/jobcenter/shared/cron"
)

func BenchmarkNext(b *testing.B) {
	for _, bc := range []struct{ name, expr, zone string }{
		{"dense/every-second", "* * * ? * *", ""},
		{"dense/every-30-min-NY", "0 */30 8-19 ? * * *", "America/New_York"},
		{"sparse/leap-day", "0 0 0 29 2 ? *", ""},
		{"sparse/year-2099", "0 0 0 1 1 ? 2099", ""},
		{"sparse/fifth-friday-of-february", "0 0 0 ? 2 6#5", "Europe/Berlin"},
		{"sparse/impossible-30-feb", "0 0 0 30 2 ?", ""},
	} {
		b.Run(bc.name, func(b *testing.B) {
			e, err := cron.Parse(bc.expr)
			if err != nil {
				b.Fatal(err)
			}
			loc := loadZone(b, bc.zone)
			from := time.Date(2024, 3, 1, 0, 0, 0, 0, loc)
			b.ReportAllocs()
			for b.Loop() {
				e.Next(from, loc)
			}
		})
	}
}

func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := cron.Parse("0/5 14,18,3-39,52 * ? JAN,MAR,SEP MON-FRI 2002-2010"); err != nil {
			b.Fatal(err)
		}
	}
}
