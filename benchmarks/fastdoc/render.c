/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A template renderer for documents, one batch of one record kind at a time (issue 10, item 4,
 * design c). The document's shape stays in Python: Python builds a small program of ops per
 * record kind (literal text, a cached fragment picked by an index column, a number written in
 * decimal or hex, a guard that skips the next ops) and the fragment tables (actor, file, event
 * parts, timestamps by second), and passes the columns as int64 arrays. This file only turns
 * columns into text; it knows no field, layout or JSON rule.
 *
 *   render(program, lits, tables, cols, n) -> list[str]
 *     program: bytes of int32 (op, a, b) triples; lits: list[bytes]; tables: list[list[bytes]];
 *     cols: list of C-contiguous int64 buffers of length n.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

enum op {
	OP_LIT = 0,        /* lits[a] */
	OP_FRAG = 1,       /* tables[a][cols[b][i]] */
	OP_DEC = 2,        /* cols[a][i], signed decimal */
	OP_HEX = 3,        /* cols[a][i], unsigned lowercase hex */
	OP_PAD9 = 4,       /* cols[a][i], nine digits, zero-padded */
	OP_SKIP_NEG = 5,   /* if cols[a][i] < 0, skip the next b ops */
	OP_SKIP_NONNEG = 6,/* if cols[a][i] >= 0, skip the next b ops */
	OP_SKIP_ZERO = 7,  /* if cols[a][i] == 0, skip the next b ops */
};

struct buf {
	char *p;
	size_t len, cap;
};

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

static int put(struct buf *b, const char *s, size_t n)
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

static int put_dec(struct buf *b, int64_t v)
{
	if (v < 0) {
		if (put(b, "-", 1))
			return -1;
		return put_u64(b, (uint64_t)0 - (uint64_t)v, 10, 0);
	}
	return put_u64(b, (uint64_t)v, 10, 0);
}

static PyObject *render(PyObject *Py_UNUSED(self), PyObject *args)
{
	Py_buffer prog;
	PyObject *lits, *tables, *cols_obj;
	Py_ssize_t n;
	PyObject *out = NULL;
	Py_buffer *cols = NULL;
	Py_ssize_t ncols = 0, got = 0;
	struct buf b = {0};

	if (!PyArg_ParseTuple(args, "y*O!O!O!n", &prog, &PyList_Type, &lits, &PyList_Type, &tables,
			      &PyList_Type, &cols_obj, &n))
		return NULL;
	const int32_t *ops = prog.buf;
	Py_ssize_t nops = prog.len / (3 * sizeof(int32_t));
	ncols = PyList_GET_SIZE(cols_obj);
	cols = PyMem_Calloc(ncols ? ncols : 1, sizeof(Py_buffer));
	if (!cols)
		goto fail;
	for (; got < ncols; got++) {
		if (PyObject_GetBuffer(PyList_GET_ITEM(cols_obj, got), &cols[got], PyBUF_C_CONTIGUOUS))
			goto fail;
		if (cols[got].len < n * (Py_ssize_t)sizeof(int64_t)) {
			PyErr_SetString(PyExc_ValueError, "column shorter than n");
			goto fail;
		}
	}
	/* Check the program once, not per record. */
	for (Py_ssize_t k = 0; k < nops; k++) {
		int32_t op = ops[3 * k], a = ops[3 * k + 1], c = ops[3 * k + 2];
		int bad = 0;
		if (op == OP_LIT)
			bad = a < 0 || a >= PyList_GET_SIZE(lits);
		else if (op == OP_FRAG)
			bad = a < 0 || a >= PyList_GET_SIZE(tables) || c < 0 || c >= ncols ||
			      !PyList_Check(PyList_GET_ITEM(tables, a));
		else if (op >= OP_DEC && op <= OP_SKIP_ZERO)
			bad = a < 0 || a >= ncols;
		else
			bad = 1;
		if (bad) {
			PyErr_Format(PyExc_ValueError, "bad op %zd", k);
			goto fail;
		}
	}
	out = PyList_New(n);
	if (!out)
		goto fail;
	for (Py_ssize_t i = 0; i < n; i++) {
		b.len = 0;
		for (Py_ssize_t k = 0; k < nops; k++) {
			int32_t op = ops[3 * k], a = ops[3 * k + 1], c = ops[3 * k + 2];
			int64_t v = op == OP_LIT ? 0 : ((const int64_t *)cols[op == OP_FRAG ? c : a].buf)[i];
			PyObject *s;
			int rc = 0;
			switch (op) {
			case OP_LIT:
				s = PyList_GET_ITEM(lits, a);
				rc = put(&b, PyBytes_AS_STRING(s), PyBytes_GET_SIZE(s));
				break;
			case OP_FRAG: {
				PyObject *t = PyList_GET_ITEM(tables, a);
				if (v < 0 || v >= PyList_GET_SIZE(t)) {
					PyErr_Format(PyExc_IndexError, "record %zd: index %lld", i,
						     (long long)v);
					goto fail;
				}
				s = PyList_GET_ITEM(t, v);
				rc = put(&b, PyBytes_AS_STRING(s), PyBytes_GET_SIZE(s));
				break;
			}
			case OP_DEC:
				rc = put_dec(&b, v);
				break;
			case OP_HEX:
				rc = put_u64(&b, (uint64_t)v, 16, 0);
				break;
			case OP_PAD9:
				rc = put_u64(&b, (uint64_t)v, 10, 9);
				break;
			case OP_SKIP_NEG:
				if (v < 0)
					k += c;
				break;
			case OP_SKIP_NONNEG:
				if (v >= 0)
					k += c;
				break;
			case OP_SKIP_ZERO:
				if (v == 0)
					k += c;
				break;
			}
			if (rc)
				goto fail;
		}
		PyObject *doc = PyUnicode_DecodeUTF8(b.p ? b.p : "", b.len, "strict");
		if (!doc)
			goto fail;
		PyList_SET_ITEM(out, i, doc);
	}
	goto done;
fail:
	Py_CLEAR(out);
done:
	for (Py_ssize_t k = 0; k < got; k++)
		PyBuffer_Release(&cols[k]);
	PyMem_Free(cols);
	PyMem_Free(b.p);
	PyBuffer_Release(&prog);
	return out;
}

static PyMethodDef methods[] = {
	{"render", render, METH_VARARGS, "Render n documents from a template program and columns."},
	{NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
	.m_base = PyModuleDef_HEAD_INIT, .m_name = "_fastdoc", .m_size = -1, .m_methods = methods,
};

PyMODINIT_FUNC PyInit__fastdoc(void)
{
	return PyModule_Create(&module);
}
