package job

import (
	"fmt"
	"strings"
)

// MaxChainWalk bounds how many jobs the loop check of a chain reads.
const MaxChainWalk = 1000

// CheckChain applies the rules of child jobs to j as a create or an update would leave
// it: each child it adds (one cur, the job before the write, did not have) is a live job
// of j's tenant named by its id, and following children from j never comes back to j.
// A child that was deleted since it was named is let be: it is not run. find reads a job
// by id (nil when there is none). Jobs are decided one at a time, so two writes cannot
// each close half of a loop.
func CheckChain(j Job, cur *Job, find func(id string) (*Job, error)) error {
	p := j.Spec.Policy
	had := map[string]bool{}
	if cur != nil {
		for _, id := range append(append([]string{}, cur.Spec.Policy.OnSuccess...), cur.Spec.Policy.OnFailure...) {
			had[id] = true
		}
	}
	type edge struct {
		from  string
		field string // the field of j that begins the path
		path  []string
	}
	var queue []edge
	for _, l := range []struct {
		field string
		ids   []string
	}{{"on_success", p.OnSuccess}, {"on_failure", p.OnFailure}} {
		for i, id := range l.ids {
			field := fmt.Sprintf("%s[%d]", l.field, i)
			if id == j.ID {
				return &ConflictError{Field: field, Msg: "a job cannot run itself after its runs: the chain would loop"}
			}
			c, err := find(id)
			if err != nil {
				return err
			}
			if (c == nil || !c.Live() || c.Tenant != j.Tenant) && !had[id] {
				return invalid(field, "no job %q in this project", clip(id))
			}
			queue = append(queue, edge{id, field, []string{j.ID, id}})
		}
	}
	seen := map[string]bool{}
	for len(queue) > 0 {
		e := queue[0]
		queue = queue[1:]
		if seen[e.from] {
			continue
		}
		if len(seen) == MaxChainWalk {
			return &ConflictError{Field: e.field, Msg: fmt.Sprintf("the chain reaches more than %d jobs: it cannot be checked for a loop", MaxChainWalk)}
		}
		seen[e.from] = true
		c, err := find(e.from)
		if err != nil {
			return err
		}
		if c == nil || !c.Live() {
			continue
		}
		for _, id := range append(append([]string{}, c.Spec.Policy.OnSuccess...), c.Spec.Policy.OnFailure...) {
			path := append(append([]string{}, e.path...), id)
			if id == j.ID {
				return &ConflictError{Field: e.field, Msg: "the chain would loop: " + strings.Join(path, " → ")}
			}
			queue = append(queue, edge{id, e.field, path})
		}
	}
	return nil
}
