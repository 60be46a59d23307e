package scheduler

import "github.com/jobcenter/jobcenter/services/trigger/internal/jobtable"

// Shared reports how many plans, tenants and snippets or flows s keeps for its jobs.
func Shared(s *Scheduler) (plans, tenants, texts int) {
	s.sh.Lock()
	defer s.sh.Unlock()
	return s.sh.Plans.Len(), s.sh.Tenants.Len(), s.sh.Texts.Len()
}

// CheckRecord reports whether rec reads as a record, as Import checks each.
func CheckRecord(rec string) error { return jobtable.CheckRecord(rec) }
