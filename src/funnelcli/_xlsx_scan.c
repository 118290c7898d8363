/* One pass over a chunk of a worksheet's XML, for readers/xlsx_guard.py (its byte searches
 * and regular expression do the same, about ten times slower).
 *
 * scan(data, prefix) -> (cells, last_row, last_column, irregular, formulas)
 *
 *   cells        the <c> elements opened with white space or '>' after the name
 *   last_row     the largest row of a reference r="..." of a <c> or <row> element
 *   last_column  the largest column (1-based) of a cell's reference
 *   irregular    a cell not written <c r="A1"...>: its place is worked out in Python
 *   formulas     whether a <f> element starts in the chunk
 *
 * ``prefix`` is the namespace prefix of the elements ("x:" in <x:c>), often empty.
 * A row past 8 digits counts as 1,048,576,000 and a column past 8 letters as 8 letters:
 * both are far beyond any cap already.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
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

static PyObject *scan(PyObject *self, PyObject *args) {
    (void)self;
    Py_buffer data, prefix;
    if (!PyArg_ParseTuple(args, "y*y*", &data, &prefix)) return NULL;
    const char *text = (const char *)data.buf;
    const char *name = (const char *)prefix.buf;
    Py_ssize_t size = data.len, name_size = prefix.len;
    long long cells = 0, last_row = 0, last_column = 0;
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
            if (after == ' ' && size - element >= 5 && memcmp(text + element + 1, " r=\"", 4) == 0 &&
                parse_ref(text, element + 5, size, &row, &column, &lower) && !lower) {
                if (row > last_row) last_row = row;
                if (column > last_column) last_column = column;
            } else {
                irregular = 1;
            }
        } else if (first == 'f' && (is_space(after) || after == '>' || after == '/')) {
            formulas = 1;
        } else if (first == 'r' && size - element >= 4 && memcmp(text + element, "row", 3) == 0 &&
                   is_space(text[element + 3])) {
            /* A row's r="..." anywhere in its tag: it places the cells written without one. */
            const char *end = memchr(text + element, '>', (size_t)(size - element));
            Py_ssize_t limit = end == NULL ? size : (end - text);
            for (Py_ssize_t index = element + 3; index + 4 <= limit; index++) {
                if (memcmp(text + index, " r=\"", 4) == 0) {
                    if (parse_ref(text, index + 4, size, &row, &column, &lower) && row > last_row)
                        last_row = row;
                    break;
                }
            }
        }
    }
    Py_END_ALLOW_THREADS

    PyBuffer_Release(&data);
    PyBuffer_Release(&prefix);
    return Py_BuildValue("(LLLOO)", cells, last_row, last_column, irregular ? Py_True : Py_False,
                         formulas ? Py_True : Py_False);
}

static PyMethodDef methods[] = {
    {"scan", scan, METH_VARARGS,
     "scan(data, prefix) -> (cells, last_row, last_column, irregular, formulas)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_xlsx_scan", "A worksheet's cells counted in C.", -1, methods,
};

PyMODINIT_FUNC PyInit__xlsx_scan(void) { return PyModule_Create(&module); }
