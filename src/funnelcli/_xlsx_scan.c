/* One pass over a chunk of a worksheet's XML, for readers/tabular/xlsx_scan.py (its byte
 * searches and regular expression do the same, about ten times slower).
 *
 * scan(data, prefix, lengths) -> (cells, last_row, last_column, irregular, formulas, copies)
 *
 *   cells        the <c> elements opened with white space or '>' after the name
 *   last_row     the largest row of a cell's reference r="..."
 *   last_column  the largest column (1-based) of a cell's reference
 *                (an empty element <c r="..."/> is left out of both: calamine skips it,
 *                and a row's r="..." too: it places only cells written without one)
 *   irregular    a cell not written <c r="A1"...>: its place is worked out in Python
 *   formulas     whether a <f> element starts in the chunk
 *   copies       the bytes of shared strings the cells of type "s" copy: ``lengths``
 *                holds each shared string's text bytes as native uint32s
 *
 * string_lengths(data) -> bytes: the text bytes of each <si> element of a chunk of the
 * shared strings (ending after a </si>), phonetic guides (<rPh>) left out, as uint32s.
 * Bytes bound characters from above: an entity or a multi-byte character is one.
 *
 * ``prefix`` is the namespace prefix of the elements ("x:" in <x:c>), often empty.
 * A row past 8 digits counts as 1,048,576,000 and a column past 8 letters as 8 letters:
 * both are far beyond any cap already.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#define HUGE_ROW 1048576000LL

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

/* Parse letters then digits up to a closing quote, from text[at]; return 0 when malformed.
 * *lower is set when a letter is in lower case. */
static int parse_ref(const char *text, Py_ssize_t at, Py_ssize_t size, long long *row,
                     long long *column, int *lower) {
    long long letters = 0, column_number = 0, digits = 0, row_number = 0;
    Py_ssize_t index = at;
    while (index < size) {
        char c = text[index];
        if (c >= 'A' && c <= 'Z') {
            if (letters < 8) column_number = column_number * 26 + (c - 'A' + 1);
        } else if (c >= 'a' && c <= 'z') {
            if (letters < 8) column_number = column_number * 26 + (c - 'a' + 1);
            *lower = 1;
        } else {
            break;
        }
        letters++;
        index++;
    }
    while (index < size && text[index] == '0') index++; /* leading zeros, as calamine reads */
    while (index < size && text[index] >= '0' && text[index] <= '9') {
        if (digits < 9) row_number = row_number * 10 + (text[index] - '0');
        digits++;
        index++;
    }
    if (index >= size || text[index] != '"') return 0;
    if (digits == 0) {
        if (index == at + letters) return 0; /* no digits at all */
        row_number = 0;                      /* all zeros */
    }
    *row = digits > 8 ? HUGE_ROW : row_number;
    *column = column_number;
    return 1;
}

/* Whether the tag text[from, to) has the attribute t="s" (either quote, spaces around =). */
static int is_shared(const char *text, Py_ssize_t from, Py_ssize_t to) {
    for (Py_ssize_t index = from; index + 1 < to; index++) {
        if (text[index] != 't' || !is_space(text[index - 1])) continue;
        Py_ssize_t at = index + 1;
        while (at < to && is_space(text[at])) at++;
        if (at >= to || text[at] != '=') continue;
        at++;
        while (at < to && is_space(text[at])) at++;
        if (at + 2 < to && (text[at] == '"' || text[at] == '\'') && text[at + 1] == 's' &&
            text[at + 2] == text[at])
            return 1;
    }
    return 0;
}

/* The index in <v>N</v> right after a cell's start tag ending at text[from - 1]; -1 if none. */
static long long shared_index(const char *text, Py_ssize_t from, Py_ssize_t size,
                              const char *name, Py_ssize_t name_size) {
    Py_ssize_t at = from;
    while (at < size && is_space(text[at])) at++;
    if (size - at < name_size + 3 || text[at] != '<' ||
        memcmp(text + at + 1, name, (size_t)name_size) != 0 || text[at + 1 + name_size] != 'v')
        return -1;
    at += name_size + 2;
    while (at < size && is_space(text[at])) at++;
    if (at >= size || text[at] != '>') return -1;
    at++;
    while (at < size && is_space(text[at])) at++;
    long long index = 0;
    int digits = 0;
    while (at < size && text[at] >= '0' && text[at] <= '9' && digits < 10) {
        index = index * 10 + (text[at] - '0');
        digits++;
        at++;
    }
    return digits ? index : -1;
}

static PyObject *scan(PyObject *self, PyObject *args) {
    (void)self;
    Py_buffer data, prefix, lengths_buffer;
    if (!PyArg_ParseTuple(args, "y*y*y*", &data, &prefix, &lengths_buffer)) return NULL;
    const char *text = (const char *)data.buf;
    const char *name = (const char *)prefix.buf;
    const uint32_t *lengths = (const uint32_t *)lengths_buffer.buf;
    Py_ssize_t size = data.len, name_size = prefix.len;
    Py_ssize_t length_count = lengths_buffer.len / (Py_ssize_t)sizeof(uint32_t);
    long long cells = 0, last_row = 0, last_column = 0, copies = 0;
    int irregular = 0, formulas = 0;

    Py_BEGIN_ALLOW_THREADS
    Py_ssize_t at = 0;
    while (at < size) {
        const char *found = memchr(text + at, '<', (size_t)(size - at));
        if (found == NULL) break;
        Py_ssize_t tag = (found - text) + 1;
        at = tag;
        if (size - tag < name_size + 2 || memcmp(text + tag, name, (size_t)name_size) != 0)
            continue;
        Py_ssize_t element = tag + name_size;
        char first = text[element], after = text[element + 1];
        long long row = 0, column = 0;
        int lower = 0;
        if (first == 'c' && (is_space(after) || after == '>')) {
            cells++;
            const char *end = memchr(text + element, '>', (size_t)(size - element));
            /* <c r="M1000000" s="1"/>, a formatted empty cell: calamine skips it. */
            int empty = end != NULL && end[-1] == '/';
            if (after == ' ' && size - element >= 5 && memcmp(text + element + 1, " r=\"", 4) == 0 &&
                parse_ref(text, element + 5, size, &row, &column, &lower) && !lower) {
                if (!empty && row > last_row) last_row = row;
                if (!empty && column > last_column) last_column = column;
            } else {
                irregular = 1;
            }
            if (length_count > 0) {
                if (end != NULL && !empty && is_shared(text, element + 1, end - text)) {
                    long long index = shared_index(text, (end - text) + 1, size, name, name_size);
                    if (index >= 0 && index < length_count) copies += lengths[index];
                }
            }
        } else if (first == 'f' && (is_space(after) || after == '>' || after == '/')) {
            formulas = 1;
        }
    }
    Py_END_ALLOW_THREADS

    PyBuffer_Release(&data);
    PyBuffer_Release(&prefix);
    PyBuffer_Release(&lengths_buffer);
    return Py_BuildValue("(LLLOOL)", cells, last_row, last_column, irregular ? Py_True : Py_False,
                         formulas ? Py_True : Py_False, copies);
}

/* The name of the tag opening at text[at] ('<' excluded), past '/' and a namespace prefix. */
static int tag_is(const char *text, Py_ssize_t at, Py_ssize_t size, const char *wanted) {
    Py_ssize_t start = at, index = at;
    while (index < size && text[index] != '>' && !is_space(text[index]) && text[index] != '/') {
        if (text[index] == ':') start = index + 1;
        index++;
    }
    size_t length = strlen(wanted);
    return (size_t)(index - start) == length && memcmp(text + start, wanted, length) == 0;
}

static PyObject *string_lengths(PyObject *self, PyObject *args) {
    (void)self;
    Py_buffer data;
    if (!PyArg_ParseTuple(args, "y*", &data)) return NULL;
    const char *text = (const char *)data.buf;
    Py_ssize_t size = data.len, count = 0, capacity = 1024;
    uint32_t *lengths = PyMem_Malloc((size_t)capacity * sizeof(uint32_t));
    if (lengths == NULL) {
        PyBuffer_Release(&data);
        return PyErr_NoMemory();
    }
    int in_string = 0, in_phonetic = 0;
    unsigned long long length = 0;
    Py_ssize_t at = 0;
    while (at < size) {
        const char *found = memchr(text + at, '<', (size_t)(size - at));
        Py_ssize_t tag = found == NULL ? size : found - text;
        if (in_string && !in_phonetic) length += (unsigned long long)(tag - at);
        if (found == NULL) break;
        const char *end = memchr(text + tag, '>', (size_t)(size - tag));
        if (end == NULL) break;
        Py_ssize_t after = (end - text) + 1;
        int closing = text[tag + 1] == '/', empty = end[-1] == '/';
        Py_ssize_t name_at = tag + 1 + closing;
        if (tag_is(text, name_at, size, "si")) {
            if (!closing) {
                in_string = 1, in_phonetic = 0, length = 0;
            }
            if (closing || empty) {
                if (count == capacity) {
                    capacity *= 2;
                    uint32_t *grown = PyMem_Realloc(lengths, (size_t)capacity * sizeof(uint32_t));
                    if (grown == NULL) {
                        PyMem_Free(lengths);
                        PyBuffer_Release(&data);
                        return PyErr_NoMemory();
                    }
                    lengths = grown;
                }
                lengths[count++] = length > 0xFFFFFFFFull ? 0xFFFFFFFFu : (uint32_t)length;
                in_string = 0, length = 0;
            }
        } else if (tag_is(text, name_at, size, "rPh")) {
            in_phonetic = !closing && !empty;
        }
        at = after;
    }
    PyObject *result = PyBytes_FromStringAndSize((const char *)lengths,
                                                 count * (Py_ssize_t)sizeof(uint32_t));
    PyMem_Free(lengths);
    PyBuffer_Release(&data);
    return result;
}

static PyMethodDef methods[] = {
    {"scan", scan, METH_VARARGS,
     "scan(data, prefix, lengths) -> (cells, last_row, last_column, irregular, formulas, copies)"},
    {"string_lengths", string_lengths, METH_VARARGS,
     "string_lengths(data) -> bytes: each shared string's text bytes, as uint32s"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_xlsx_scan", "A worksheet's cells counted in C.", -1, methods,
};

PyMODINIT_FUNC PyInit__xlsx_scan(void) { return PyModule_Create(&module); }
