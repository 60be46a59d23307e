package job

import (
	"bytes"
	"encoding/json"
)

// MaxParams bounds the parameters a run is started with (exec with a body), as compact
// JSON: they travel in the fire message and are kept with the journal entry.
const MaxParams = 8 << 10

// Params checks the parameters of a run now: a JSON object, at most MaxParams bytes once
// compacted, which it returns ("" for none: absent, null or {}). Errors name the field
// "params".
func Params(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	if raw[0] != '{' {
		return "", invalid("params", "must be a JSON object of names to values, got %s", Clip(string(raw), 40))
	}
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return "", invalid("params", "is not valid JSON: %v", err)
	}
	if b.Len() > MaxParams {
		return "", invalid("params", "is %d bytes of JSON, at most %d", b.Len(), MaxParams)
	}
	if b.String() == "{}" {
		return "", nil
	}
	return b.String(), nil
}
