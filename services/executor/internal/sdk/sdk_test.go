package sdk

import "testing"

// Job code sees an api error once, with its field: never "seconds: seconds: …".
func TestAnAPIErrorNamesItsFieldOnce(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		body any
		want string
	}{
		{map[string]any{"error": map[string]any{"message": "seconds: must be greater than 0, got 0", "field": "seconds"}}, "seconds: must be greater than 0, got 0"},
		{map[string]any{"error": map[string]any{"message": "the X-Project-Id header is required", "field": "X-Project-Id"}}, "X-Project-Id: the X-Project-Id header is required"},
		{map[string]any{"error": map[string]any{"message": "job not found"}}, "job not found"},
		{[]any{1}, "[1]"},
	} {
		if got := apiMessage(tc.body); got != tc.want {
			t.Errorf("apiMessage(%v) = %q, want %q", tc.body, got, tc.want)
		}
	}
}
