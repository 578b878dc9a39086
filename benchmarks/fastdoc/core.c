/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Ring bytes to JSON lines in one pass (issue 10, item 4, design c). The documents' shape stays
 * in Python: per record kind, Python writes a small program of ops with field offsets taken
 * from BTF, and gives the caches of ready-made fragments (actor, file, event parts...) as dicts
 * from raw record bytes to text, with a Python function per cache that makes a missing entry
 * (today's helpers). A record without a program, or one its program's guard rejects, is handed
 * to a Python fallback (today's builder) in place, so the order of lines is the order of
 * records. This file knows no field name, layout or JSON rule.
 *
 *   render(data, spans, programs, lits, caches, makers, fallback, offset_ns) -> bytes
 *     spans: int64 buffer of (offset, length) pairs; programs: dict kind -> bytes of int32
 *     (op, a, b, c) quads; lits: list[bytes]; caches: list[dict[bytes, bytes]];
 *     makers: list of callables (data, offset, length) -> str; fallback: (offset, length) ->
 *     str | None. Lines end with '\n'.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

enum op {
	OP_LIT = 0,          /* lits[a] */
	OP_DEC = 1,          /* field at a, width b (|0x100: signed): decimal */
	OP_HEX = 2,          /* field at a, width b: lowercase hex */
	OP_TS = 3,           /* field at a (u64 ktime ns) + offset_ns: text of its second (makers[c],
	                      * cached per second), then nine digits of nanoseconds */
	OP_KEY = 4,          /* key += record bytes [a, a + b) */
	OP_KEY_TAIL = 5,     /* key += record bytes [a, a + u16 at b) */
	OP_KEY_NEG = 6,      /* key += one byte: field at a, width b, signed, < 0 */
	OP_FRAG = 7,         /* caches[a][key], made by makers[a] on a miss; key reset */
	OP_SKIP_NEG = 8,     /* field at a, width b, signed: if < 0 skip c ops */
	OP_SKIP_NONNEG = 9,  /* ... if >= 0 skip c ops */
	OP_SKIP_NOBITS = 10, /* field at a, width b & 0xff: if (v & c) == 0 skip b >> 16 ops */
	OP_GUARD_BYTE = 11,  /* byte at a must equal b (and the record reach it), else fallback */
};

struct buf {
	char *p;
	size_t len, cap;
};

/* Date-time text by Unix second, direct-mapped: records of one batch span a few seconds, but
 * need not come in time order. */
#define SEC_SLOTS 64
struct sec_text {
	int64_t sec;
	PyObject *text; /* strong */
};

/* The last key and fragment per cache: neighbouring records mostly share their actor, file,
 * flags..., so most lookups end here without building a key object. Reset whenever Python runs
 * (a fallback may change what a cache holds). */
#define MAX_CACHES 16
struct memo {
	struct buf key;
	PyObject *text; /* strong */
};

static void forget(struct memo *m)
{
	for (int i = 0; i < MAX_CACHES; i++) {
		Py_CLEAR(m[i].text);
		m[i].key.len = 0;
	}
}

static int grow(struct buf *b, size_t need)
{
	if (b->len + need <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : 1 << 16;
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

static int put_u64(struct buf *b, uint64_t v, int base, int width)
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

static int64_t field(const unsigned char *rec, int32_t off, int32_t spec)
{
	int width = spec & 0xff, sign = spec & 0x100;
	uint64_t v = 0;

	memcpy(&v, rec + off, width); /* little-endian host (the BPF ABI's byte order) */
	if (sign && width < 8 && (v >> (8 * width - 1)) & 1)
		v |= ~(uint64_t)0 << (8 * width);
	return (int64_t)v;
}

static int put_text(struct buf *b, PyObject *s)
{
	if (PyBytes_Check(s))
		return put(b, PyBytes_AS_STRING(s), PyBytes_GET_SIZE(s));
	Py_ssize_t n;
	const char *u = PyUnicode_AsUTF8AndSize(s, &n);
	return u ? put(b, u, n) : -1;
}

/* Run one program over one record; 1: handled, 0: fall back, -1: error. */
static int run(const int32_t *ops, Py_ssize_t nops, const unsigned char *rec, Py_ssize_t off,
	       Py_ssize_t len, PyObject *data, struct buf *out, struct buf *key, PyObject *lits,
	       PyObject *caches, PyObject *makers, int64_t offset_ns, struct sec_text *secs,
	       struct memo *memo)
{
	for (Py_ssize_t k = 0; k < nops; k++) {
		int32_t op = ops[4 * k], a = ops[4 * k + 1], b = ops[4 * k + 2], c = ops[4 * k + 3];
		int rc = 0;

		if ((op == OP_LIT && (a < 0 || a >= PyList_GET_SIZE(lits))) ||
		    (op == OP_FRAG && (a < 0 || a >= PyList_GET_SIZE(caches))) ||
		    (op == OP_TS && (c < 0 || c >= PyList_GET_SIZE(makers))) || a < 0 ||
		    (op == OP_KEY && (b < 0 || b > 255)) || (op == OP_KEY_TAIL && b < 0)) {
			PyErr_Format(PyExc_ValueError, "op %zd: operand out of range", k);
			return -1;
		}
		if (op != OP_LIT && op != OP_FRAG && op != OP_TS && a + (b & 0xff) > len &&
		    op != OP_KEY_TAIL && op != OP_GUARD_BYTE)
			return 0; /* record too short for its layout: Python reports it */
		switch (op) {
		case OP_LIT: {
			PyObject *s = PyList_GET_ITEM(lits, a);
			rc = put(out, PyBytes_AS_STRING(s), PyBytes_GET_SIZE(s));
			break;
		}
		case OP_DEC: {
			int64_t v = field(rec, a, b);
			if (v < 0 && (b & 0x100)) {
				rc = put(out, "-", 1) || put_u64(out, (uint64_t)0 - (uint64_t)v, 10, 0);
			} else {
				rc = put_u64(out, (uint64_t)v, 10, 0);
			}
			break;
		}
		case OP_HEX:
			rc = put_u64(out, (uint64_t)field(rec, a, b), 16, 0);
			break;
		case OP_TS: {
			if (a + 8 > len)
				return 0;
			int64_t ns = field(rec, a, 8) + offset_ns;
			if (ns < 1000000000)
				return 0;
			int64_t sec = ns / 1000000000;
			struct sec_text *slot = &secs[sec % SEC_SLOTS];
			if (sec != slot->sec || !slot->text) {
				PyObject *t = PyObject_CallFunction(PyList_GET_ITEM(makers, c), "L",
								    (long long)sec);
				if (!t)
					return -1;
				Py_XSETREF(slot->text, t);
				slot->sec = sec;
			}
			rc = put_text(out, slot->text) || put_u64(out, (uint64_t)(ns % 1000000000), 10, 9);
			break;
		}
		case OP_KEY:
			rc = put(key, (const char *)rec + a, b);
			break;
		case OP_KEY_TAIL: {
			if (b + 2 > len)
				return 0;
			uint16_t n;
			memcpy(&n, rec + b, 2);
			if (a + n > len)
				return 0;
			rc = put(key, (const char *)rec + a, n);
			break;
		}
		case OP_KEY_NEG: {
			char neg = field(rec, a, b | 0x100) < 0;
			rc = put(key, &neg, 1);
			break;
		}
		case OP_FRAG: {
			PyObject *cache = PyList_GET_ITEM(caches, a);
			struct memo *m = &memo[a];
			if (m->text && m->key.len == key->len &&
			    !memcmp(m->key.p, key->p, key->len)) {
				key->len = 0;
				rc = put(out, PyBytes_AS_STRING(m->text), PyBytes_GET_SIZE(m->text));
				break;
			}
			PyObject *kb = PyBytes_FromStringAndSize(key->p ? key->p : "", key->len);
			if (!kb)
				return -1;
			PyObject *t = PyDict_GetItemWithError(cache, kb); /* borrowed */
			if (!t) {
				if (PyErr_Occurred()) {
					Py_DECREF(kb);
					return -1;
				}
				PyObject *made = PyObject_CallFunction(PyList_GET_ITEM(makers, a), "Onn",
								       data, off, len);
				if (!made) {
					Py_DECREF(kb);
					return -1;
				}
				if (made == Py_None) { /* the maker declines: today's builder decides */
					Py_DECREF(made);
					Py_DECREF(kb);
					return 0;
				}
				PyObject *enc = PyUnicode_Check(made) ? PyUnicode_AsUTF8String(made) : made;
				if (enc != made)
					Py_DECREF(made);
				if (!enc || PyDict_SetItem(cache, kb, enc)) {
					Py_XDECREF(enc);
					Py_DECREF(kb);
					return -1;
				}
				Py_DECREF(enc);
				t = PyDict_GetItemWithError(cache, kb);
			}
			Py_DECREF(kb);
			if (!t)
				return -1;
			Py_INCREF(t);
			Py_XSETREF(m->text, t);
			m->key.len = 0;
			if (put(&m->key, key->p ? key->p : "", key->len))
				return -1;
			key->len = 0;
			rc = put(out, PyBytes_AS_STRING(t), PyBytes_GET_SIZE(t));
			break;
		}
		case OP_SKIP_NEG:
			if (field(rec, a, b | 0x100) < 0)
				k += c;
			break;
		case OP_SKIP_NONNEG:
			if (field(rec, a, b | 0x100) >= 0)
				k += c;
			break;
		case OP_SKIP_NOBITS:
			if (!(field(rec, a, b & 0xff) & c))
				k += b >> 16;
			break;
		case OP_GUARD_BYTE:
			if (a >= len || rec[a] != b)
				return 0;
			break;
		default:
			PyErr_Format(PyExc_ValueError, "unknown op %d", op);
			return -1;
		}
		if (rc)
			return -1;
	}
	return 1;
}

static PyObject *render(PyObject *Py_UNUSED(self), PyObject *args)
{
	PyObject *data, *programs, *lits, *caches, *makers, *fallback;
	Py_buffer spans;
	long long offset_ns;
	struct buf out = {0}, key = {0};
	PyObject *result = NULL;
	struct sec_text secs[SEC_SLOTS] = {0};
	struct memo memo[MAX_CACHES] = {0};

	if (!PyArg_ParseTuple(args, "O!y*O!O!O!O!OL", &PyBytes_Type, &data, &spans, &PyDict_Type,
			      &programs, &PyList_Type, &lits, &PyList_Type, &caches, &PyList_Type,
			      &makers, &fallback, &offset_ns))
		return NULL;
	const unsigned char *base = (const unsigned char *)PyBytes_AS_STRING(data);
	Py_ssize_t size = PyBytes_GET_SIZE(data);
	const int64_t *sp = spans.buf;
	Py_ssize_t n = spans.len / (2 * sizeof(int64_t));
	PyObject *progs[64] = {0}; /* kind -> program bytes (kinds are small enum values) */
	PyObject *kk, *vv;
	Py_ssize_t pos = 0;

	if (PyList_GET_SIZE(caches) > MAX_CACHES || PyList_GET_SIZE(makers) < PyList_GET_SIZE(caches)) {
		PyErr_SetString(PyExc_ValueError, "at most 16 caches, each with a maker");
		goto done;
	}
	while (PyDict_Next(programs, &pos, &kk, &vv)) {
		long kind = PyLong_AsLong(kk);
		if (kind < 0 || kind >= 64 || !PyBytes_Check(vv)) {
			PyErr_SetString(PyExc_ValueError, "programs: kind 0..63 -> bytes");
			goto done;
		}
		progs[kind] = vv;
	}
	for (Py_ssize_t i = 0; i < n; i++) {
		Py_ssize_t off = sp[2 * i], len = sp[2 * i + 1];
		if (off < 0 || len < 0 || off + len > size) {
			PyErr_Format(PyExc_ValueError, "span %zd outside the data", i);
			goto done;
		}
		const unsigned char *rec = base + off;
		PyObject *prog = len >= 2 ? progs[(rec[0] | rec[1] << 8) & 63] : NULL;
		if (len >= 2 && (rec[0] | rec[1] << 8) >= 64)
			prog = NULL;
		size_t start = out.len;
		int rc = 0;
		if (prog) {
			rc = run((const int32_t *)PyBytes_AS_STRING(prog),
				 PyBytes_GET_SIZE(prog) / (4 * sizeof(int32_t)), rec, off, len, data, &out,
				 &key, lits, caches, makers, offset_ns, secs, memo);
			if (rc < 0)
				goto done;
			if (rc == 1 && put(&out, "\n", 1))
				goto done;
		}
		if (rc == 0) {
			out.len = start;
			key.len = 0;
			forget(memo);
			PyObject *doc = PyObject_CallFunction(fallback, "nn", off, len);
			if (!doc)
				goto done;
			if (doc != Py_None) {
				int bad = put_text(&out, doc) || put(&out, "\n", 1);
				Py_DECREF(doc);
				if (bad)
					goto done;
			} else {
				Py_DECREF(doc);
			}
		}
	}
	result = PyBytes_FromStringAndSize(out.p ? out.p : "", out.len);
done:
	forget(memo);
	for (int i = 0; i < MAX_CACHES; i++)
		PyMem_Free(memo[i].key.p);
	for (int i = 0; i < SEC_SLOTS; i++)
		Py_XDECREF(secs[i].text);
	PyMem_Free(out.p);
	PyMem_Free(key.p);
	PyBuffer_Release(&spans);
	return result;
}

static PyMethodDef methods[] = {
	{"render", render, METH_VARARGS, "Ring records to JSON lines; see the file's comment."},
	{NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
	.m_base = PyModuleDef_HEAD_INIT, .m_name = "_fastcore", .m_size = -1, .m_methods = methods,
};

PyMODINIT_FUNC PyInit__fastcore(void)
{
	return PyModule_Create(&module);
}
