package httpapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
)

// strictJSON refuses what encoding/json lets through but a request must not say: a key
// that matches a field only when case is ignored ("NAME" for name), a key given twice in
// one object (which value counts would be a guess), and a \u escape of half a surrogate
// pair (stored as U+FFFD, so not what was sent). t is the type the body decodes into. A
// body that is not JSON at all is left to the decoder, which says where it breaks.
func strictJSON(data []byte, t reflect.Type) error {
	if off, ok := loneSurrogate(data); ok {
		return badRequest("", fmt.Sprintf("the body holds an unpaired surrogate escape (\\u%s at byte %d): a string must be valid Unicode", data[off+2:off+6], off))
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	err := walk(dec, t, 0)
	if _, syntax := err.(jsonShape); syntax {
		return nil
	}
	return err
}

// jsonShape marks a body walk cannot read: the decoder reports it better.
type jsonShape struct{ error }

// maxDepth bounds how deep walk goes: no request body nests deeper, and a hostile one
// must not grow the stack.
const maxDepth = 32

// walk reads one JSON value from dec, checking its objects' keys against t (nil: any).
func walk(dec *json.Decoder, t reflect.Type, depth int) error {
	if depth > maxDepth {
		return badRequest("", fmt.Sprintf("the body nests deeper than %d levels", maxDepth))
	}
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	tok, err := dec.Token()
	if err != nil {
		return jsonShape{err}
	}
	switch tok {
	case json.Delim('{'):
		return walkObject(dec, t, depth)
	case json.Delim('['):
		var elem reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			elem = t.Elem()
		}
		for dec.More() {
			if err := walk(dec, elem, depth+1); err != nil {
				return err
			}
		}
		if _, err := dec.Token(); err != nil {
			return jsonShape{err}
		}
	}
	return nil
}

func walkObject(dec *json.Decoder, t reflect.Type, depth int) error {
	fields := map[string]reflect.Type{} // by exact JSON name, for a struct
	if t != nil && t.Kind() == reflect.Struct && t != reflect.TypeFor[json.RawMessage]() {
		for i := range t.NumField() {
			f := t.Field(i)
			if name, _, _ := strings.Cut(f.Tag.Get("json"), ","); name != "" && name != "-" {
				fields[name] = f.Type
			}
		}
	}
	var elem reflect.Type
	if t != nil && t.Kind() == reflect.Map {
		elem = t.Elem()
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return jsonShape{err}
		}
		key, _ := tok.(string)
		if seen[key] {
			return badRequest(key, fmt.Sprintf("the key %q is given twice in one object", key))
		}
		seen[key] = true
		next := elem
		if len(fields) > 0 {
			ft, ok := fields[key]
			if !ok {
				for name := range fields {
					if strings.EqualFold(name, key) {
						return badRequest(key, fmt.Sprintf("unknown field %q: field names are case-sensitive (did you mean %q?)", key, name))
					}
				}
			}
			next = ft
		}
		if err := walk(dec, next, depth+1); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil {
		return jsonShape{err}
	}
	return nil
}

// loneSurrogate finds a \u escape of a surrogate that is not one half of a pair, in a
// string of data, and returns its offset.
func loneSurrogate(data []byte) (int, bool) {
	in := false
	for i := 0; i < len(data); i++ {
		switch c := data[i]; {
		case c == '"':
			in = !in
		case in && c == '\\' && i+1 < len(data):
			if data[i+1] != 'u' {
				i++ // an escaped character: a quote or backslash does not count
				continue
			}
			r, ok := hex4(data, i+2)
			if !ok {
				continue // not an escape the decoder takes: it says so
			}
			switch {
			case r >= 0xD800 && r <= 0xDBFF:
				if lo, ok := hex4(data, i+8); !ok || i+7 >= len(data) || data[i+6] != '\\' || data[i+7] != 'u' || lo < 0xDC00 || lo > 0xDFFF {
					return i, true
				}
				i += 11 // the pair
			case r >= 0xDC00 && r <= 0xDFFF:
				return i, true
			default:
				i += 5
			}
		}
	}
	return 0, false
}

// hex4 reads the four hex digits at data[at:], if there are.
func hex4(data []byte, at int) (rune, bool) {
	if at+4 > len(data) {
		return 0, false
	}
	n, err := strconv.ParseUint(string(data[at:at+4]), 16, 32)
	return rune(n), err == nil
}
