package contracts

import (
	"encoding/base64"
	"strings"
)

// Stream names.
const (
	// StreamCommands holds every accepted write, in order, until the trigger applied it.
	StreamCommands = "JOBCENTER_COMMANDS"
	// StreamEvents holds the job lifecycle events: the truth the job projection derives from.
	StreamEvents = "JOBCENTER_EVENTS"
	// StreamRuns holds fires and run results: the truth the journal derives from.
	StreamRuns = "JOBCENTER_RUNS"
	// StreamAlerts holds the alerts raised and not yet delivered (or given up on).
	StreamAlerts = "JOBCENTER_ALERTS"
)

// Wildcard subjects, one per stream or family, for subscribers and stream configs.
const (
	CommandSubjects = "jobcenter.cmd.>"
	EventSubjects   = "jobcenter.evt.>"
	FireSubjects    = "jobcenter.fire.>"
	RunSubjects     = "jobcenter.run.>"
	FlowSubjects    = "jobcenter.flow.>"
	BizSubjects     = "jobcenter.biz.>"
	AlertSubjects   = "jobcenter.alert.>"
)

// Stream is one of Job Center's streams as every service provisions it.
type Stream struct {
	Name     string
	Subjects []string
	// Ages: its messages are removed JOBCENTER_RUNS_MAX_AGE after they were stored; the
	// others are kept (the commands until applied, the events for ever).
	Ages bool
	// WorkQueue: a message is removed once its one consumer acknowledged it.
	WorkQueue bool
}

// Streams are Job Center's streams.
var Streams = []Stream{
	{Name: StreamCommands, Subjects: []string{CommandSubjects}},
	{Name: StreamEvents, Subjects: []string{EventSubjects}},
	{Name: StreamRuns, Subjects: []string{FireSubjects, RunSubjects}, Ages: true},
	{Name: StreamAlerts, Subjects: []string{AlertSubjects}, Ages: true, WorkQueue: true},
}

// Lifecycle event types, the last token of an event subject.
const (
	EventCreated  = "created"
	EventUpdated  = "updated"
	EventStarted  = "started"
	EventStopped  = "stopped"
	EventDeleted  = "deleted"
	EventFinished = "finished"
)

// Run statuses, the last token of a run subject and the journal's exestatus.
const (
	RunRunning = "running"
	RunSuccess = "success"
	RunFailure = "failure"
	// RunSkipped: not run, because max_instances runs of the job were still going
	// (a missed fire's entry shows it too).
	RunSkipped = "skipped"
	// RunWaiting is no report's: a journal entry shows it until an executor takes the
	// fire up.
	RunWaiting = "waiting"
)

// CommandSubject is where the api appends a tenant's commands.
func CommandSubject(tenant string) string { return "jobcenter.cmd." + Token(tenant) }

// EventSubject is where a job's lifecycle event of type typ is published.
func EventSubject(tenant, jobID, typ string) string {
	return "jobcenter.evt." + Token(tenant) + "." + Token(jobID) + "." + typ
}

// TenantEvents is the wildcard of one tenant's lifecycle events.
func TenantEvents(tenant string) string { return "jobcenter.evt." + Token(tenant) + ".>" }

// FireSubject is where a job's fires are published.
func FireSubject(tenant, jobID string) string {
	return "jobcenter.fire." + Token(tenant) + "." + Token(jobID)
}

// TenantFires is the wildcard of one tenant's fires.
func TenantFires(tenant string) string { return "jobcenter.fire." + Token(tenant) + ".>" }

// RunSubject is where a run's progress with the given status is published.
func RunSubject(tenant, jobID, status string) string {
	return "jobcenter.run." + Token(tenant) + "." + Token(jobID) + "." + status
}

// TenantRuns is the wildcard of one tenant's run results.
func TenantRuns(tenant string) string { return "jobcenter.run." + Token(tenant) + ".>" }

// FlowSubject is the request/reply subject that runs business flow flowID for tenant.
func FlowSubject(tenant, flowID string) string {
	return "jobcenter.flow." + Token(tenant) + "." + Token(flowID)
}

// BizSubject is the request/reply subject that runs business behaviour bizcode for tenant.
func BizSubject(tenant, bizcode string) string {
	return "jobcenter.biz." + Token(tenant) + "." + Token(bizcode)
}

// AlertSubject is where a tenant's alerts are published (Alert).
func AlertSubject(tenant string) string { return "jobcenter.alert." + Token(tenant) }

// LogSubject is where the lines a job's runs write are published as they are written
// (RunLog; core NATS, not stored).
func LogSubject(tenant, jobID string) string {
	return "jobcenter.log." + Token(tenant) + "." + Token(jobID)
}

// TenantLogs is the wildcard of one tenant's live run logs.
func TenantLogs(tenant string) string { return "jobcenter.log." + Token(tenant) + ".>" }

// KillSubject is where the api asks the executors to kill a run of a job (Kill, core
// request/reply); KillSubjects is every tenant's, which executors follow.
func KillSubject(tenant, jobID string) string {
	return "jobcenter.kill." + Token(tenant) + "." + Token(jobID)
}

// KillSubjects is the wildcard executors follow for kills.
const KillSubjects = "jobcenter.kill.>"

// CancelSubject is where an executor tells a job's flow or behaviour runner that a run
// was killed (Kill, core NATS): a runner that follows it may stop the run's work.
func CancelSubject(tenant, jobID string) string {
	return "jobcenter.cancel." + Token(tenant) + "." + Token(jobID)
}

// Token encodes s as one subject token that cannot escape its place: a value made only
// of ASCII letters, digits, '-' and '_' stands as it is; anything else (dots, '*', '>',
// spaces, control characters, non-ASCII, the empty string) becomes '=' followed by its
// unpadded base64url form. '=' is outside the plain alphabet, so the two forms never collide.
func Token(s string) string {
	if s != "" && plain(s) {
		return s
	}
	return "=" + base64.RawURLEncoding.EncodeToString([]byte(s))
}

// ParseToken reverses Token.
func ParseToken(tok string) (string, bool) {
	if enc, ok := strings.CutPrefix(tok, "="); ok {
		b, err := base64.RawURLEncoding.DecodeString(enc)
		return string(b), err == nil
	}
	return tok, tok != "" && plain(tok)
}

func plain(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// DeadLetterSubject is where a consumer sets aside a message it cannot process (a payload
// that does not decode, or breaks the contract), with the original subject, stream
// sequence and reason in headers Jobcenter-Subject, Jobcenter-Stream-Seq, Jobcenter-Reason.
func DeadLetterSubject(consumer string) string { return "jobcenter.dead." + Token(consumer) }

// DeadLetterSubjects is the wildcard of every consumer's dead letters.
const DeadLetterSubjects = "jobcenter.dead.>"
