package main

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// section is one table: a workload, the figures measured under it, and the targets.
type section struct {
	Name  string `json:"name"`
	Title string `json:"title"`
	// Workload says exactly what ran; each row adds its own part.
	Workload string   `json:"workload"`
	Columns  []string `json:"columns"`
	Rows     []row    `json:"rows"`
	Notes    []string `json:"notes,omitempty"`
	// LoadAvg is the machine's load average (1, 5, 15 min) before and after the section.
	LoadAvg [2]string `json:"loadavg_before_after"`
}

type row struct {
	Label  string  `json:"label"`
	Values []value `json:"values"`
	Target string  `json:"target,omitempty"`
	// Met is "met", "missed" or "" when the row has no target.
	Met string `json:"met,omitempty"`
}

// value is one figure: the median of its runs, in unit.
type value struct {
	Median float64   `json:"median"`
	Runs   []float64 `json:"runs"`
	Unit   string    `json:"unit"`
	// Text replaces the number in the table where a count is not enough (errors by status).
	Text string `json:"text,omitempty"`
}

func newValue(unit string, runs []float64) value {
	return value{Median: median(runs), Runs: runs, Unit: unit}
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func met(ok bool) string {
	if ok {
		return "met"
	}
	return "missed"
}

func (s *section) print(w io.Writer) {
	fmt.Fprintf(w, "## %s\n%s\n", s.Title, s.Workload)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.Debug)
	head := append([]string{"measure"}, s.Columns...)
	head = append(head, "target", "")
	fmt.Fprintln(tw, strings.Join(head, "\t")+"\t")
	for _, r := range s.Rows {
		cells := []string{r.Label}
		for _, v := range r.Values {
			cells = append(cells, v.String())
		}
		cells = append(cells, r.Target, r.Met)
		fmt.Fprintln(tw, strings.Join(cells, "\t")+"\t")
	}
	tw.Flush()
	for _, n := range s.Notes {
		fmt.Fprintf(w, "- %s\n", n)
	}
	fmt.Fprintf(w, "load average before / after: %s / %s\n\n", s.LoadAvg[0], s.LoadAvg[1])
}

// String formats the median for people: thousands separated, durations in ms.
func (v value) String() string {
	if v.Text != "" {
		return v.Text
	}
	switch v.Unit {
	case "ms":
		switch {
		case v.Median >= 100:
			return fmt.Sprintf("%s ms", group(v.Median, 0))
		case v.Median >= 1:
			return fmt.Sprintf("%.2f ms", v.Median)
		default:
			return fmt.Sprintf("%.3f ms", v.Median)
		}
	case "":
		return group(v.Median, 0)
	case "cores", "%":
		return fmt.Sprintf("%.2f %s", v.Median, v.Unit)
	}
	return group(v.Median, 0) + " " + v.Unit
}

// group formats x with digits decimals and commas between thousands.
func group(x float64, digits int) string {
	s := fmt.Sprintf("%.*f", digits, x)
	intPart, frac, _ := strings.Cut(s, ".")
	neg := strings.HasPrefix(intPart, "-")
	intPart = strings.TrimPrefix(intPart, "-")
	var b strings.Builder
	for i, c := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	out := b.String()
	if neg {
		out = "-" + out
	}
	if frac != "" {
		out += "." + frac
	}
	return out
}

// human says a duration as people read it: "90 s", "3 min", "1 h".
func human(d time.Duration) string {
	if d >= time.Hour && d%time.Hour == 0 {
		return fmt.Sprintf("%d h", d/time.Hour)
	}
	if d >= time.Minute && d%time.Minute == 0 {
		return fmt.Sprintf("%d min", d/time.Minute)
	}
	return fmt.Sprintf("%g s", d.Seconds())
}

// loadValue is load averages, shown with two decimals.
func loadValue(runs []float64) value {
	v := newValue("", runs)
	v.Text = fmt.Sprintf("%.2f", v.Median)
	return v
}
