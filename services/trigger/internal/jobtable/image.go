package jobtable

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/jobcenter/jobcenter/contracts"
	"github.com/jobcenter/jobcenter/shared/calendar"
	"github.com/jobcenter/jobcenter/shared/job"
)

// An Image is what the scheduler held at one instant — every job's record, progress and
// next fire, and the values they share — so that a start can take it up again in a
// second or two instead of compiling every job read from the store. The loop only copies
// its pages and queue (a few milliseconds for a million jobs); the image is written out
// on the caller's goroutine.
//
// Written, it is records as the scheduler keeps them, so reading it back compiles
// nothing but the few shared plans:
//
//	magic | plans | tenants | texts | jobs
//
// each shared table a count, then for each number a byte saying whether it is used and
// if so its key; jobs a count, then for each its record, run number, last scheduled
// instant, a byte of flags (started, queued, spread) and, if queued, its next fire's
// time and, if spread, how many milliseconds after its instant that is.
type Image struct {
	pages                 [][]Entry
	used                  int32
	held                  int
	q                     []Slot // the queue, by slot
	plans, tenants, texts []string
	live                  [3][]bool // which numbers of each shared table are used
}

const imageMagic = "jobcenter scheduler image 1\n"

// Image flags.
const (
	imageStarted = 1 << iota
	imageQueued
	// imageSpread: the queued fire is spread after its instant (a jitter), by the
	// milliseconds that follow its time. Images cut before jitter never set it.
	imageSpread
)

// Limits that a damaged image cannot make the reader allocate beyond.
const (
	maxImageString = 1 << 20
	maxImageCount  = 1 << 31
)

// Snapshot copies the table; the records are immutable strings, shared, not copied. Its
// caller owns t (the scheduler's loop).
func Snapshot(t *Table, sh *Shared) *Image {
	im := &Image{used: t.used, held: t.Held(), pages: make([][]Entry, len(t.pages)), q: slices.Clone(t.q)}
	for i, p := range t.pages {
		im.pages[i] = slices.Clone(p)
	}
	sh.Lock()
	im.plans, im.live[0] = sh.Plans.image()
	im.tenants, im.live[1] = sh.Tenants.image()
	im.texts, im.live[2] = sh.Texts.image()
	sh.Unlock()
	return im
}

// image copies the keys and which numbers are in use. A count may include jobs not yet
// in the table (compiled, their change pending); the reader counts users afresh.
func (t *Interned[V]) image() ([]string, []bool) {
	live := make([]bool, len(t.keys))
	for i, n := range t.refs {
		live[i] = n > 0
	}
	return slices.Clone(t.keys), live
}

// Jobs is how many jobs the image holds.
func (im *Image) Jobs() int { return im.held }

// WriteTo writes the image out.
func (im *Image) WriteTo(w io.Writer) (int64, error) {
	// b is the buffer: written out each time it holds 64 KiB.
	cw := &countingWriter{w: w}
	var b []byte
	b = append(b, imageMagic...)
	for i, keys := range [3][]string{im.plans, im.tenants, im.texts} {
		b = binary.AppendUvarint(b, uint64(len(keys)))
		for n, k := range keys {
			if !im.live[i][n] {
				b = append(b, 0)
				continue
			}
			b = appendString(append(b, 1), k)
		}
	}
	b = binary.AppendUvarint(b, uint64(im.held))
	written := 0
	for e := range im.used {
		en := &im.pages[e>>pageBits][e&(1<<pageBits-1)]
		if en.Rec == "" {
			continue
		}
		written++
		b = appendString(b, en.Rec)
		b = binary.AppendVarint(binary.AppendVarint(b, en.Seq), en.Last)
		var flags byte
		if en.Started {
			flags |= imageStarted
		}
		var sl Slot
		if en.Pos >= 0 {
			sl = im.q[en.Pos]
			flags |= imageQueued
			if sl.Spread != 0 {
				flags |= imageSpread
			}
		}
		b = append(b, flags)
		if en.Pos >= 0 {
			b = binary.AppendVarint(b, sl.At)
		}
		if sl.Spread != 0 {
			b = binary.AppendUvarint(b, uint64(sl.Spread))
		}
		if len(b) >= 64<<10 {
			if _, err := cw.Write(b); err != nil {
				return cw.n, err
			}
			b = b[:0]
		}
	}
	if written != im.held {
		return cw.n, fmt.Errorf("scheduler image: %d jobs in the table, %d in its index", written, im.held)
	}
	_, err := cw.Write(b)
	return cw.n, err
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// Import takes up an image written by Image.WriteTo into an empty table and its shared
// values, its ids hashed with seed. A damaged image is an error, and leaves them empty.
func Import(r io.Reader, seed maphash.Seed, t *Table, sh *Shared) (jobs int, err error) {
	if t.used != 0 {
		return 0, errors.New("scheduler image: the scheduler holds jobs already")
	}
	defer func() {
		if err != nil {
			*t = Table{}
			sh.Plans, sh.Tenants, sh.Texts = Interned[*Plan]{}, Interned[string]{}, Interned[string]{}
		}
	}()
	ir := &imageReader{r: bufio.NewReaderSize(r, 128<<10)}
	magic := make([]byte, len(imageMagic))
	if _, err := io.ReadFull(ir.r, magic); err != nil || string(magic) != imageMagic {
		return 0, errors.New("scheduler image: not an image of this version")
	}
	var keys [3][]string
	var live [3][]bool
	for i := range keys {
		// Grown as read, not made at the count's size: a damaged count must not allocate.
		for range ir.count() {
			if ir.err != nil {
				break
			}
			used := ir.byte() == 1
			k := ""
			if used {
				k = ir.string()
			}
			keys[i], live[i] = append(keys[i], k), append(live[i], used)
		}
	}
	n := ir.count()
	if ir.err != nil {
		return 0, ir.err
	}
	refs := [3][]int32{make([]int32, len(keys[0])), make([]int32, len(keys[1])), make([]int32, len(keys[2]))}
	use := func(table int, id uint32) error {
		if int(id) >= len(keys[table]) || !live[table][id] {
			return fmt.Errorf("scheduler image: a record refers to shared value %d of table %d, which it does not hold", id, table)
		}
		refs[table][id]++
		return nil
	}
	for range n {
		rec := ir.string()
		seq, last, flags := ir.varint(), ir.varint(), ir.byte()
		var next int64
		var spread uint64
		if flags&imageQueued != 0 {
			next = ir.varint()
		}
		if flags&imageSpread != 0 {
			if spread = ir.uvarint(); flags&imageQueued == 0 || spread > math.MaxUint32 {
				return 0, errors.New("scheduler image: a fire's spread is damaged")
			}
		}
		if ir.err != nil {
			return 0, ir.err
		}
		h, idLen, err := checkRecord(rec)
		if err != nil {
			return 0, err
		}
		for _, u := range []struct {
			table int
			id    uint32
			used  bool
		}{{0, h.Plan, true}, {1, h.Tenant, true}, {2, h.Code, TextCode(h.Target)}, {2, h.Flow, h.Target&HasFlow != 0}} {
			if u.used {
				if err := use(u.table, u.id); err != nil {
					return 0, err
				}
			}
		}
		id := rec[:idLen]
		hash := maphash.String(seed, id)
		if t.Find(id, hash) >= 0 {
			return 0, errors.New("scheduler image: a job appears twice")
		}
		e := t.Add(hash)
		en := t.Entry(e)
		en.Rec, en.Seq, en.Last, en.Started = rec, seq, last, flags&imageStarted != 0
		if flags&imageQueued != 0 {
			t.ScheduleSpread(e, next, uint32(spread))
		}
	}
	if _, err := ir.r.ReadByte(); err != io.EOF {
		return 0, errors.New("scheduler image: bytes after its last job")
	}
	plans := make([]*Plan, len(keys[0]))
	for id, k := range keys[0] {
		if refs[0][id] == 0 {
			continue
		}
		p, err := planFromKey(k)
		if err != nil {
			return 0, err
		}
		p.Exclude = calendar.Exclude(sh.Calendars, p.Calendars)
		plans[id] = p
	}
	sh.Lock()
	defer sh.Unlock()
	restore(&sh.Plans, keys[0], plans, refs[0])
	restore(&sh.Tenants, keys[1], keys[1], refs[1])
	restore(&sh.Texts, keys[2], keys[2], refs[2])
	return int(n), nil
}

// restore makes t hold keys and vals under their numbers, with refs users each; a number
// no job uses is free.
func restore[V any](t *Interned[V], keys []string, vals []V, refs []int32) {
	*t = Interned[V]{ids: make(map[string]uint32, len(keys)), keys: keys, vals: vals, refs: refs}
	var zero V
	for id, k := range keys {
		if refs[id] == 0 {
			t.keys[id], t.vals[id] = "", zero
			t.free = append(t.free, uint32(id))
			continue
		}
		t.ids[k] = uint32(id)
	}
}

// CheckRecord reports whether rec reads as a record, as Import checks each.
func CheckRecord(rec string) error { _, _, err := checkRecord(rec); return err }

// checkRecord walks a record from an image field by field, every length checked against
// what is left of it, so that a damaged one is an error here: not a panic in the loop,
// nor a length read as gigabytes and allocated. It returns its head and its id's length.
func checkRecord(rec string) (h Head, idLen int, err error) {
	c := checker{s: rec}
	c.compact()
	idLen = c.i
	c.uvarint() // plan
	c.uvarint() // tenant
	c.uvarint() // version
	c.uvarint() // x
	c.uvarint() // y
	target := c.byte()
	if TextCode(target) {
		c.uvarint()
	}
	if target&HasFlow != 0 {
		c.uvarint()
	}
	if target&HasBiz != 0 {
		c.bytes(c.uvarint())
	}
	c.compact() // key
	c.bytes(c.uvarint())
	if c.bad || c.i != len(rec) || target >= HasHTTP<<1 || target&HasCode != 0 && target&HasHTTP != 0 {
		return h, 0, errors.New("scheduler image: a record is damaged")
	}
	_, h = ReadHead(rec)
	return h, idLen, nil
}

// checker walks a record as reader does, noting a read past its end instead of panicking.
type checker struct {
	s   string
	i   int
	bad bool
}

func (c *checker) byte() byte {
	if c.i >= len(c.s) {
		c.bad = true
		return 0
	}
	c.i++
	return c.s[c.i-1]
}

func (c *checker) uvarint() uint64 {
	var v uint64
	for shift := 0; shift < 64; shift += 7 {
		b := c.byte()
		if c.bad {
			return 0
		}
		v |= uint64(b&0x7f) << shift
		if b < 0x80 {
			return v
		}
	}
	c.bad = true
	return 0
}

func (c *checker) bytes(n uint64) {
	if c.bad || n > uint64(len(c.s)-c.i) {
		c.bad = true
		return
	}
	c.i += int(n)
}

func (c *checker) compact() {
	switch c.byte() {
	case uuidForm:
		c.bytes(16)
	case hexForm, rawForm:
		c.bytes(c.uvarint())
	default:
		c.bad = true
	}
}

// planFromKey compiles the plan appendPlanKey wrote the key of.
func planFromKey(key string) (p *Plan, err error) {
	defer func() {
		if recover() != nil {
			p, err = nil, errors.New("scheduler image: a plan is damaged")
		}
	}()
	r := Reader{s: key}
	var j job.Job
	tr, pol := &j.Spec.Trigger, &j.Spec.Policy
	tr.Kind, tr.Cron, tr.Zone = job.Kind(r.Str()), r.Str(), r.Str()
	pol.Coalesce = r.s[r.i] == 1
	r.i++
	pol.MisfireGrace, pol.MaxInstances = time.Duration(r.varint()), int(r.varint())
	pol.Retries, pol.RetryBackoff = int(r.varint()), time.Duration(r.varint())
	if r.i < len(key) {
		pol.Timeout = time.Duration(r.varint())
	}
	if r.i < len(key) {
		pol.PauseAfterFailures = int(r.varint())
		pol.OnSuccess, pol.OnFailure = ids(r.Str()), ids(r.Str())
	}
	if r.i < len(key) {
		tr.Start, tr.End = Instant(r.varint()), Instant(r.varint())
	}
	if r.i < len(key) {
		if tr.Jitter = time.Duration(r.varint()); tr.Jitter < 0 || tr.Jitter > job.MaxJitter {
			return nil, errors.New("scheduler image: a plan's jitter is damaged")
		}
	}
	if r.i < len(key) {
		pol.Overlap = job.Overlap(r.Str())
	}
	if r.i < len(key) {
		tr.FixedDelay = r.s[r.i] == 1
		r.i++
	}
	if r.i < len(key) {
		tenant, ok := contracts.ParseToken(r.Str())
		if !ok {
			return nil, errors.New("scheduler image: a plan's tenant is damaged")
		}
		j.Tenant, tr.Calendars = tenant, ids(r.Str())
	}
	if r.i < len(key) {
		pol.Group, pol.Route = r.Str(), job.Route(r.Str())
	}
	if r.i != len(key) || string(AppendPlanKey(nil, &j)) != key {
		return nil, errors.New("scheduler image: a plan is damaged")
	}
	return NewPlan(&j), nil
}

// ids splits a chain's ids as AppendPlanKey joined them.
func ids(joined string) []string {
	if joined == "" {
		return nil
	}
	return strings.Split(joined, ",")
}

// imageReader reads an image's fields, keeping the first error.
type imageReader struct {
	r   *bufio.Reader
	buf []byte
	err error
}

func (ir *imageReader) fail(err error) {
	if ir.err == nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		ir.err = fmt.Errorf("scheduler image: %w", err)
	}
}

func (ir *imageReader) byte() byte {
	if ir.err != nil {
		return 0
	}
	c, err := ir.r.ReadByte()
	if err != nil {
		ir.fail(err)
	}
	return c
}

func (ir *imageReader) uvarint() uint64 {
	if ir.err != nil {
		return 0
	}
	v, err := binary.ReadUvarint(ir.r)
	if err != nil {
		ir.fail(err)
	}
	return v
}

func (ir *imageReader) varint() int64 {
	if ir.err != nil {
		return 0
	}
	v, err := binary.ReadVarint(ir.r)
	if err != nil {
		ir.fail(err)
	}
	return v
}

func (ir *imageReader) count() int {
	n := ir.uvarint()
	if n > maxImageCount {
		ir.fail(fmt.Errorf("a count of %d", n))
		return 0
	}
	return int(n)
}

func (ir *imageReader) string() string {
	n := ir.uvarint()
	if n > maxImageString {
		ir.fail(fmt.Errorf("a string of %d bytes", n))
	}
	if ir.err != nil {
		return ""
	}
	if cap(ir.buf) < int(n) {
		ir.buf = make([]byte, n)
	}
	b := ir.buf[:n]
	if _, err := io.ReadFull(ir.r, b); err != nil {
		ir.fail(err)
		return ""
	}
	return string(b)
}
