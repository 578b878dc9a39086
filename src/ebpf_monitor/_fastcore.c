/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * _fastcore: ring-buffer records to JSON documents in one C loop (issue 10, item 4).
 *
 * Python builds one document per record with a handful of struct.unpack calls, dict lookups and
 * f-strings: ~6-10 µs per event. Most of a document is text that Python has already made
 * before (the actor, the file, the event parts) and a few numbers copied from the record. This
 * file does only that copying: it knows no field name, record layout or JSON rule.
 *
 * What a document looks like stays in Python (fastpath.py): per record kind, a small "program"
 * of ops whose operands are byte offsets taken from the object's BTF, literal texts, and
 * "makers": Python functions that make a fragment (today's schema.py helpers) the first time a
 * key is seen. A fragment is keyed by the raw record bytes that determine it (e.g. the actor by
 * pid, tid, uids, start time and comm), and kept here in a small hash cache.
 *
 * A record is handed back to Python (the `fallback`, today's builder) when its kind has no
 * program, when its program says so (OP_FALLBACK, e.g. a socket read), when it is shorter than
 * its program reads, or when a maker declines or raises. The fallback's document takes the
 * record's place, so documents keep ring order. A fallback never sees half a document: the
 * record's output is discarded first.
 *
 *   core = Core(programs, lits, makers, slots, seconds, document)
 *     programs: dict kind -> bytes of int32 quads (op, a, b, c), see enum op
 *     lits:     list[bytes], literal texts (Python may replace an item between calls)
 *     makers:   list of callables (data, off, len) -> str | None (None: never render this key
 *               here, hand such records to Python)
 *     slots:    list[int], the hash cache size per maker (a power of two)
 *     seconds:  callable (unix_seconds) -> str, the date-time text of a second ("...T12:00:00.")
 *     document: the type of a document (document.Document, a tuple (id, day, json)): id is the
 *               text between OP_MARK 0 and OP_MARK 1, day the UTC day of OP_TS ("YYYY.MM.DD")
 *   core.render(data, spans, fallback, offset_ns) -> list[document]
 *     spans: list of (offset, length); fallback: (data, off, len) -> document | None
 *   core.clear(i)      forget cache i (-1: all), when what its maker returns has changed
 *   core.take_made()   {kind: documents rendered here} since the last call
 *   walk(data) -> ([(offset, length)], consumed)   the records of a ring copy (ringbuf.py)
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

enum op {
	/* Text */
	OP_LIT = 0,       /* lits[a] */
	OP_DEC = 1,       /* field (a, b): decimal */
	OP_HEX = 2,       /* field (a, b): lowercase hex */
	OP_TS = 3,        /* u64 ns at a, plus offset_ns: "<date-time of its second><9 digits>" */
	/* Fragments: build a key from record bytes, then look it up */
	OP_KEY = 4,       /* key += record bytes [a, a + b) */
	OP_KEY_PATH = 5,  /* key += record bytes [a, a + n), n = u16 at b; c = 1: the path must be
			   * absolute (non-empty, starting with '/'), else fall back */
	OP_KEY_NEG = 6,   /* key += one byte: field (a, b) < 0 */
	OP_FRAG = 7,      /* fragment of cache a for the key (made by makers[a] on a miss) */
	/* Control: "skip" jumps over the next (b >> 16) ops */
	OP_SKIP_NEG = 8,    /* skip if field (a, b) < 0 */
	OP_SKIP_NONNEG = 9, /* skip if field (a, b) >= 0 */
	OP_SKIP_NOBITS = 10, /* skip if (field (a, b) & c) == 0 */
	OP_SKIP_NE = 11,    /* skip if field (a, b) != c */
	OP_SKIP_EQ = 12,    /* skip if field (a, b) == c */
	OP_FALLBACK = 13,   /* hand this record to Python */
	OP_NEED = 14,       /* a record shorter than a bytes goes to Python (checked before the
			     * first op: the fixed part of its layout) */
	OP_KEY_EQ = 15,     /* key += one byte: field (a, b) == c */
	OP_MARK = 16,       /* a = 0: the document's id starts here; a = 1: it ends here */
	OP_COUNT
};

/* A field operand (a, b): offset a in the record; in b, the width in bytes (1, 2, 4, 8; bits
 * 0-7) and FIELD_SIGNED. Skip counts live in bits 16-31 of b. OP_KEY copies any width (1-255
 * bytes: comm, addresses); numbers are 1, 2, 4 or 8 bytes wide. */
#define FIELD_SIGNED 0x100
#define WIDTH(b) ((b) & 0xff)
#define SKIPS(b) ((uint32_t)(b) >> 16)

#define MAX_KIND 64   /* record kinds are small enum values */
#define MAX_CACHES 32
#define SEC_SLOTS 64  /* date-time texts by second (a batch spans a few) */

struct buf {
	char *p;
	size_t len, cap;
};

/* One slot of a fragment cache: direct-mapped (a colliding key replaces it; the maker, backed
 * by Python's own caches, makes it again cheaply). */
struct slot {
	uint64_t hash;
	struct buf key;
	PyObject *text; /* bytes (UTF-8), or Py_None: hand such records to Python; strong */
};

struct cache {
	struct slot *slots; /* allocated on first use */
	size_t mask;
};

struct program {
	int32_t *ops; /* quads */
	Py_ssize_t nops;
	Py_ssize_t need; /* the record must be at least this long for the fixed fields read */
};

typedef struct {
	PyObject_HEAD
	struct program progs[MAX_KIND];
	PyObject *lits;   /* list[bytes] */
	PyObject *makers; /* list of callables */
	PyObject *seconds;
	PyTypeObject *doc_type; /* strong */
	struct cache caches[MAX_CACHES];
	int ncaches;
	int64_t sec_key[SEC_SLOTS];
	PyObject *sec_text[SEC_SLOTS]; /* bytes; strong */
	PyObject *sec_day[SEC_SLOTS];  /* str "YYYY.MM.DD" of the same second; strong */
	PyObject *day;                 /* the current record's, borrowed from sec_day */
	size_t id_at, id_end;          /* the current record's id in out */
	uint64_t made[MAX_KIND];
	struct buf out, key;
} Core;

/* ---- small helpers ------------------------------------------------------------------------ */

static int grow(struct buf *b, size_t need)
{
	if (b->len + need <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : 4096;
	while (cap < b->len + need)
		cap *= 2;
	char *p = PyMem_Realloc(b->p, cap);
	if (!p) {
		PyErr_NoMemory();
		return -1;
	}
	b->p = p;
	b->cap = cap;
	return 0;
}

static inline int put(struct buf *b, const char *s, size_t n)
{
	if (grow(b, n))
		return -1;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	return 0;
}

/* v in base 10 or 16, zero-padded to `width` digits. */
static int put_u64(struct buf *b, uint64_t v, unsigned base, int width)
{
	char tmp[24];
	int i = sizeof(tmp);

	do {
		tmp[--i] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	while ((int)sizeof(tmp) - i < width)
		tmp[--i] = '0';
	return put(b, tmp + i, sizeof(tmp) - i);
}

/* A little-endian integer field (the BPF ABI's byte order on every host we run on). */
static inline int64_t field(const unsigned char *rec, int32_t off, int32_t spec)
{
	int width = WIDTH(spec);
	uint64_t v = 0;

	memcpy(&v, rec + off, width);
	if ((spec & FIELD_SIGNED) && width < 8 && (v >> (8 * width - 1)) & 1)
		v |= ~(uint64_t)0 << (8 * width);
	return (int64_t)v;
}

/* FNV-1a: short keys (a few dozen bytes, a path at most a few KiB). */
static uint64_t hash(const char *p, size_t n)
{
	uint64_t h = 1469598103934665603ULL;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)p[i]) * 1099511628211ULL;
	return h;
}

static void clear_cache(struct cache *c)
{
	if (!c->slots)
		return;
	for (size_t i = 0; i <= c->mask; i++) {
		Py_CLEAR(c->slots[i].text);
		c->slots[i].key.len = 0;
	}
}

/* ---- the fragment cache ------------------------------------------------------------------- */

/* The fragment of cache `i` for the key in core->key (borrowed; Py_None: decline), made by
 * makers[i] on a miss. NULL with no exception: the maker raised, Python decides. */
static PyObject *fragment(Core *core, int i, PyObject *data, Py_ssize_t off, Py_ssize_t len)
{
	struct cache *c = &core->caches[i];
	struct buf *key = &core->key;
	uint64_t h = hash(key->p, key->len);

	if (!c->slots) {
		c->slots = PyMem_Calloc(c->mask + 1, sizeof(struct slot));
		if (!c->slots) {
			PyErr_NoMemory();
			return NULL;
		}
	}
	struct slot *s = &c->slots[h & c->mask];
	if (s->text && s->hash == h && s->key.len == key->len &&
	    !memcmp(s->key.p, key->p, key->len))
		return s->text;

	PyObject *made = PyObject_CallFunction(PyList_GET_ITEM(core->makers, i), "Onn", data, off,
					       len);
	if (!made) {
		PyErr_Clear(); /* the builder in Python meets the same problem and reports it */
		return NULL;
	}
	PyObject *text = made;
	if (PyUnicode_Check(made)) {
		text = PyUnicode_AsUTF8String(made);
		Py_DECREF(made);
		if (!text) {
			PyErr_Clear();
			return NULL;
		}
	} else if (made != Py_None && !PyBytes_Check(made)) {
		Py_DECREF(made);
		return NULL;
	}
	s->key.len = 0;
	if (put(&s->key, key->p, key->len)) {
		Py_DECREF(text);
		return NULL;
	}
	s->hash = h;
	Py_XSETREF(s->text, text);
	return text;
}

/* The date-time text of a Unix second ("2026-11-30T04:19:06."), by seconds(); core->day set to
 * its UTC day as an index name wants it (the first ten characters, '-' as '.': Enricher.stamp). */
static PyObject *second_text(Core *core, int64_t sec)
{
	int i = (int)(sec % SEC_SLOTS);

	if (core->sec_text[i] && core->sec_key[i] == sec) {
		core->day = core->sec_day[i];
		return core->sec_text[i];
	}
	PyObject *t = PyObject_CallFunction(core->seconds, "L", (long long)sec);
	if (!t)
		return NULL;
	PyObject *b = PyUnicode_Check(t) ? PyUnicode_AsUTF8String(t) : NULL;
	Py_DECREF(t);
	if (!b) {
		if (!PyErr_Occurred())
			PyErr_SetString(PyExc_TypeError, "seconds() must return str");
		return NULL;
	}
	char day[10];
	if (PyBytes_GET_SIZE(b) < 10) {
		Py_DECREF(b);
		PyErr_SetString(PyExc_ValueError, "seconds() must return a date-time");
		return NULL;
	}
	for (int j = 0; j < 10; j++) {
		char ch = PyBytes_AS_STRING(b)[j];
		day[j] = ch == '-' ? '.' : ch;
	}
	PyObject *d = PyUnicode_DecodeUTF8(day, 10, "strict");
	if (!d) {
		Py_DECREF(b);
		return NULL;
	}
	Py_XSETREF(core->sec_text[i], b);
	Py_XSETREF(core->sec_day[i], d);
	core->sec_key[i] = sec;
	core->day = d;
	return b;
}

/* ---- one record ----------------------------------------------------------------------------- */

/* Run a program over one record into core->out; 1: rendered, 0: hand it to Python, -1: error
 * (an exception is set). */
static int run(Core *core, const struct program *pg, PyObject *data, const unsigned char *rec,
	       Py_ssize_t off, Py_ssize_t len, int64_t offset_ns)
{
	struct buf *out = &core->out, *key = &core->key;

	if (len < pg->need)
		return 0; /* shorter than its layout: Python reports it */
	key->len = 0;
	core->day = NULL;
	core->id_at = core->id_end = 0;
	for (Py_ssize_t k = 0; k < pg->nops; k++) {
		const int32_t *q = pg->ops + 4 * k;
		int32_t a = q[1], b = q[2], c = q[3];
		int rc = 0;

		switch (q[0]) {
		case OP_LIT: {
			PyObject *s = PyList_GET_ITEM(core->lits, a);
			if (!PyBytes_Check(s)) {
				PyErr_SetString(PyExc_TypeError, "lits must hold bytes");
				return -1;
			}
			rc = put(out, PyBytes_AS_STRING(s), PyBytes_GET_SIZE(s));
			break;
		}
		case OP_DEC: {
			int64_t v = field(rec, a, b);
			if (v < 0 && (b & FIELD_SIGNED))
				rc = put(out, "-", 1) || put_u64(out, (uint64_t)0 - (uint64_t)v, 10, 0);
			else
				rc = put_u64(out, (uint64_t)v, 10, 0);
			break;
		}
		case OP_HEX:
			rc = put_u64(out, (uint64_t)field(rec, a, b), 16, 0);
			break;
		case OP_TS: {
			int64_t ns, kt = field(rec, a, 8); /* a u64: "negative" is past INT64_MAX */
			if (kt < 0 || __builtin_add_overflow(kt, offset_ns, &ns) || ns < 1000000000)
				return 0; /* beyond int64 or not a wall-clock time: Python's rules */
			PyObject *t = second_text(core, ns / 1000000000);
			if (!t)
				return -1;
			rc = put(out, PyBytes_AS_STRING(t), PyBytes_GET_SIZE(t)) ||
			     put_u64(out, (uint64_t)(ns % 1000000000), 10, 9);
			break;
		}
		case OP_KEY:
			rc = put(key, (const char *)rec + a, WIDTH(b));
			break;
		case OP_KEY_PATH: {
			uint16_t n;
			memcpy(&n, rec + b, 2);
			if (a + (Py_ssize_t)n > len)
				return 0;
			if (c && (n == 0 || rec[a] != '/'))
				return 0;
			rc = put(key, (const char *)rec + a, n);
			break;
		}
		case OP_KEY_NEG: {
			char neg = field(rec, a, b | FIELD_SIGNED) < 0;
			rc = put(key, &neg, 1);
			break;
		}
		case OP_KEY_EQ: {
			char eq = field(rec, a, b) == (int64_t)c;
			rc = put(key, &eq, 1);
			break;
		}
		case OP_FRAG: {
			PyObject *t = fragment(core, a, data, off, len);
			key->len = 0;
			if (!t)
				return PyErr_Occurred() ? -1 : 0;
			if (t == Py_None)
				return 0;
			rc = put(out, PyBytes_AS_STRING(t), PyBytes_GET_SIZE(t));
			break;
		}
		case OP_SKIP_NEG:
			if (field(rec, a, b | FIELD_SIGNED) < 0)
				k += SKIPS(b);
			break;
		case OP_SKIP_NONNEG:
			if (field(rec, a, b | FIELD_SIGNED) >= 0)
				k += SKIPS(b);
			break;
		case OP_SKIP_NOBITS:
			if (!(field(rec, a, b) & (int64_t)c))
				k += SKIPS(b);
			break;
		case OP_SKIP_NE:
			if (field(rec, a, b) != (int64_t)c)
				k += SKIPS(b);
			break;
		case OP_SKIP_EQ:
			if (field(rec, a, b) == (int64_t)c)
				k += SKIPS(b);
			break;
		case OP_FALLBACK:
			return 0;
		case OP_NEED: /* done by the length test above */
			break;
		case OP_MARK:
			if (a)
				core->id_end = out->len;
			else
				core->id_at = out->len;
			break;
		}
		if (rc)
			return -1;
	}
	return 1;
}

/* ---- the Core type ------------------------------------------------------------------------ */

/* Check a program once, so that run() need not: operands in range, fields inside `need`. */
static int load_program(Core *core, long kind, PyObject *bytes)
{
	Py_ssize_t size = PyBytes_GET_SIZE(bytes);
	struct program *pg = &core->progs[kind];

	if (size % (4 * sizeof(int32_t))) {
		PyErr_Format(PyExc_ValueError, "program of kind %ld: not int32 quads", kind);
		return -1;
	}
	pg->nops = size / (4 * sizeof(int32_t));
	pg->ops = PyMem_Malloc(size ? size : 1);
	if (!pg->ops) {
		PyErr_NoMemory();
		return -1;
	}
	memcpy(pg->ops, PyBytes_AS_STRING(bytes), size);
	pg->need = 0;
	for (Py_ssize_t k = 0; k < pg->nops; k++) {
		int32_t op = pg->ops[4 * k], a = pg->ops[4 * k + 1], b = pg->ops[4 * k + 2];
		Py_ssize_t end = 0;
		int w = WIDTH(b), ok = a >= 0;

		switch (op) {
		case OP_LIT:
			ok = ok && a < PyList_GET_SIZE(core->lits);
			break;
		case OP_FRAG:
			ok = ok && a < core->ncaches;
			break;
		case OP_TS:
			end = (Py_ssize_t)a + 8;
			break;
		case OP_KEY_PATH:
			ok = ok && b >= 0;
			end = (Py_ssize_t)b + 2;
			break;
		case OP_FALLBACK:
			break;
		case OP_MARK:
			ok = ok && a <= 1;
			break;
		case OP_NEED:
			end = a;
			break;
		case OP_KEY: /* any width: comm, addresses */
			ok = ok && w >= 1;
			end = (Py_ssize_t)a + w;
			break;
		case OP_DEC: case OP_HEX: case OP_KEY_NEG: case OP_KEY_EQ: case OP_SKIP_NEG:
		case OP_SKIP_NONNEG: case OP_SKIP_NOBITS: case OP_SKIP_NE: case OP_SKIP_EQ:
			ok = ok && (w == 1 || w == 2 || w == 4 || w == 8);
			end = (Py_ssize_t)a + w;
			break;
		default:
			ok = 0;
		}
		if (!ok) {
			PyErr_Format(PyExc_ValueError, "program of kind %ld, op %zd: bad op or operand",
				     kind, k);
			return -1;
		}
		if (end > pg->need)
			pg->need = end;
	}
	return 0;
}

static int Core_init(Core *self, PyObject *args, PyObject *kwds)
{
	PyObject *programs, *lits, *makers, *slots, *seconds, *k, *v;
	PyTypeObject *doc_type;
	Py_ssize_t pos = 0;
	static char *names[] = {"programs", "lits", "makers", "slots", "seconds", "document", NULL};

	if (self->lits) {
		PyErr_SetString(PyExc_TypeError, "Core is initialised once");
		return -1;
	}
	if (!PyArg_ParseTupleAndKeywords(args, kwds, "O!O!O!O!OO!", names, &PyDict_Type,
					 &programs, &PyList_Type, &lits, &PyList_Type, &makers,
					 &PyList_Type, &slots, &seconds, &PyType_Type, &doc_type))
		return -1;
	if (!PyType_IsSubtype(doc_type, &PyTuple_Type) || doc_type->tp_itemsize != sizeof(PyObject *)) {
		PyErr_SetString(PyExc_TypeError, "document: a tuple type");
		return -1;
	}
	if (PyList_GET_SIZE(makers) > MAX_CACHES || PyList_GET_SIZE(slots) != PyList_GET_SIZE(makers)) {
		PyErr_SetString(PyExc_ValueError, "at most 32 makers, one slot count each");
		return -1;
	}
	self->lits = Py_NewRef(lits);
	self->makers = Py_NewRef(makers);
	self->seconds = Py_NewRef(seconds);
	self->doc_type = (PyTypeObject *)Py_NewRef((PyObject *)doc_type);
	self->ncaches = (int)PyList_GET_SIZE(makers);
	for (int i = 0; i < self->ncaches; i++) {
		long n = PyLong_AsLong(PyList_GET_ITEM(slots, i));
		if (n < 1 || n > (1 << 20) || (n & (n - 1))) {
			if (!PyErr_Occurred())
				PyErr_SetString(PyExc_ValueError, "slots: powers of two up to 2**20");
			return -1;
		}
		self->caches[i].mask = (size_t)n - 1;
	}
	while (PyDict_Next(programs, &pos, &k, &v)) {
		long kind = PyLong_AsLong(k);
		if (kind < 0 || kind >= MAX_KIND || !PyBytes_Check(v)) {
			if (!PyErr_Occurred())
				PyErr_SetString(PyExc_ValueError, "programs: kind 0..63 -> bytes");
			return -1;
		}
		if (load_program(self, kind, v))
			return -1;
	}
	return 0;
}

static void Core_dealloc(Core *self)
{
	for (int i = 0; i < MAX_CACHES; i++) {
		struct cache *c = &self->caches[i];
		if (c->slots) {
			clear_cache(c);
			for (size_t j = 0; j <= c->mask; j++)
				PyMem_Free(c->slots[j].key.p);
			PyMem_Free(c->slots);
		}
	}
	for (int i = 0; i < MAX_KIND; i++)
		PyMem_Free(self->progs[i].ops);
	for (int i = 0; i < SEC_SLOTS; i++) {
		Py_XDECREF(self->sec_text[i]);
		Py_XDECREF(self->sec_day[i]);
	}
	Py_XDECREF(self->doc_type);
	Py_XDECREF(self->lits);
	Py_XDECREF(self->makers);
	Py_XDECREF(self->seconds);
	PyMem_Free(self->out.p);
	PyMem_Free(self->key.p);
	Py_TYPE(self)->tp_free((PyObject *)self);
}

/* Append the fallback's document for one record (None: filtered, nothing to add). */
static int fall_back(PyObject *list, PyObject *fallback, PyObject *data, Py_ssize_t off,
		     Py_ssize_t len)
{
	PyObject *doc = PyObject_CallFunction(fallback, "Onn", data, off, len);
	if (!doc)
		return -1;
	int rc = doc == Py_None ? 0 : PyList_Append(list, doc);
	Py_DECREF(doc);
	return rc;
}

/* The document of the record just run: document(id, day, json), a tuple as tuple.__new__
 * makes it (NamedTuple's own __new__ only checks the count). */
static PyObject *make_doc(Core *self)
{
	const char *p = self->out.p;
	if (!self->day || self->id_end < self->id_at || self->id_end > self->out.len) {
		PyErr_SetString(PyExc_ValueError, "program without its timestamp or id marks");
		return NULL;
	}
	PyObject *json = PyUnicode_DecodeUTF8(p, self->out.len, "strict");
	if (!json)
		return NULL;
	PyObject *id = PyUnicode_DecodeUTF8(p + self->id_at, self->id_end - self->id_at, "strict");
	PyObject *doc = id ? self->doc_type->tp_alloc(self->doc_type, 3) : NULL;
	if (!doc) {
		Py_XDECREF(id);
		Py_DECREF(json);
		return NULL;
	}
	PyTuple_SET_ITEM(doc, 0, id);
	PyTuple_SET_ITEM(doc, 1, Py_NewRef(self->day));
	PyTuple_SET_ITEM(doc, 2, json);
	/* Three strings: no cycle can pass through it. Untracked, the collector never scans the
	 * hundreds of thousands of documents a drain holds (CPython untracks such tuples itself,
	 * but only once a collection has scanned them). */
	PyObject_GC_UnTrack(doc);
	return doc;
}

static PyObject *Core_render(Core *self, PyObject *args)
{
	PyObject *data, *spans, *fallback;
	long long offset_ns;

	if (!self->lits) {
		PyErr_SetString(PyExc_TypeError, "Core not initialised");
		return NULL;
	}
	if (!PyArg_ParseTuple(args, "O!O!OL", &PyBytes_Type, &data, &PyList_Type, &spans, &fallback,
			      &offset_ns))
		return NULL;
	const unsigned char *base = (const unsigned char *)PyBytes_AS_STRING(data);
	Py_ssize_t size = PyBytes_GET_SIZE(data), n = PyList_GET_SIZE(spans);
	PyObject *docs = PyList_New(0);
	if (!docs)
		return NULL;
	for (Py_ssize_t i = 0; i < n; i++) {
		PyObject *span = PyList_GET_ITEM(spans, i);
		if (!PyTuple_Check(span) || PyTuple_GET_SIZE(span) != 2) {
			PyErr_SetString(PyExc_TypeError, "spans: (offset, length) tuples");
			goto fail;
		}
		Py_ssize_t off = PyLong_AsSsize_t(PyTuple_GET_ITEM(span, 0));
		Py_ssize_t len = PyLong_AsSsize_t(PyTuple_GET_ITEM(span, 1));
		if (PyErr_Occurred())
			goto fail;
		if (off < 0 || len < 0 || off > size || len > size - off) {
			PyErr_Format(PyExc_ValueError, "span %zd outside the data", i);
			goto fail;
		}
		const unsigned char *rec = base + off;
		unsigned kind = len >= 2 ? (unsigned)(rec[0] | rec[1] << 8) : MAX_KIND;
		int rc = 0;
		if (kind < MAX_KIND && self->progs[kind].ops) {
			self->out.len = 0;
			rc = run(self, &self->progs[kind], data, rec, off, len, offset_ns);
			if (rc < 0)
				goto fail;
		}
		if (rc == 1) {
			PyObject *doc = make_doc(self);
			if (!doc) { /* a maker's text that is not UTF-8: Python decides */
				if (!PyErr_ExceptionMatches(PyExc_UnicodeDecodeError))
					goto fail;
				PyErr_Clear();
				rc = 0;
			} else {
				int bad = PyList_Append(docs, doc);
				Py_DECREF(doc);
				if (bad)
					goto fail;
				self->made[kind]++;
			}
		}
		if (rc == 0 && fall_back(docs, fallback, data, off, len))
			goto fail;
	}
	return docs;
fail:
	Py_DECREF(docs);
	return NULL;
}

static PyObject *Core_clear(Core *self, PyObject *arg)
{
	long i = PyLong_AsLong(arg);

	if (i == -1 && PyErr_Occurred())
		return NULL;
	if (i < -1 || i >= self->ncaches) {
		PyErr_SetString(PyExc_ValueError, "no such cache");
		return NULL;
	}
	for (int j = 0; j < self->ncaches; j++)
		if (i == -1 || i == j)
			clear_cache(&self->caches[j]);
	Py_RETURN_NONE;
}

static PyObject *Core_take_made(Core *self, PyObject *Py_UNUSED(ignored))
{
	PyObject *out = PyDict_New();

	if (!out)
		return NULL;
	for (int k = 0; k < MAX_KIND; k++) {
		if (!self->made[k])
			continue;
		PyObject *key = PyLong_FromLong(k);
		PyObject *val = PyLong_FromUnsignedLongLong(self->made[k]);
		int bad = !key || !val || PyDict_SetItem(out, key, val);
		Py_XDECREF(key);
		Py_XDECREF(val);
		if (bad) {
			Py_DECREF(out);
			return NULL;
		}
		self->made[k] = 0;
	}
	return out;
}

static PyMethodDef Core_methods[] = {
	{"render", (PyCFunction)Core_render, METH_VARARGS,
	 "render(data, spans, fallback, offset_ns) -> list[document]: one document per record, in order."},
	{"clear", (PyCFunction)Core_clear, METH_O, "clear(i): forget cache i (-1: every cache)."},
	{"take_made", (PyCFunction)Core_take_made, METH_NOARGS,
	 "take_made() -> {kind: documents rendered in C} since the last call."},
	{NULL, NULL, 0, NULL},
};

static PyTypeObject CoreType = {
	PyVarObject_HEAD_INIT(NULL, 0)
	.tp_name = "ebpf_monitor._fastcore.Core",
	.tp_basicsize = sizeof(Core),
	.tp_flags = Py_TPFLAGS_DEFAULT,
	.tp_doc = "Ring records to JSON documents by per-kind programs; see _fastcore.c.",
	.tp_new = PyType_GenericNew,
	.tp_init = (initproc)Core_init,
	.tp_dealloc = (destructor)Core_dealloc,
	.tp_methods = Core_methods,
};

/* ---- the ring walk ------------------------------------------------------------------------- */

/* Records in a copy of the ring's data (ringbuf.py's loop, for the same reason as render: one
 * Python iteration per record costs more than the record's whole document here). Each record
 * has an 8-byte header: u32 length with BUSY (bit 31) and DISCARD (bit 30), u32 page offset;
 * records are 8-byte aligned. Stops at a record still being written (BUSY) or one that does not
 * fit in the copy. Returns ([(offset, length) of each record's data], bytes consumed). */
#define RB_BUSY (1U << 31)
#define RB_DISCARD (1U << 30)
#define RB_HDR 8

static PyObject *walk(PyObject *Py_UNUSED(self), PyObject *arg)
{
	if (!PyBytes_Check(arg)) {
		PyErr_SetString(PyExc_TypeError, "walk(data: bytes)");
		return NULL;
	}
	const unsigned char *data = (const unsigned char *)PyBytes_AS_STRING(arg);
	Py_ssize_t avail = PyBytes_GET_SIZE(arg), pos = 0;
	PyObject *spans = PyList_New(0);

	if (!spans)
		return NULL;
	while (pos + RB_HDR <= avail) {
		uint32_t hdr;
		memcpy(&hdr, data + pos, 4);
		if (hdr & RB_BUSY)
			break; /* still being written: stop here, keep order */
		Py_ssize_t length = hdr & ~(RB_BUSY | RB_DISCARD);
		Py_ssize_t end = pos + ((length + RB_HDR + 7) & ~(Py_ssize_t)7);
		if (end > avail)
			break; /* only part of it is in this copy */
		if (!(hdr & RB_DISCARD)) {
			PyObject *span = Py_BuildValue("(nn)", pos + RB_HDR, length);
			if (!span || PyList_Append(spans, span)) {
				Py_XDECREF(span);
				Py_DECREF(spans);
				return NULL;
			}
			Py_DECREF(span);
		}
		pos = end;
	}
	return Py_BuildValue("(Nn)", spans, pos);
}

/* ---- the ring's positions ------------------------------------------------------------------ */

/* The kernel reads the consumer position with one 8-byte acquire load and publishes the
 * producer position with one release store; ours must be single 8-byte accesses too. Python's
 * struct.pack_into zeroes its target and then writes it byte by byte: a producer reserving in
 * between saw the consumer at 0 (a full ring) and dropped its record, the "drops while the ring
 * has room" of issue 10. Release also keeps our copy of the records ahead of handing their space
 * back (x86 orders that anyway; arm64 does not). */
static uint64_t *position(PyObject *arg, Py_buffer *view, int flags)
{
	if (PyObject_GetBuffer(arg, view, flags) < 0)
		return NULL;
	if (view->len < 8 || ((uintptr_t)view->buf & 7)) {
		PyBuffer_Release(view);
		PyErr_SetString(PyExc_ValueError, "a ring position is 8 aligned bytes");
		return NULL;
	}
	return (uint64_t *)view->buf;
}

static PyObject *load_position(PyObject *Py_UNUSED(self), PyObject *arg)
{
	Py_buffer view;
	uint64_t *pos = position(arg, &view, PyBUF_SIMPLE);

	if (!pos)
		return NULL;
	uint64_t value = __atomic_load_n(pos, __ATOMIC_ACQUIRE);
	PyBuffer_Release(&view);
	return PyLong_FromUnsignedLongLong(value);
}

static PyObject *store_position(PyObject *Py_UNUSED(self), PyObject *const *args,
				Py_ssize_t nargs)
{
	if (nargs != 2) {
		PyErr_SetString(PyExc_TypeError, "store_position(buffer, value)");
		return NULL;
	}
	unsigned long long value = PyLong_AsUnsignedLongLong(args[1]);
	if (value == (unsigned long long)-1 && PyErr_Occurred())
		return NULL;
	Py_buffer view;
	uint64_t *pos = position(args[0], &view, PyBUF_WRITABLE);
	if (!pos)
		return NULL;
	__atomic_store_n(pos, (uint64_t)value, __ATOMIC_RELEASE);
	PyBuffer_Release(&view);
	Py_RETURN_NONE;
}

/* How far the records from `cons` are committed, in the live ring (not a copy): a header read
 * (acquire) with BUSY clear means the kernel finished its data, which stays as it is until we
 * move the consumer past it. The reader copies only that far: a bulk copy of a region that still
 * holds a record being written can read that record's tail before its header (memcpy may load
 * a region's last bytes first), and then pair a committed header with data from before the
 * write. Stops at `limit` (a record that would end past it is left for the next read). */
static PyObject *committed(PyObject *Py_UNUSED(self), PyObject *const *args, Py_ssize_t nargs)
{
	if (nargs != 5) {
		PyErr_SetString(PyExc_TypeError, "committed(buffer, data_off, mask, cons, limit)");
		return NULL;
	}
	Py_ssize_t data_off = PyLong_AsSsize_t(args[1]);
	unsigned long long mask = PyLong_AsUnsignedLongLong(args[2]);
	unsigned long long cons = PyLong_AsUnsignedLongLong(args[3]);
	unsigned long long limit = PyLong_AsUnsignedLongLong(args[4]);
	if (PyErr_Occurred())
		return NULL;
	Py_buffer view;
	if (PyObject_GetBuffer(args[0], &view, PyBUF_SIMPLE) < 0)
		return NULL;
	if (data_off < 0 || (unsigned long long)(view.len - data_off) < mask + 1) {
		PyBuffer_Release(&view);
		PyErr_SetString(PyExc_ValueError, "the buffer does not hold the ring's data");
		return NULL;
	}
	const unsigned char *data = (const unsigned char *)view.buf + data_off;
	unsigned long long pos = cons;
	while (pos + RB_HDR <= limit) {
		uint32_t hdr = __atomic_load_n((const uint32_t *)(data + (pos & mask)),
					       __ATOMIC_ACQUIRE);
		if (hdr & RB_BUSY)
			break;
		unsigned long long end = pos + (((hdr & ~(RB_BUSY | RB_DISCARD)) + RB_HDR + 7) & ~7ULL);
		if (end > limit)
			break;
		pos = end;
	}
	PyBuffer_Release(&view);
	return PyLong_FromUnsignedLongLong(pos);
}

static PyMethodDef module_methods[] = {
	{"walk", walk, METH_O, "walk(data) -> ([(offset, length)], consumed): a ring copy's records."},
	{"committed", (PyCFunction)(void (*)(void))committed, METH_FASTCALL,
	 "committed(buffer, data_off, mask, cons, limit) -> end of the committed records."},
	{"load_position", load_position, METH_O,
	 "load_position(buffer) -> int: its first 8 bytes, one acquire load."},
	{"store_position", (PyCFunction)(void (*)(void))store_position, METH_FASTCALL,
	 "store_position(buffer, value): its first 8 bytes, one release store."},
	{NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
	.m_base = PyModuleDef_HEAD_INIT,
	.m_name = "_fastcore",
	.m_doc = "The per-event loop of the reader in C (see fastpath.py).",
	.m_size = -1,
	.m_methods = module_methods,
};

PyMODINIT_FUNC PyInit__fastcore(void)
{
	if (PyType_Ready(&CoreType) < 0)
		return NULL;
	PyObject *m = PyModule_Create(&module);
	if (!m)
		return NULL;
	if (PyModule_AddObjectRef(m, "Core", (PyObject *)&CoreType) < 0 ||
	    PyModule_AddIntConstant(m, "OP_COUNT", OP_COUNT) < 0) {
		Py_DECREF(m);
		return NULL;
	}
	return m;
}
