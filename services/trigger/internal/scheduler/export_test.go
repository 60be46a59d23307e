package scheduler

// Shared reports how many plans, tenants and snippets or flows s keeps for its jobs.
func Shared(s *Scheduler) (plans, tenants, texts int) {
	s.sh.Lock()
	defer s.sh.Unlock()
	return len(s.sh.plans.ids), len(s.sh.tenants.ids), len(s.sh.texts.ids)
}

// CheckRecord reports whether rec reads as a record, as Import checks each.
func CheckRecord(rec string) error { _, _, err := checkRecord(rec); return err }
