package job_test

import (
	"testing"
	"time"

	"github.com/jobcenter/jobcenter/shared/calendar"
	"github.com/jobcenter/jobcenter/shared/job"
)

// What a calendar costs a fire: the next instant of a schedule with and without one
// (the scheduler computes one per fire). The calendar is a year of Chinese holidays and
// the weekends, none excluding the instant asked for, and one that does: a Saturday.
func BenchmarkNextWithACalendar(b *testing.B) {
	loc, _ := time.LoadLocation("Asia/Shanghai")
	var dates []string
	for d := time.Date(2026, 1, 1, 0, 0, 0, 0, loc); d.Year() == 2026; d = d.AddDate(0, 0, 9) {
		dates = append(dates, d.Format("2006-01-02"))
	}
	cal, err := calendar.Calendar{Name: "cn", Zone: "Asia/Shanghai", Dates: dates,
		Weekly: []calendar.Window{{From: "SAT 00:00", To: "MON 00:00"}}}.Compile(loc)
	if err != nil {
		b.Fatal(err)
	}
	exclude := calendar.Exclude(func(string) *calendar.Compiled { return cal }, []string{"cn"})
	monday := time.Date(2026, 12, 7, 9, 0, 0, 0, loc)    // not excluded
	friday := time.Date(2026, 12, 11, 23, 45, 0, 0, loc) // the next instants, Saturday's, are
	for _, c := range []struct {
		name string
		tr   job.Trigger
		from time.Time
		cal  bool
	}{
		{"interval", job.Trigger{Kind: job.Interval, Every: time.Hour}, monday, false},
		{"interval+calendar", job.Trigger{Kind: job.Interval, Every: time.Hour}, monday, true},
		{"interval+calendar-excluding-a-weekend", job.Trigger{Kind: job.Interval, Every: time.Hour}, friday, true},
		{"cron", job.Trigger{Kind: job.Cron, Cron: "0 0 9 ? * *", Zone: "Asia/Shanghai"}, monday, false},
		{"cron+calendar", job.Trigger{Kind: job.Cron, Cron: "0 0 9 ? * *", Zone: "Asia/Shanghai"}, monday, true},
		{"cron+calendar-excluding-a-weekend", job.Trigger{Kind: job.Cron, Cron: "0 0 9 ? * *", Zone: "Asia/Shanghai"}, friday, true},
	} {
		b.Run(c.name, func(b *testing.B) {
			s := c.tr.Compile(c.from.Add(-30 * time.Minute))
			if c.cal {
				s.Exclude = exclude
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, ok := s.Next(c.from); !ok {
					b.Fatal("no next")
				}
			}
		})
	}
}
