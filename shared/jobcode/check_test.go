package jobcode_test

import (
	"errors"
	"testing"

	"github.com/jobcenter/jobcenter/shared/jobcode"
)

func TestCheckRefusesWhatWouldNotCompileWithItsLineAndColumn(t *testing.T) {
	for _, c := range []struct{ code, want string }{
		{"def (", "syntax error at line 1, column 6: not an identifier"},
		{"x = 1\nprint(y)", "syntax error at line 2, column 7: undefined: y"},
		{"x = 1\nif x\n    pass", "syntax error at line 2: got newline, want ':'"},
		{"s = '''a\nb'''\nx = (1 +\n", "syntax error at line 4, column 1: got end of file, want primary expression"},
	} {
		err := jobcode.Check(c.code)
		if !errors.Is(err, jobcode.ErrSyntax) || err.Error() != c.want {
			t.Errorf("Check(%q) = %v, want %q", c.code, err, c.want)
		}
	}
	for _, code := range []string{"", "pass", "global a\na = 1\nreturn a", "log_print('x')\nsdk_get_job('id')", "json.encode(math.floor(1.5))"} {
		if err := jobcode.Check(code); err != nil {
			t.Errorf("Check(%q) = %v, want nil", code, err)
		}
	}
}
