package scheduler

// Shared reports how many plans, tenants and snippets or flows s keeps for its jobs.
func Shared(s *Scheduler) (plans, tenants, texts int) {
	s.sh.Lock()
	defer s.sh.Unlock()
	return len(s.sh.plans.ids), len(s.sh.tenants.ids), len(s.sh.texts.ids)
}
