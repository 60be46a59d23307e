package httpapi

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestStrictJSONRefusesKeysInAnotherCaseKeysGivenTwiceAndLoneSurrogates(t *testing.T) {
	body := reflect.TypeFor[*jobBody]()
	quartz := reflect.TypeFor[struct {
		XwQuartz *quartzRequest `json:"xw_quartz"`
	}]()
	for _, c := range []struct {
		name, data string
		t          reflect.Type
		field, msg string // "" and "": accepted
	}{
		{"a good body", `{"name":"a","description":"\ud83d\ude00 ok \\ud800 is text","seconds":5}`, body, "", ""},
		{"a key in capitals", `{"name":"a","NAME":"b"}`, body, "NAME", `unknown field "NAME": field names are case-sensitive (did you mean "name"?)`},
		{"a key in another case alone", `{"Name":"b"}`, body, "Name", `unknown field "Name": field names are case-sensitive (did you mean "name"?)`},
		{"a key twice", `{"name":"a","name":"b"}`, body, "name", `the key "name" is given twice in one object`},
		{"a nested key twice", `{"xw_quartz":{"opttype":"save","opttype":"delete"}}`, quartz, "opttype", `the key "opttype" is given twice in one object`},
		{"a nested key in capitals", `{"xw_quartz":{"OPTTYPE":"save"}}`, quartz, "OPTTYPE", `unknown field "OPTTYPE": field names are case-sensitive (did you mean "opttype"?)`},
		{"a lone high surrogate", `{"name":"a\ud800"}`, body, "", `the body holds an unpaired surrogate escape (\ud800 at byte 10): a string must be valid Unicode`},
		{"a lone low surrogate", `{"name":"\udc00x"}`, body, "", `the body holds an unpaired surrogate escape (\udc00 at byte 9): a string must be valid Unicode`},
		{"a high surrogate then a letter", `{"name":"\ud800\u0041"}`, body, "", `the body holds an unpaired surrogate escape (\ud800 at byte 9): a string must be valid Unicode`},
		{"not JSON: left to the decoder", `{"name": `, body, "", ""},
		{"nested too deep", `{"name":` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `}`, body, "", "the body nests deeper than 32 levels"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := strictJSON([]byte(c.data), c.t)
			if c.msg == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var ae *apiError
			if !errors.As(err, &ae) || ae.Status != 400 || ae.Field != c.field || ae.Message != c.msg {
				t.Fatalf("got %#v, want 400 on %q: %s", err, c.field, c.msg)
			}
		})
	}
}
