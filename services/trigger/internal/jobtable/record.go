package jobtable

import (
	"encoding/binary"
	"strings"

	"github.com/jobcenter/jobcenter/shared/job"
)

// A record is what the scheduler keeps of a held job besides its progress — its ids,
// name, target, version and its trigger's own numbers — packed into one string: one
// allocation with no pointer for the garbage collector to follow, instead of a job.Job
// (416 bytes and a dozen strings). Ids and keys, UUIDs or hex in practice, are kept in
// binary; what many jobs share (tenant, plan, snippet) is kept once, in the intern
// tables, and referred to by number. The layout, each field self-delimiting:
//
//	id, compact | plan | tenant | version | x | y | target | key, compact | name
//
// x and y are the trigger's own numbers: an interval's start and period, a date's
// instant. The target is a byte saying which fields are set, then each: a snippet, an
// HTTP call (its JSON, in the snippet's place) or a flow id by number, a behaviour code
// (one schedule per behaviour: seldom shared) as it is. The id comes first so that finding a job compares a prefix.

// Target fields a record holds.
const (
	HasCode = 1 << iota
	HasFlow
	HasBiz
	// HasHTTP: the text numbered Code is an HTTP call's JSON, not a snippet.
	HasHTTP
)

// TextCode reports whether a record's Code refers to a text: a snippet or an HTTP call.
func TextCode(target byte) bool { return target&(HasCode|HasHTTP) != 0 }

// Refs are the interned values a record refers to.
type Refs struct {
	Plan, Tenant, Code, Flow uint32
	Target                   byte
}

// Pack writes j's record, using buf for scratch, and returns it and its id field.
func Pack(buf []byte, j *job.Job, r Refs) (rec, id string) {
	b := AppendCompact(buf[:0], j.ID)
	n := len(b)
	b = binary.AppendUvarint(b, uint64(r.Plan))
	b = binary.AppendUvarint(b, uint64(r.Tenant))
	b = binary.AppendVarint(b, j.Version)
	var x, y int64
	switch tr := j.Spec.Trigger; tr.Kind {
	case job.Interval:
		x, y = Nanos(j.StartedAt), int64(tr.Every)
	case job.Date:
		x = Nanos(tr.RunAt)
	}
	b = binary.AppendVarint(binary.AppendVarint(b, x), y)
	b = append(b, r.Target)
	if TextCode(r.Target) {
		b = binary.AppendUvarint(b, uint64(r.Code))
	}
	if r.Target&HasFlow != 0 {
		b = binary.AppendUvarint(b, uint64(r.Flow))
	}
	if r.Target&HasBiz != 0 {
		b = appendString(b, j.Spec.Target.BizCode)
	}
	b = AppendCompact(b, j.Key)
	rec = string(appendString(b, j.Spec.Name))
	return rec, rec[:n]
}

// Head is a record read up to its key.
type Head struct {
	Refs
	Version int64
	X, Y    int64
	Biz     string
}

// ReadHead reads rec's head, leaving r at its key.
func ReadHead(rec string) (r Reader, h Head) {
	r.s = rec
	r.skipCompact()
	h.Plan, h.Tenant = uint32(r.uvarint()), uint32(r.uvarint())
	h.Version, h.X, h.Y = r.varint(), r.varint(), r.varint()
	h.Target = r.s[r.i]
	r.i++
	if TextCode(h.Target) {
		h.Code = uint32(r.uvarint())
	}
	if h.Target&HasFlow != 0 {
		h.Flow = uint32(r.uvarint())
	}
	if h.Target&HasBiz != 0 {
		h.Biz = r.Str()
	}
	return r, h
}

// Forms of a compact string.
const (
	rawForm  = iota // length, then the bytes
	uuidForm        // a lowercase canonical UUID: its 16 bytes
	hexForm         // lowercase hex of even length: length, then the bytes it spells
)

// AppendCompact appends s in its shortest form. The form depends on s alone, so equal
// strings have equal encodings.
func AppendCompact(b []byte, s string) []byte {
	n := len(b)
	if len(s) == 36 && s[8] == '-' && s[13] == '-' && s[18] == '-' && s[23] == '-' {
		b = append(b, uuidForm)
		var bad byte
		for _, i := range uuidPairs {
			hi, lo := hexValue[s[i]], hexValue[s[i+1]]
			bad |= hi | lo
			b = append(b, hi<<4|lo)
		}
		if bad < 16 {
			return b
		}
		b = b[:n]
	}
	if len(s) > 0 && len(s)%2 == 0 {
		b = binary.AppendUvarint(append(b, hexForm), uint64(len(s)/2))
		var bad byte
		for i := 0; i+1 < len(s); i += 2 {
			hi, lo := hexValue[s[i]], hexValue[s[i+1]]
			bad |= hi | lo
			b = append(b, hi<<4|lo)
		}
		if bad < 16 {
			return b
		}
		b = b[:n]
	}
	return appendString(append(b, rawForm), s)
}

func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

// uuidPairs are where a canonical UUID's 16 bytes are written.
var uuidPairs = [16]uint8{0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34}

// hexValue is the value of each lowercase hex digit and 0xff for any other byte:
// uppercase would not come back the same.
var hexValue = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	for i, c := range hexDigits {
		t[c] = byte(i)
	}
	return t
}()

const hexDigits = "0123456789abcdef"

// Reader reads a record field by field. The records are the scheduler's own, so a
// malformed one is a bug: reads past the end panic.
type Reader struct {
	s string
	i int
}

func (r *Reader) uvarint() uint64 {
	var v uint64
	for shift := 0; ; shift += 7 {
		c := r.s[r.i]
		r.i++
		v |= uint64(c&0x7f) << shift
		if c < 0x80 {
			return v
		}
	}
}

func (r *Reader) varint() int64 {
	u := r.uvarint()
	if u&1 != 0 {
		return ^int64(u >> 1)
	}
	return int64(u >> 1)
}

// Str returns a length-prefixed string, sharing the record's memory.
func (r *Reader) Str() string {
	n := int(r.uvarint())
	r.i += n
	return r.s[r.i-n : r.i]
}

// ID reads the record's id, its first field, whatever was read before.
func (r *Reader) ID() string {
	r.i = 0
	return r.Compact()
}

// Compact decodes a compact string; only the binary forms allocate.
func (r *Reader) Compact() string {
	form := r.s[r.i]
	r.i++
	switch form {
	case uuidForm:
		var b [36]byte
		j := 0
		for k := range 16 {
			if k == 4 || k == 6 || k == 8 || k == 10 {
				b[j] = '-'
				j++
			}
			c := r.s[r.i+k]
			b[j], b[j+1] = hexDigits[c>>4], hexDigits[c&15]
			j += 2
		}
		r.i += 16
		return string(b[:])
	case hexForm:
		n := int(r.uvarint())
		var b strings.Builder
		b.Grow(2 * n)
		for k := range n {
			c := r.s[r.i+k]
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&15])
		}
		r.i += n
		return b.String()
	}
	return r.Str()
}

// skipCompact passes over a compact string.
func (r *Reader) skipCompact() {
	form := r.s[r.i]
	r.i++
	if form == uuidForm {
		r.i += 16
		return
	}
	r.i += int(r.uvarint())
}

// hasID reports whether rec is the record of the job whose compact id is id: the
// encodings delimit themselves, so a prefix is the whole field.
func hasID(rec, id string) bool { return strings.HasPrefix(rec, id) }
