package job

import (
	"strings"
	"time"
)

// LocalLayout is how the SDK writes times: "2025-06-15 21:30:02", in the configured zone.
const LocalLayout = "2006-01-02 15:04:05"

// ISO-8601 forms accepted without a zone; they are read in the configured zone.
var localISOLayouts = []string{"2006-01-02T15:04:05", "2006-01-02T15:04:05.999999999", LocalLayout, "2006-01-02 15:04:05.999999999"}

// ParseRunDate reads a run_date as the SDK writes it: "2025-07-09 16:00:00" in loc, or
// ISO-8601 with a zone ("2025-06-27T16:00:00.000Z", "…+08:00") or without one (read in loc).
// Instants from 2100-01-01T00:00:00Z on are refused: one bound, whatever zone the date
// is written in.
func ParseRunDate(s string, loc *time.Location) (time.Time, error) {
	s = strings.TrimSpace(s)
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t, err = parseLocal(s, loc)
	}
	if err != nil {
		return time.Time{}, invalid("run_date", `%q is not a date: write "2025-07-09 16:00:00" or ISO-8601 such as "2025-06-27T16:00:00.000Z"`, clip(s))
	}
	if t.UTC().Year() > lastYear {
		return time.Time{}, invalid("run_date", "must be before %d-01-01T00:00:00Z", lastYear+1)
	}
	if t.Unix() <= 0 {
		return time.Time{}, invalid("run_date", "must be after 1970-01-01T00:00:00Z")
	}
	// To the millisecond, as the store keeps an instant: one read back from the store
	// schedules as the one sent.
	return t.UTC().Truncate(time.Millisecond), nil
}

func parseLocal(s string, loc *time.Location) (time.Time, error) {
	var err error
	for _, layout := range localISOLayouts {
		var t time.Time
		if t, err = time.ParseInLocation(layout, s, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, err
}

// FormatLocal writes t as the SDK does, in loc.
func FormatLocal(t time.Time, loc *time.Location) string { return t.In(loc).Format(LocalLayout) }
