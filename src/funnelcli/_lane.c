/*
 * funnelcli._lane: the report's compiled lane, an optional accelerator.
 *
 * It reads a byte range of a UTF-8 CSV export and does, for the common row, what the
 * reader's fast lane (readers/deals.py, DealReader.deal_rows) and the builder's
 * add_rows (report.py) do in Python: split the record, look up its cached stage
 * decision, read the amount and the ISO dates, and add the deal to the counts. Every
 * row it is not sure of goes back to Python whole (a "handover"), and anything odd
 * about the bytes themselves (an odd quote, a NUL, bytes that are not UTF-8, a huge
 * record) ends its part of the read (a "give-up"), so Python reads on from there with
 * its own csv module and says what is wrong. readers/lane.py drives it and merges what
 * it counted into the builder; tests/readers/test_lane.py holds every report it gives to the
 * pure-Python one, byte for byte.
 *
 * Nothing here decides anything the Python code does not: the rules are the Python
 * lane's, narrowed. Where a rule is narrowed (amounts with more than 4 decimals, say),
 * the row is handed over rather than read differently.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

typedef __int128 i128;

#define CHUNK (1 << 20)
#define MAX_RECORD (8 << 20) /* a longer record is Python's to read (and refuse) */
#define SCALE 4              /* amounts with up to 4 decimals; more go to Python */
#define SCALE_UNITS 10000
#define MAX_AMOUNT_UNITS ((i128)1000000000000000LL * SCALE_UNITS) /* 10^15 */

enum { WON = 0, LOST = 1, OPEN = 2 };
enum { ST_END = 0, ST_PAUSE = 1, ST_HANDOVER = 2, ST_GIVEUP = 3 };
enum { WHY_OTHER = 0, WHY_DECISION = 1, WHY_FIT = 2 };
enum { REC_OK = 0, REC_MORE = 1, REC_ODD = 2, REC_EOF = 3 };

/* --- growable arrays -------------------------------------------------------------- */

typedef struct {
    int64_t *v;
    Py_ssize_t n, cap;
} I64s;

typedef struct {
    double *v;
    Py_ssize_t n, cap;
} F64s;

static int i64s_push(I64s *a, int64_t x) {
    if (a->n == a->cap) {
        Py_ssize_t cap = a->cap ? a->cap * 2 : 256;
        int64_t *v = PyMem_Realloc(a->v, (size_t)cap * sizeof(int64_t));
        if (!v) {
            PyErr_NoMemory();
            return -1;
        }
        a->v = v;
        a->cap = cap;
    }
    a->v[a->n++] = x;
    return 0;
}

static int f64s_push(F64s *a, double x) {
    if (a->n == a->cap) {
        Py_ssize_t cap = a->cap ? a->cap * 2 : 256;
        double *v = PyMem_Realloc(a->v, (size_t)cap * sizeof(double));
        if (!v) {
            PyErr_NoMemory();
            return -1;
        }
        a->v = v;
        a->cap = cap;
    }
    a->v[a->n++] = x;
    return 0;
}

/* --- a map from byte strings to small integers ------------------------------------ */

typedef struct {
    char *key; /* NULL: an empty slot */
    Py_ssize_t len;
    uint64_t hash;
    int64_t value;
} Entry;

typedef struct {
    Entry *slots;
    Py_ssize_t cap, used;
} Map;

static uint64_t hash_bytes(const char *s, Py_ssize_t n) {
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (Py_ssize_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ULL;
    }
    return h;
}

static Entry *map_slot(Map *m, const char *key, Py_ssize_t len, uint64_t h) {
    Py_ssize_t mask = m->cap - 1;
    for (Py_ssize_t i = (Py_ssize_t)(h & (uint64_t)mask);; i = (i + 1) & mask) {
        Entry *e = &m->slots[i];
        if (!e->key || (e->hash == h && e->len == len && memcmp(e->key, key, (size_t)len) == 0))
            return e;
    }
}

/* The value for key, or -1 when the map does not hold it. */
static int64_t map_get(Map *m, const char *key, Py_ssize_t len) {
    if (!m->cap)
        return -1;
    Entry *e = map_slot(m, key, len, hash_bytes(key, len));
    return e->key ? e->value : -1;
}

static int map_grow(Map *m) {
    Py_ssize_t cap = m->cap ? m->cap * 2 : 64;
    Entry *slots = PyMem_Calloc((size_t)cap, sizeof(Entry));
    if (!slots) {
        PyErr_NoMemory();
        return -1;
    }
    Map bigger = {slots, cap, 0};
    for (Py_ssize_t i = 0; i < m->cap; i++) {
        Entry *e = &m->slots[i];
        if (e->key) {
            *map_slot(&bigger, e->key, e->len, e->hash) = *e;
            bigger.used++;
        }
    }
    PyMem_Free(m->slots);
    *m = bigger;
    return 0;
}

static int map_put(Map *m, const char *key, Py_ssize_t len, int64_t value) {
    if ((m->used + 1) * 2 > m->cap && map_grow(m) < 0)
        return -1;
    uint64_t h = hash_bytes(key, len);
    Entry *e = map_slot(m, key, len, h);
    if (!e->key) {
        e->key = PyMem_Malloc(len ? (size_t)len : 1);
        if (!e->key) {
            PyErr_NoMemory();
            return -1;
        }
        memcpy(e->key, key, (size_t)len);
        e->len = len;
        e->hash = h;
        m->used++;
    }
    e->value = value;
    return 0;
}

static void map_free(Map *m) {
    for (Py_ssize_t i = 0; i < m->cap; i++)
        PyMem_Free(m->slots[i].key);
    PyMem_Free(m->slots);
    m->slots = NULL;
    m->cap = m->used = 0;
}

/* --- deal ids, as 64-bit hashes ---------------------------------------------------- */

/* The ids noted, as 64-bit hashes: 8 bytes an id instead of a copy of it. They are
 * appended as they come (a table looked up at every record costs a cache miss a row),
 * and sorted once at the end, when equal neighbours are the repeats. Two ids with one
 * hash count as a repeat, which Python then settles exactly, reading the file again
 * (readers/export.py): a rare false alarm costs a slower read, never a wrong count. */
typedef struct {
    uint64_t *v;
    Py_ssize_t n, cap;
    int sorted;
} Hashes;

static uint64_t id_hash(const char *s, Py_ssize_t n) {
    uint64_t h = hash_bytes(s, n);
    /* splitmix64's finaliser: FNV-1a's high bits, which sort, spread poorly */
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebULL;
    h ^= h >> 31;
    return h;
}

static int hashes_push(Hashes *t, uint64_t h) {
    if (t->n == t->cap) {
        Py_ssize_t cap = t->cap ? t->cap * 2 : 1024;
        uint64_t *v = PyMem_Realloc(t->v, (size_t)cap * sizeof(uint64_t));
        if (!v) {
            PyErr_NoMemory();
            return -1;
        }
        t->v = v;
        t->cap = cap;
    }
    t->v[t->n++] = h;
    t->sorted = 0;
    return 0;
}

static void hashes_free(Hashes *t) {
    PyMem_Free(t->v);
    t->v = NULL;
    t->n = t->cap = 0;
}

/* The code point UTF-8 encodes at s (n bytes on), its length in *len; *len = 0 when the
 * bytes are not one whole code point. */
static Py_UCS4 code_point(const unsigned char *s, Py_ssize_t n, Py_ssize_t *len) {
    unsigned c = s[0];
    Py_ssize_t k = c < 0x80 ? 1 : c >= 0xF8 ? 0 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 0;
    *len = 0;
    if (k == 0 || k > n)
        return 0;
    Py_UCS4 cp = k == 1 ? c : c & (0x7Fu >> k);
    for (Py_ssize_t i = 1; i < k; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3F);
    }
    *len = k;
    return cp;
}

/* Strip an id (UTF-8) as str.strip() does, which readers/deals.py's _text applies:
 * every Unicode space at either end (U+00A0, U+3000, U+001C, ...), not ASCII blanks
 * alone, so an id is noted as Python names it and no repeat Python would see is missed. */
static const char *strip_id(const char *s, Py_ssize_t *n) {
    Py_ssize_t len;
    while (*n > 0) {
        Py_UCS4 cp = code_point((const unsigned char *)s, *n, &len);
        if (!len || !Py_UNICODE_ISSPACE(cp))
            break;
        s += len;
        *n -= len;
    }
    while (*n > 0) {
        Py_ssize_t start = *n - 1;
        while (start > 0 && *n - start < 4 && (s[start] & 0xC0) == 0x80)
            start--;
        Py_UCS4 cp = code_point((const unsigned char *)s + start, *n - start, &len);
        if (len != *n - start || !Py_UNICODE_ISSPACE(cp))
            break;
        *n = start;
    }
    return s;
}

/* Sort n hashes at v by their low `passes` bytes (radix, a byte a pass), with tmp room
 * for n more. */
static void radix_sort(uint64_t *v, uint64_t *tmp, Py_ssize_t n, int passes) {
    Py_ssize_t count[256];
    uint64_t *from = v, *to = tmp;
    for (int shift = 0; shift < passes * 8; shift += 8) {
        memset(count, 0, sizeof(count));
        for (Py_ssize_t i = 0; i < n; i++)
            count[(from[i] >> shift) & 0xFF]++;
        Py_ssize_t at = 0;
        for (int b = 0; b < 256; b++) {
            Py_ssize_t c = count[b];
            count[b] = at;
            at += c;
        }
        for (Py_ssize_t i = 0; i < n; i++)
            to[count[(from[i] >> shift) & 0xFF]++] = from[i];
        uint64_t *swap = from;
        from = to;
        to = swap;
    }
    if (from != v)
        memcpy(v, from, (size_t)n * sizeof(uint64_t));
}

/* Sort n hashes in place: by the top byte in place (American flag sort), then each of the
 * 256 buckets by the other 7 with room for the largest one only, so that sorting costs
 * ~1/256 of the hashes' memory more, not as much again. 0, or -1 on an error. */
static int sort_in_place(uint64_t *v, Py_ssize_t n) {
    Py_ssize_t start[257], next[256];
    memset(start, 0, sizeof(start));
    for (Py_ssize_t i = 0; i < n; i++)
        start[(v[i] >> 56) + 1]++;
    Py_ssize_t most = 0;
    for (int b = 0; b < 256; b++) {
        if (start[b + 1] > most)
            most = start[b + 1];
        start[b + 1] += start[b];
        next[b] = start[b];
    }
    for (int b = 0; b < 256; b++) {
        while (next[b] < start[b + 1]) {
            uint64_t x = v[next[b]];
            int d = (int)(x >> 56);
            while (d != b) { /* x goes to its bucket; what was there comes out */
                uint64_t y = v[next[d]];
                v[next[d]++] = x;
                x = y;
                d = (int)(x >> 56);
            }
            v[next[b]++] = x;
        }
    }
    uint64_t *tmp = PyMem_Malloc((size_t)(most ? most : 1) * sizeof(uint64_t));
    if (!tmp) {
        PyErr_NoMemory();
        return -1;
    }
    for (int b = 0; b < 256; b++) {
        uint64_t *bucket = v + start[b];
        Py_ssize_t size = start[b + 1] - start[b];
        if (size < 64) { /* insertion sort */
            for (Py_ssize_t i = 1; i < size; i++) {
                uint64_t x = bucket[i];
                Py_ssize_t j = i;
                for (; j > 0 && bucket[j - 1] > x; j--)
                    bucket[j] = bucket[j - 1];
                bucket[j] = x;
            }
        } else {
            radix_sort(bucket, tmp, size, 7);
        }
    }
    PyMem_Free(tmp);
    return 0;
}

/* Sort the hashes noted (once); 0, or -1 on an error. */
static int hashes_sort(Hashes *t) {
    if (!t->sorted && sort_in_place(t->v, t->n) < 0)
        return -1;
    t->sorted = 1;
    return 0;
}

/* Append n hashes to a bytearray; 0, or -1 on an error. */
static int append_hashes(PyObject *into, const uint64_t *v, Py_ssize_t n) {
    if (!PyByteArray_Check(into)) {
        PyErr_SetString(PyExc_TypeError, "hashes go into a bytearray");
        return -1;
    }
    Py_ssize_t had = PyByteArray_GET_SIZE(into);
    if (PyByteArray_Resize(into, had + n * (Py_ssize_t)sizeof(uint64_t)) < 0)
        return -1;
    if (n)
        memcpy(PyByteArray_AS_STRING(into) + had, v, (size_t)n * sizeof(uint64_t));
    return 0;
}

/* --- exact sums of amounts ---------------------------------------------------------- */

/* An amount or a sum, in units of 10^-SCALE, with the most decimals written in any of
 * its terms: Python's Decimal sum keeps that exponent (Decimal("1.50") + 2 is 3.50). */
typedef struct {
    i128 units;
    int decimals; /* -1: nothing added */
} Sum;

static void sum_add(Sum *s, i128 units, int decimals) {
    s->units += units;
    if (decimals > s->decimals)
        s->decimals = decimals;
}

/* (coefficient, decimals) for Decimal(coefficient).scaleb(-decimals), or None. */
static PyObject *sum_object(const Sum *s) {
    if (s->decimals < 0)
        Py_RETURN_NONE;
    i128 units = s->units;
    for (int d = s->decimals; d < SCALE; d++)
        units /= 10; /* exact: no term had more decimals */
    char text[48];
    int at = (int)sizeof(text) - 1;
    text[at] = '\0';
    do {
        text[--at] = (char)('0' + (int)(units % 10));
        units /= 10;
    } while (units);
    PyObject *coefficient = PyLong_FromString(text + at, NULL, 10);
    if (!coefficient)
        return NULL;
    return Py_BuildValue("(Ni)", coefficient, s->decimals);
}

/* --- what one builder counts -------------------------------------------------------- */

typedef struct {
    int64_t currency; /* the currency's slot */
    Sum won_total, lost_value;
    int64_t won_count;
    F64s won_values;
    Sum *open_by_stage;
} Money;

typedef struct {
    int counts_only;
    int touched; /* counted something since the last take() */
    int64_t *reached, *current, *lost;
    int64_t won, lost_unknown_stage, won_without_amount, open_without_amount;
    int has_stage_dates;
    Money *money; /* in order of first use since the last take() */
    Py_ssize_t n_money, cap_money;
    /* The whole report's builder only (not counts_only): */
    I64s cycle_days;
    I64s *days_in_stage, *days_before_loss;
    int64_t *still_in_stage, *skipped;
    int64_t negatives, negative_first_row; /* -1: none */
} Acc;

static int acc_init(Acc *a, int stages, int counts_only) {
    memset(a, 0, sizeof(*a));
    a->counts_only = counts_only;
    a->negative_first_row = -1;
    a->reached = PyMem_Calloc((size_t)stages * 3, sizeof(int64_t));
    if (!a->reached)
        goto fail;
    a->current = a->reached + stages;
    a->lost = a->reached + 2 * stages;
    if (!counts_only) {
        a->days_in_stage = PyMem_Calloc((size_t)stages * 2, sizeof(I64s));
        a->still_in_stage = PyMem_Calloc((size_t)stages * 2, sizeof(int64_t));
        if (!a->days_in_stage || !a->still_in_stage)
            goto fail;
        a->days_before_loss = a->days_in_stage + stages;
        a->skipped = a->still_in_stage + stages;
    }
    return 0;
fail: /* nothing of it kept: a child that fails is never counted (see child) */
    PyMem_Free(a->reached);
    PyMem_Free(a->days_in_stage);
    PyMem_Free(a->still_in_stage);
    memset(a, 0, sizeof(*a));
    PyErr_NoMemory();
    return -1;
}

static void money_release(Money *m) {
    PyMem_Free(m->won_values.v);
    PyMem_Free(m->open_by_stage);
}

static void acc_free(Acc *a, int stages) {
    PyMem_Free(a->reached);
    for (Py_ssize_t i = 0; i < a->n_money; i++)
        money_release(&a->money[i]);
    PyMem_Free(a->money);
    PyMem_Free(a->cycle_days.v);
    if (a->days_in_stage)
        for (int i = 0; i < 2 * stages; i++)
            PyMem_Free(a->days_in_stage[i].v);
    PyMem_Free(a->days_in_stage);
    PyMem_Free(a->still_in_stage);
}

/* Back to nothing counted, keeping the arrays' memory. */
static void acc_reset(Acc *a, int stages) {
    memset(a->reached, 0, (size_t)stages * 3 * sizeof(int64_t));
    a->won = a->lost_unknown_stage = a->won_without_amount = a->open_without_amount = 0;
    a->has_stage_dates = 0;
    for (Py_ssize_t i = 0; i < a->n_money; i++)
        money_release(&a->money[i]);
    a->n_money = 0;
    a->touched = 0;
    if (!a->counts_only) {
        a->cycle_days.n = 0;
        for (int i = 0; i < 2 * stages; i++)
            a->days_in_stage[i].n = 0;
        memset(a->still_in_stage, 0, (size_t)stages * 2 * sizeof(int64_t));
        a->negatives = 0;
        a->negative_first_row = -1;
    }
}

static Money *acc_money(Acc *a, int64_t currency, int stages) {
    for (Py_ssize_t i = 0; i < a->n_money; i++)
        if (a->money[i].currency == currency)
            return &a->money[i];
    if (a->n_money == a->cap_money) {
        Py_ssize_t cap = a->cap_money ? a->cap_money * 2 : 4;
        Money *bigger = PyMem_Realloc(a->money, (size_t)cap * sizeof(Money));
        if (!bigger) {
            PyErr_NoMemory();
            return NULL;
        }
        a->money = bigger;
        a->cap_money = cap;
    }
    Money *m = &a->money[a->n_money];
    memset(m, 0, sizeof(*m));
    m->currency = currency;
    m->won_total.decimals = m->lost_value.decimals = -1;
    m->open_by_stage = PyMem_Calloc((size_t)stages, sizeof(Sum));
    if (!m->open_by_stage) {
        PyErr_NoMemory();
        return NULL;
    }
    for (int i = 0; i < stages; i++)
        m->open_by_stage[i].decimals = -1;
    a->n_money++;
    return m;
}

/* --- the lane object ---------------------------------------------------------------- */

#define NO_DAY INT32_MIN

typedef struct {
    PyObject_HEAD
    /* the file and where the range is */
    int fd;
    char *buf;
    Py_ssize_t cap, len, pos;
    int eof;
    int64_t offset;       /* file offset of buf[0] */
    int64_t lines_before; /* lines of the file before buf[pos] */
    int64_t last_line;    /* the range's last record ends on this line (INT64_MAX: the end) */
    int64_t fit_until;    /* records starting on lines up to this one are Python's to fit */
    int overran, finished;
    /* how to read a row */
    char delimiter;
    int width, stages;
    int *decision_columns, n_decision;
    int pipeline, amount, currency, id, name, owner, segment, created, closed;
    int *entered; /* one column per stage (-1: none), or NULL */
    int64_t *stale_days; /* per stage, -1: none */
    int32_t as_of;
    int min_year, max_year;
    Map funnel_fx; /* currency codes with a rate: those rows go to Python */
    /* the record just split */
    char *scratch;
    Py_ssize_t scratch_cap;
    Py_ssize_t *field_at, *field_len;
    Py_ssize_t fields_cap, n_fields;
    char *keybuf;
    Py_ssize_t keybuf_cap, keylen; /* the last decision key looked up */
    /* caches and slots */
    Map decisions; /* key -> outcome << 16 | (stage + 1) */
    Map currencies, segments, pipelines; /* -> slot */
    PyObject *new_currencies, *new_segments, *new_pipelines; /* since the last take() */
    int64_t *pipeline_counts;
    Py_ssize_t pipeline_cap;
    I64s pipelines_touched;
    /* what was counted since the last take() */
    Acc overall;
    Acc *children;
    Py_ssize_t n_children, cap_children;
    I64s children_touched;
    int64_t read, used;
    int64_t records; /* records split so far, blank ones too */
    PyObject *stale; /* list of the stale deals that may be among the oldest kept */
    int64_t stale_dropped;
    int64_t *oldest; /* min-heap: the stale_kept largest day counts seen */
    Py_ssize_t n_oldest, stale_kept;
    /* hashes of the deal ids seen: a repeat is Python's to settle, by reading the file
     * again (readers/lane.py) */
    Hashes ids;
} Lane;

static void lane_dealloc(Lane *self) {
    if (self->fd >= 0)
        close(self->fd);
    PyMem_Free(self->buf);
    PyMem_Free(self->decision_columns);
    PyMem_Free(self->entered);
    PyMem_Free(self->stale_days);
    map_free(&self->funnel_fx);
    PyMem_Free(self->scratch);
    PyMem_Free(self->field_at);
    PyMem_Free(self->field_len);
    PyMem_Free(self->keybuf);
    map_free(&self->decisions);
    map_free(&self->currencies);
    map_free(&self->segments);
    map_free(&self->pipelines);
    hashes_free(&self->ids);
    Py_XDECREF(self->new_currencies);
    Py_XDECREF(self->new_segments);
    Py_XDECREF(self->new_pipelines);
    PyMem_Free(self->pipeline_counts);
    PyMem_Free(self->pipelines_touched.v);
    if (self->overall.reached)
        acc_free(&self->overall, self->stages);
    for (Py_ssize_t i = 0; i < self->n_children; i++)
        acc_free(&self->children[i], self->stages);
    PyMem_Free(self->children);
    PyMem_Free(self->children_touched.v);
    Py_XDECREF(self->stale);
    PyMem_Free(self->oldest);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* --- reading ------------------------------------------------------------------------ */

/* Move the unread bytes to the front and read more; 0, or -1 on a read error. */
static int refill(Lane *self) {
    if (self->pos > 0) {
        memmove(self->buf, self->buf + self->pos, (size_t)(self->len - self->pos));
        self->offset += self->pos;
        self->len -= self->pos;
        self->pos = 0;
    }
    if (self->len == self->cap) {
        if (self->cap >= MAX_RECORD)
            return -1;
        char *bigger = PyMem_Realloc(self->buf, (size_t)self->cap * 2);
        if (!bigger)
            return -1;
        self->buf = bigger;
        self->cap *= 2;
    }
    ssize_t got;
    Py_BEGIN_ALLOW_THREADS
    do {
        got = read(self->fd, self->buf + self->len, (size_t)(self->cap - self->len));
    } while (got < 0 && errno == EINTR);
    Py_END_ALLOW_THREADS
    if (got < 0)
        return -1;
    if (got == 0)
        self->eof = 1;
    self->len += got;
    return 0;
}

static int scratch_room(Lane *self, Py_ssize_t need) {
    if (need <= self->scratch_cap)
        return 0;
    Py_ssize_t cap = self->scratch_cap * 2;
    while (cap < need)
        cap *= 2;
    char *bigger = PyMem_Realloc(self->scratch, (size_t)cap);
    if (!bigger) {
        PyErr_NoMemory();
        return -1;
    }
    self->scratch = bigger;
    self->scratch_cap = cap;
    return 0;
}

static int add_field(Lane *self, Py_ssize_t at, Py_ssize_t len) {
    if (self->n_fields == self->fields_cap) {
        Py_ssize_t cap = self->fields_cap * 2;
        Py_ssize_t *a = PyMem_Realloc(self->field_at, (size_t)cap * sizeof(Py_ssize_t));
        if (!a) {
            PyErr_NoMemory();
            return -1;
        }
        self->field_at = a;
        Py_ssize_t *l = PyMem_Realloc(self->field_len, (size_t)cap * sizeof(Py_ssize_t));
        if (!l) {
            PyErr_NoMemory();
            return -1;
        }
        self->field_len = l;
        self->fields_cap = cap;
    }
    self->field_at[self->n_fields] = at;
    self->field_len[self->n_fields] = len;
    self->n_fields++;
    return 0;
}

/* Split the record at buf[pos] into fields (unquoted, unescaped, into scratch), as the
 * csv module does with the default dialect; *end and *lines get where the record ends
 * and how many lines it spans. REC_MORE: the buffer ends inside it; REC_ODD: quoting
 * this does not read exactly as csv does, or a NUL; REC_EOF: no record left. *plain is
 * cleared when a field holds a byte above 0x7F (then checked as UTF-8). */
static int split_record(Lane *self, Py_ssize_t *end, int64_t *lines, int *plain) {
    const char *buf = self->buf;
    Py_ssize_t p = self->pos, n = self->len;
    const char delim = self->delimiter;
    int eof = self->eof;
    Py_ssize_t out = 0;
    *lines = 0;
    *plain = 1;
    self->n_fields = 0;
    if (p == n)
        return eof ? REC_EOF : REC_MORE;
    if (scratch_room(self, n - p) < 0)
        return -1;
    char *s = self->scratch;
    if (buf[p] == '\r' || buf[p] == '\n') { /* a blank line: csv gives [] */
        goto end_of_line;
    }
    for (;;) { /* at the start of a field */
        Py_ssize_t start = out;
        if (p < n && buf[p] == '"') {
            p++;
            for (;;) {
                if (p == n)
                    return eof ? REC_ODD : REC_MORE;
                char c = buf[p];
                if (c == '"') {
                    if (p + 1 == n && !eof)
                        return REC_MORE;
                    if (p + 1 < n && buf[p + 1] == '"') {
                        s[out++] = '"';
                        p += 2;
                        continue;
                    }
                    p++;
                    break;
                }
                if (c == '\0')
                    return REC_ODD;
                if (c == '\r') {
                    if (p + 1 == n && !eof)
                        return REC_MORE;
                    s[out++] = c;
                    p++;
                    if (p < n && buf[p] == '\n')
                        s[out++] = buf[p++];
                    (*lines)++;
                    continue;
                }
                if (c == '\n')
                    (*lines)++;
                else if ((unsigned char)c & 0x80)
                    *plain = 0;
                s[out++] = c;
                p++;
            }
            if (add_field(self, start, out - start) < 0)
                return -1;
            if (p == n) {
                if (!eof)
                    return REC_MORE;
                (*lines)++;
                goto done;
            }
            if (buf[p] == delim) {
                p++;
                continue;
            }
            if (buf[p] == '\r' || buf[p] == '\n')
                goto end_of_line;
            return REC_ODD; /* "ab"c: csv would read abc; leave that to it */
        }
        for (;;) {
            if (p == n) {
                if (!eof)
                    return REC_MORE;
                if (add_field(self, start, out - start) < 0)
                    return -1;
                (*lines)++;
                goto done;
            }
            char c = buf[p];
            if (c == delim) {
                if (add_field(self, start, out - start) < 0)
                    return -1;
                p++;
                break;
            }
            if (c == '\r' || c == '\n') {
                if (add_field(self, start, out - start) < 0)
                    return -1;
                goto end_of_line;
            }
            if (c == '\0')
                return REC_ODD;
            if ((unsigned char)c & 0x80)
                *plain = 0;
            s[out++] = c;
            p++;
        }
    }
end_of_line:
    if (buf[p] == '\r') {
        if (p + 1 == n && !eof)
            return REC_MORE;
        p++;
        if (p < n && buf[p] == '\n')
            p++;
    } else {
        p++;
    }
    (*lines)++;
done:
    *end = p;
    return REC_OK;
}

/* Whether bytes are UTF-8 as Python's strict decoder takes it. */
static int valid_utf8(const unsigned char *s, Py_ssize_t n) {
    Py_ssize_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        int more;
        unsigned char low = 0x80, high = 0xBF;
        if (c >= 0xC2 && c <= 0xDF)
            more = 1;
        else if (c >= 0xE0 && c <= 0xEF) {
            more = 2;
            if (c == 0xE0)
                low = 0xA0;
            else if (c == 0xED)
                high = 0x9F; /* no surrogates */
        } else if (c >= 0xF0 && c <= 0xF4) {
            more = 3;
            if (c == 0xF0)
                low = 0x90;
            else if (c == 0xF4)
                high = 0x8F;
        } else
            return 0;
        if (i + more >= n)
            return 0; /* cut short */
        if (s[i + 1] < low || s[i + 1] > high)
            return 0;
        for (int k = 2; k <= more; k++)
            if ((s[i + k] & 0xC0) != 0x80)
                return 0;
        i += more + 1;
    }
    return 1;
}

/* --- cells -------------------------------------------------------------------------- */

#define CELL(i) (self->scratch + self->field_at[i])
#define CELL_LEN(i) (self->field_len[i])

/* Whether csv's hot path in tabular._csv_rows passes the row on as it is: the header's
 * width, a first cell that is not empty and cannot start a footer (_FOOTER_STARTS,
 * _FOOTER_ODD_INITIALS). */
static int plain_shape(Lane *self) {
    if (self->n_fields != self->width || CELL_LEN(0) == 0)
        return 0;
    const unsigned char *f = (const unsigned char *)CELL(0);
    Py_ssize_t n = CELL_LEN(0);
    unsigned char c = f[0];
    if (c == ' ' || (c >= '\t' && c <= '\r'))
        return 0;
    if (n >= 2 && c == 0xC2 && (f[1] == 0xA9 || f[1] == 0xA0)) /* (c), no-break space */
        return 0;
    if (n >= 3 && c == 0xE3 && f[1] == 0x80 && f[2] == 0x80) /* ideographic space */
        return 0;
    if (n >= 2) {
        char a = (char)(c | 0x20), b = (char)(f[1] | 0x20);
        if (c < 0x80 && f[1] < 0x80 &&
            ((a == 't' && b == 'o') || (a == 'g' && b == 'r') || (a == 'c' && b == 'o') ||
             (a == 'g' && b == 'e')))
            return 0;
    }
    return 1;
}

static int is_digit(char c) { return c >= '0' && c <= '9'; }

/* An amount as tabular's _FAST_AMOUNT reads it: digits, or US-grouped digits, with an
 * optional decimal part. 1: *units and *decimals set; 0: not one this lane reads. */
static int parse_amount(const char *s, Py_ssize_t n, i128 *units, int *decimals) {
    Py_ssize_t i = 0;
    i128 whole = 0;
    int digits = 0;
    if (n == 0 || !is_digit(s[0]))
        return 0;
    /* Grouped: [1-9][0-9]{0,2}(,[0-9]{3})+ ; plain: [0-9]+ */
    Py_ssize_t lead = 0;
    while (lead < n && is_digit(s[lead]))
        lead++;
    if (lead < n && s[lead] == ',') {
        if (s[0] == '0' || lead > 3)
            return 0;
        for (; i < lead; i++)
            whole = whole * 10 + (s[i] - '0');
        while (i < n && s[i] == ',') {
            if (i + 3 >= n)
                return 0;
            if (!is_digit(s[i + 1]) || !is_digit(s[i + 2]) || !is_digit(s[i + 3]))
                return 0;
            whole = whole * 1000 + (s[i + 1] - '0') * 100 + (s[i + 2] - '0') * 10 + (s[i + 3] - '0');
            i += 4;
            if (whole > 1000000000000000LL)
                return 0;
        }
    } else {
        for (; i < lead; i++) {
            whole = whole * 10 + (s[i] - '0');
            if (++digits > 30 || whole > 1000000000000000LL)
                return 0; /* larger than MAX_AMOUNT: Python says so */
        }
    }
    int places = 0;
    int64_t fraction = 0;
    if (i < n) {
        if (s[i] != '.' || i + 1 == n)
            return 0;
        for (i++; i < n; i++) {
            if (!is_digit(s[i]) || places == SCALE)
                return 0;
            fraction = fraction * 10 + (s[i] - '0');
            places++;
        }
    }
    for (int k = places; k < SCALE; k++)
        fraction *= 10;
    *units = whole * SCALE_UNITS + fraction;
    if (*units > MAX_AMOUNT_UNITS)
        return 0;
    *decimals = places;
    return 1;
}

static const int DAYS_BEFORE_MONTH[13] = {0, 0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334};

static int leap(int y) { return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0); }

/* An ISO date cell as the fast lane reads it (_ISO_FAST, then date.fromisoformat and the
 * year range): 1 with its proleptic ordinal (date.toordinal), 0 when empty, -1 when
 * Python must read it. */
static int parse_day(Lane *self, const char *s, Py_ssize_t n, int32_t *ordinal) {
    if (n == 0)
        return 0;
    if (n != 10 && n != 16 && n != 19)
        return -1;
    for (int i = 0; i < 10; i++)
        if (i == 4 || i == 7 ? s[i] != '-' : !is_digit(s[i]))
            return -1;
    if (n > 10) {
        if (s[10] != ' ' && s[10] != 'T')
            return -1;
        if (!is_digit(s[11]) || !is_digit(s[12]) || s[13] != ':' || s[14] < '0' || s[14] > '5' ||
            !is_digit(s[15]))
            return -1;
        int hour = (s[11] - '0') * 10 + (s[12] - '0');
        if (hour > 23)
            return -1;
        if (n == 19 && (s[16] != ':' || s[17] < '0' || s[17] > '5' || !is_digit(s[18])))
            return -1;
    }
    int year = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
    int month = (s[5] - '0') * 10 + (s[6] - '0');
    int day = (s[8] - '0') * 10 + (s[9] - '0');
    if (year < self->min_year || year > self->max_year || month < 1 || month > 12 || day < 1)
        return -1;
    int in_month = month == 2 ? 28 + leap(year) : 31 - ((month == 4) | (month == 6) | (month == 9) | (month == 11));
    if (day > in_month)
        return -1;
    int y = year - 1;
    *ordinal = y * 365 + y / 4 - y / 100 + y / 400 + DAYS_BEFORE_MONTH[month] +
               (month > 2 && leap(year)) + day;
    return 1;
}

/* --- counting one deal -------------------------------------------------------------- */

typedef struct {
    int outcome, stage, furthest;
    int64_t number;
    int has_amount;
    i128 units;
    int decimals;
    int64_t currency;
    int32_t created, closed;
    int32_t *entered; /* NULL without stage-entered columns */
} Row;

static int note_stale(Lane *self, Row *r, int32_t since) {
    /* Only a deal that may be among the stale_kept oldest goes to Python: one with fewer
     * days than the stale_kept largest counts seen can never be kept (see readers/lane.py). */
    int64_t days = (int64_t)self->as_of - since;
    Py_ssize_t k = self->stale_kept;
    int64_t *heap = self->oldest;
    if (self->n_oldest == k && k > 0 && days < heap[0]) {
        self->stale_dropped++;
        return 0;
    }
    if (k > 0) { /* push, or replace the smallest */
        Py_ssize_t i;
        if (self->n_oldest < k) {
            i = self->n_oldest++;
            while (i > 0 && heap[(i - 1) / 2] > days) {
                heap[i] = heap[(i - 1) / 2];
                i = (i - 1) / 2;
            }
            heap[i] = days;
        } else if (days > heap[0]) {
            i = 0;
            for (;;) {
                Py_ssize_t child = 2 * i + 1;
                if (child >= k)
                    break;
                if (child + 1 < k && heap[child + 1] < heap[child])
                    child++;
                if (heap[child] >= days)
                    break;
                heap[i] = heap[child];
                i = child;
            }
            heap[i] = days;
        }
    }
    PyObject *id = self->id >= 0 ? PyBytes_FromStringAndSize(CELL(self->id), CELL_LEN(self->id))
                                 : (Py_INCREF(Py_None), Py_None);
    PyObject *name = self->name >= 0
                         ? PyBytes_FromStringAndSize(CELL(self->name), CELL_LEN(self->name))
                         : (Py_INCREF(Py_None), Py_None);
    PyObject *owner = self->owner >= 0
                          ? PyBytes_FromStringAndSize(CELL(self->owner), CELL_LEN(self->owner))
                          : (Py_INCREF(Py_None), Py_None);
    PyObject *amount = r->has_amount ? PyBytes_FromStringAndSize(CELL(self->amount), CELL_LEN(self->amount))
                                     : (Py_INCREF(Py_None), Py_None);
    if (!id || !name || !owner || !amount) {
        Py_XDECREF(id);
        Py_XDECREF(name);
        Py_XDECREF(owner);
        Py_XDECREF(amount);
        return -1;
    }
    PyObject *entry = Py_BuildValue("(iiLNNNNL)", r->furthest, (int)since, (long long)r->number, id,
                                    name, owner, amount, (long long)r->currency);
    if (!entry)
        return -1;
    int failed = PyList_Append(self->stale, entry);
    Py_DECREF(entry);
    return failed;
}

static void negative(Acc *a, int64_t number) {
    a->negatives++;
    if (a->negative_first_row < 0 || number < a->negative_first_row)
        a->negative_first_row = number;
}

/* ReportBuilder.add_rows for one deal (report.py; the same rules, in the same order). */
static int count_deal(Lane *self, Acc *a, Row *r) {
    int last = self->stages - 1;
    int furthest, stage = r->stage;
    int32_t *entered = r->entered;
    a->touched = 1;
    if (r->outcome == WON) {
        furthest = last;
        a->won++;
    } else {
        if (entered) {
            int dated = -1;
            for (int i = last - 1; i >= 0; i--)
                if (entered[i] != NO_DAY) {
                    dated = i;
                    break;
                }
            if (dated >= 0) {
                a->has_stage_dates = 1;
                if (stage < 0 || dated > stage)
                    stage = dated;
            }
        }
        if (stage < 0) {
            a->lost_unknown_stage++;
            furthest = 0;
        } else
            furthest = stage < last ? stage : last - 1;
        if (r->outcome == LOST)
            a->lost[furthest]++;
        else
            a->current[furthest]++;
    }
    a->reached[furthest]++;
    r->furthest = furthest;
    if (!r->has_amount) {
        if (r->outcome == WON)
            a->won_without_amount++;
        else if (r->outcome == OPEN)
            a->open_without_amount++;
    } else {
        Money *m = acc_money(a, r->currency, self->stages);
        if (!m)
            return -1;
        if (r->outcome == WON) {
            sum_add(&m->won_total, r->units, r->decimals);
            m->won_count++;
            if (!a->counts_only) {
                double value;
                if (r->units < ((i128)1 << 53))
                    value = (double)(int64_t)r->units / (double)SCALE_UNITS; /* exact / exact */
                else {
                    /* float(Decimal) rounds the decimal value once: so does this. */
                    char text[64];
                    Py_ssize_t k = 0;
                    const char *cell = CELL(self->amount);
                    for (Py_ssize_t i = 0; i < CELL_LEN(self->amount) && k < 63; i++)
                        if (cell[i] != ',')
                            text[k++] = cell[i];
                    text[k] = '\0';
                    value = PyOS_string_to_double(text, NULL, NULL);
                    if (value == -1.0 && PyErr_Occurred())
                        return -1;
                }
                if (f64s_push(&m->won_values, value) < 0)
                    return -1;
            }
        } else if (r->outcome == LOST)
            sum_add(&m->lost_value, r->units, r->decimals);
        else
            sum_add(&m->open_by_stage[furthest], r->units, r->decimals);
    }
    if (a->counts_only)
        return 0;
    if (r->outcome == WON && r->created != NO_DAY && r->closed != NO_DAY) {
        int64_t days = (int64_t)r->closed - r->created;
        if (days < 0)
            negative(a, r->number);
        else if (i64s_push(&a->cycle_days, days) < 0)
            return -1;
    }
    if (entered) {
        int32_t following = entered[last];
        if (following == NO_DAY && r->outcome != OPEN)
            following = r->closed;
        int first_dated = -1;
        for (int i = last - 1; i >= 0; i--) {
            int32_t start = entered[i];
            if (start == NO_DAY)
                continue;
            first_dated = i;
            if (following != NO_DAY) {
                int64_t days = (int64_t)following - start;
                if (days < 0)
                    negative(a, r->number);
                else if (i64s_push(&a->days_in_stage[i], days) < 0)
                    return -1;
            } else if (r->outcome == OPEN)
                a->still_in_stage[i]++;
            following = start;
        }
        if (first_dated < 0 && entered[last] != NO_DAY)
            first_dated = last;
        if (first_dated >= 0) {
            for (int i = first_dated + 1; i < furthest; i++)
                if (entered[i] == NO_DAY)
                    a->skipped[i]++;
            if (r->outcome == LOST && r->closed != NO_DAY) {
                int32_t start = entered[furthest];
                if (start != NO_DAY && r->closed >= start &&
                    i64s_push(&a->days_before_loss[furthest], (int64_t)r->closed - start) < 0)
                    return -1;
            }
        }
    }
    if (r->outcome == OPEN) {
        int64_t limit = self->stale_days[furthest];
        if (limit >= 0) {
            int32_t since = entered ? entered[furthest] : NO_DAY;
            if (since == NO_DAY)
                since = r->created;
            if (since != NO_DAY && (int64_t)self->as_of - since > limit)
                return note_stale(self, r, since);
        }
    }
    return 0;
}

/* A new slot for key in map, its key appended to fresh (decoded later, in Python). */
static int64_t new_slot(Map *map, PyObject *fresh, Py_ssize_t count, const char *key, Py_ssize_t len) {
    PyObject *raw = PyBytes_FromStringAndSize(key, len);
    if (!raw)
        return -1;
    int failed = PyList_Append(fresh, raw);
    Py_DECREF(raw);
    if (failed || map_put(map, key, len, count) < 0)
        return -1;
    return count;
}

static Acc *child(Lane *self, int64_t slot) {
    while (self->n_children <= slot) {
        if (self->n_children == self->cap_children) {
            Py_ssize_t cap = self->cap_children ? self->cap_children * 2 : 16;
            Acc *bigger = PyMem_Realloc(self->children, (size_t)cap * sizeof(Acc));
            if (!bigger) {
                PyErr_NoMemory();
                return NULL;
            }
            self->children = bigger;
            self->cap_children = cap;
        }
        if (acc_init(&self->children[self->n_children], self->stages, 1) < 0)
            return NULL;
        self->n_children++;
    }
    Acc *a = &self->children[slot];
    if (!a->touched && i64s_push(&self->children_touched, slot) < 0)
        return NULL;
    return a;
}

/* Read the record's deal. 1: counted; 0: Python's (*why says why); -1: an error. */
static int read_deal(Lane *self, int *why) {
    *why = WHY_OTHER;
    if (!plain_shape(self))
        return 0;
    /* The stage decision, by the decision cells' exact text. */
    Py_ssize_t keylen = 0;
    for (int k = 0; k < self->n_decision; k++)
        keylen += CELL_LEN(self->decision_columns[k]) + 1;
    if (keylen > self->keybuf_cap) {
        char *bigger = PyMem_Realloc(self->keybuf, (size_t)keylen * 2);
        if (!bigger) {
            PyErr_NoMemory();
            return -1;
        }
        self->keybuf = bigger;
        self->keybuf_cap = keylen * 2;
    }
    keylen = 0;
    for (int k = 0; k < self->n_decision; k++) {
        int c = self->decision_columns[k];
        memcpy(self->keybuf + keylen, CELL(c), (size_t)CELL_LEN(c));
        keylen += CELL_LEN(c);
        self->keybuf[keylen++] = '\0'; /* no cell holds a NUL: split_record refused it */
    }
    self->keylen = keylen;
    int64_t decided = map_get(&self->decisions, self->keybuf, keylen);
    if (decided < 0) {
        *why = WHY_DECISION;
        return 0;
    }
    Row r;
    int32_t entered[64];
    r.outcome = (int)(decided >> 16);
    r.stage = (int)(decided & 0xFFFF) - 1;
    r.has_amount = 0;
    r.units = 0;
    r.decimals = 0;
    r.currency = 0;
    if (self->amount >= 0 && CELL_LEN(self->amount) > 0) {
        if (!parse_amount(CELL(self->amount), CELL_LEN(self->amount), &r.units, &r.decimals))
            return 0;
        r.has_amount = 1;
    }
    if (self->currency >= 0) {
        /* code.strip().upper() or the funnel's: ASCII codes only, others go to Python. */
        const char *c = CELL(self->currency);
        Py_ssize_t n = CELL_LEN(self->currency), i = 0;
        char code[32];
        for (Py_ssize_t k = 0; k < n; k++)
            if ((unsigned char)c[k] & 0x80)
                return 0;
        while (i < n && (c[i] == ' ' || (c[i] >= '\t' && c[i] <= '\r') || (c[i] >= 0x1C && c[i] <= 0x1F)))
            i++;
        while (n > i && (c[n - 1] == ' ' || (c[n - 1] >= '\t' && c[n - 1] <= '\r') ||
                         (c[n - 1] >= 0x1C && c[n - 1] <= 0x1F)))
            n--;
        if (n - i > (Py_ssize_t)sizeof(code))
            return 0;
        for (Py_ssize_t k = i; k < n; k++)
            code[k - i] = (char)(c[k] >= 'a' && c[k] <= 'z' ? c[k] - 32 : c[k]);
        if (n > i) {
            if (r.has_amount && map_get(&self->funnel_fx, code, n - i) >= 0)
                return 0; /* converted at the funnel's rate: Decimal arithmetic, in Python */
            int64_t slot = map_get(&self->currencies, code, n - i);
            if (slot < 0) {
                slot = new_slot(&self->currencies, self->new_currencies, self->currencies.used,
                                code, n - i);
                if (slot < 0)
                    return -1;
            }
            r.currency = slot;
        }
    }
    r.created = r.closed = NO_DAY;
    if (self->created >= 0) {
        int got = parse_day(self, CELL(self->created), CELL_LEN(self->created), &r.created);
        if (got < 0)
            return 0;
    }
    if (self->closed >= 0) {
        int got = parse_day(self, CELL(self->closed), CELL_LEN(self->closed), &r.closed);
        if (got < 0)
            return 0;
    }
    r.entered = NULL;
    if (self->entered) {
        for (int i = 0; i < self->stages; i++) {
            int c = self->entered[i];
            entered[i] = NO_DAY; /* also for a stage without a column (-1) */
            if (c >= 0 && parse_day(self, CELL(c), CELL_LEN(c), &entered[i]) < 0)
                return 0;
        }
        r.entered = entered;
    }
    /* From here on the row is this lane's: nothing below hands it over. */
    r.number = self->lines_before + 1;
    self->read++;
    self->used++;
    if (self->pipeline >= 0) {
        const char *key = CELL(self->pipeline);
        Py_ssize_t len = CELL_LEN(self->pipeline);
        int64_t slot = map_get(&self->pipelines, key, len);
        if (slot < 0) {
            slot = new_slot(&self->pipelines, self->new_pipelines, self->pipelines.used, key, len);
            if (slot < 0)
                return -1;
        }
        if (slot >= self->pipeline_cap) {
            Py_ssize_t cap = self->pipeline_cap ? self->pipeline_cap * 2 : 16;
            while (cap <= slot)
                cap *= 2;
            int64_t *bigger = PyMem_Realloc(self->pipeline_counts, (size_t)cap * sizeof(int64_t));
            if (!bigger) {
                PyErr_NoMemory();
                return -1;
            }
            memset(bigger + self->pipeline_cap, 0, (size_t)(cap - self->pipeline_cap) * sizeof(int64_t));
            self->pipeline_counts = bigger;
            self->pipeline_cap = cap;
        }
        if (self->pipeline_counts[slot]++ == 0 && i64s_push(&self->pipelines_touched, slot) < 0)
            return -1;
    }
    if (count_deal(self, &self->overall, &r) < 0)
        return -1;
    if (self->segment >= 0) {
        const char *key = CELL(self->segment);
        Py_ssize_t len = CELL_LEN(self->segment);
        int64_t slot = map_get(&self->segments, key, len);
        if (slot < 0) {
            slot = new_slot(&self->segments, self->new_segments, self->segments.used, key, len);
            if (slot < 0)
                return -1;
        }
        Acc *a = child(self, slot);
        if (!a || count_deal(self, a, &r) < 0)
            return -1;
    }
    return 1;
}

/* The record's cells as a list of str, for Python. */
static PyObject *cells_list(Lane *self) {
    PyObject *cells = PyList_New(self->n_fields);
    if (!cells)
        return NULL;
    for (Py_ssize_t i = 0; i < self->n_fields; i++) {
        PyObject *text = PyUnicode_DecodeUTF8(CELL(i), CELL_LEN(i), "strict");
        if (!text) {
            Py_DECREF(cells);
            return NULL;
        }
        PyList_SET_ITEM(cells, i, text);
    }
    return cells;
}

/* Note the record's deal id (stripped as Python strips it; an empty one is no id): every
 * record's, whether counted here or handed to Python. 0, or -1 on an error. */
static int note_id(Lane *self) {
    if (self->id < 0 || self->id >= self->n_fields)
        return 0;
    Py_ssize_t n = CELL_LEN(self->id);
    const char *s = CELL(self->id);
    if (n > 0 && ((unsigned char)s[0] <= ' ' || (unsigned char)s[0] >= 0x80 ||
                  (unsigned char)s[n - 1] <= ' ' || (unsigned char)s[n - 1] >= 0x80))
        s = strip_id(s, &n);
    if (n == 0)
        return 0;
    return hashes_push(&self->ids, id_hash(s, n));
}

/* run(rows): read on until the count of records split reaches a multiple of rows, a row
 * goes to Python, or the range ends.
 *
 * (0, overran): the range is read; (1, overran): paused (overran: a record straddled
 * the range's end, and the read goes on to the end of the file); (2, (number, cells, why, key)):
 * that row is Python's, the lane has moved past it; (3, (offset, lines_before, last_line,
 * overran)): the lane gives up at that record, which Python reads on from, to the
 * range's end (last_line; moved to the end of the file when a record overran it). */
static PyObject *lane_run(Lane *self, PyObject *arg) {
    Py_ssize_t budget = PyLong_AsSsize_t(arg);
    if (budget == -1 && PyErr_Occurred())
        return NULL;
    if (self->finished)
        return Py_BuildValue("(iO)", ST_END, self->overran ? Py_True : Py_False);
    if (budget < 1) {
        PyErr_SetString(PyExc_ValueError, "rows must be at least 1");
        return NULL;
    }
    for (;;) {
        Py_ssize_t end;
        int64_t lines;
        int plain;
        int got = split_record(self, &end, &lines, &plain);
        if (got < 0)
            return NULL;
        if (got == REC_MORE) {
            if (refill(self) < 0)
                goto give_up;
            continue;
        }
        if (got == REC_EOF) {
            self->finished = 1;
            return Py_BuildValue("(iO)", ST_END, self->overran ? Py_True : Py_False);
        }
        if (got == REC_ODD)
            goto give_up;
        if (!plain) {
            for (Py_ssize_t i = 0; i < self->n_fields; i++)
                if (!valid_utf8((const unsigned char *)CELL(i), CELL_LEN(i)))
                    goto give_up;
        }
        int64_t number = self->lines_before + 1;
        int64_t ends_on = self->lines_before + lines;
        int why = WHY_OTHER, counted = 0;
        if (note_id(self) < 0)
            return NULL;
        if (number <= self->fit_until) {
            /* Among the rows read ahead to find the header, which tabular fits with
             * _data_row (its footer test is wider than the hot path's): Python's. */
            why = WHY_FIT;
        } else {
            if (ends_on >= self->last_line) {
                /* The range's last record, or one across its end: then read on to the end
                 * of the file, as tabular._csv_rows does. */
                if (ends_on == self->last_line)
                    self->finished = 1;
                else {
                    self->overran = 1;
                    self->last_line = INT64_MAX;
                }
            }
            counted = read_deal(self, &why);
            if (counted < 0)
                return NULL;
        }
        self->pos = end;
        self->lines_before = ends_on;
        self->records++;
        if (!counted) {
            PyObject *cells = cells_list(self);
            if (!cells)
                return NULL;
            PyObject *key = why == WHY_DECISION
                                ? PyBytes_FromStringAndSize(self->keybuf, self->keylen)
                                : (Py_INCREF(Py_None), Py_None);
            if (!key) {
                Py_DECREF(cells);
                return NULL;
            }
            return Py_BuildValue("(i(LNiN))", ST_HANDOVER, (long long)number, cells, why, key);
        }
        if (self->finished)
            return Py_BuildValue("(iO)", ST_END, Py_False);
        if (self->records % budget == 0)
            return Py_BuildValue("(iO)", ST_PAUSE, self->overran ? Py_True : Py_False);
    }
give_up:
    PyErr_Clear();
    self->finished = 1;
    return Py_BuildValue("(i(LLLO))", ST_GIVEUP, (long long)(self->offset + self->pos),
                         (long long)self->lines_before, (long long)self->last_line,
                         self->overran ? Py_True : Py_False);
}

static PyObject *lane_learn(Lane *self, PyObject *args) {
    const char *key;
    Py_ssize_t len;
    int outcome, stage;
    if (!PyArg_ParseTuple(args, "y#ii", &key, &len, &outcome, &stage))
        return NULL;
    if (outcome < WON || outcome > OPEN || stage < -1 || stage >= self->stages) {
        PyErr_SetString(PyExc_ValueError, "no such outcome or stage");
        return NULL;
    }
    if (map_put(&self->decisions, key, len, ((int64_t)outcome << 16) | (stage + 1)) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *i64_list(const int64_t *v, int n) {
    PyObject *list = PyList_New(n);
    if (!list)
        return NULL;
    for (int i = 0; i < n; i++) {
        PyObject *x = PyLong_FromLongLong(v[i]);
        if (!x) {
            Py_DECREF(list);
            return NULL;
        }
        PyList_SET_ITEM(list, i, x);
    }
    return list;
}

static PyObject *money_object(Money *m, int stages, int counts_only) {
    PyObject *open = PyList_New(stages);
    if (!open)
        return NULL;
    for (int i = 0; i < stages; i++) {
        PyObject *sum = sum_object(&m->open_by_stage[i]);
        if (!sum) {
            Py_DECREF(open);
            return NULL;
        }
        PyList_SET_ITEM(open, i, sum);
    }
    PyObject *won_values = counts_only ? (Py_INCREF(Py_None), Py_None)
                                       : PyBytes_FromStringAndSize((const char *)m->won_values.v,
                                                                   m->won_values.n * (Py_ssize_t)sizeof(double));
    PyObject *won_total = sum_object(&m->won_total);
    PyObject *lost_value = sum_object(&m->lost_value);
    if (!won_values || !won_total || !lost_value) {
        Py_DECREF(open);
        Py_XDECREF(won_values);
        Py_XDECREF(won_total);
        Py_XDECREF(lost_value);
        return NULL;
    }
    return Py_BuildValue("(LNLNNN)", (long long)m->currency, won_total, (long long)m->won_count,
                         won_values, lost_value, open);
}

static PyObject *bytes_of(const I64s *a) {
    return PyBytes_FromStringAndSize((const char *)a->v, a->n * (Py_ssize_t)sizeof(int64_t));
}

/* (reached, current, lost, won, lost_unknown_stage, won_without_amount,
 *  open_without_amount, has_stage_dates, money) [+ (cycle_days, days_in_stage,
 *  still_in_stage, days_before_loss, skipped, negatives, negative_first_row)] */
static PyObject *acc_object(Acc *a, int stages) {
    PyObject *money = PyList_New(a->n_money);
    if (!money)
        return NULL;
    for (Py_ssize_t i = 0; i < a->n_money; i++) {
        PyObject *m = money_object(&a->money[i], stages, a->counts_only);
        if (!m) {
            Py_DECREF(money);
            return NULL;
        }
        PyList_SET_ITEM(money, i, m);
    }
    PyObject *counts = Py_BuildValue(
        "(NNNLLLLON)", i64_list(a->reached, stages), i64_list(a->current, stages),
        i64_list(a->lost, stages), (long long)a->won, (long long)a->lost_unknown_stage,
        (long long)a->won_without_amount, (long long)a->open_without_amount,
        a->has_stage_dates ? Py_True : Py_False, money);
    if (!counts || a->counts_only)
        return counts;
    PyObject *days = PyList_New(stages), *before_loss = PyList_New(stages);
    if (!days || !before_loss)
        goto fail;
    for (int i = 0; i < stages; i++) {
        PyObject *d = bytes_of(&a->days_in_stage[i]);
        PyObject *b = bytes_of(&a->days_before_loss[i]);
        if (!d || !b) {
            Py_XDECREF(d);
            Py_XDECREF(b);
            goto fail;
        }
        PyList_SET_ITEM(days, i, d);
        PyList_SET_ITEM(before_loss, i, b);
    }
    PyObject *durations = Py_BuildValue(
        "(NNNNNLL)", bytes_of(&a->cycle_days), days, i64_list(a->still_in_stage, stages),
        before_loss, i64_list(a->skipped, stages), (long long)a->negatives,
        (long long)a->negative_first_row);
    if (!durations) {
        Py_DECREF(counts);
        return NULL;
    }
    return Py_BuildValue("(NN)", counts, durations);
fail:
    Py_DECREF(counts);
    Py_XDECREF(days);
    Py_XDECREF(before_loss);
    return NULL;
}

/* take(): what was counted since the last take(), and back to nothing counted.
 *
 * (read, used, new_pipelines, pipelines, new_currencies, new_segments, overall,
 *  children): new_* are the raw keys given slots since the last take, in slot order;
 *  pipelines [(slot, rows)] and children [(slot, counts)] in order of first use since
 *  then. Stale deals wait for take_stale(). */
static PyObject *lane_take(Lane *self, PyObject *Py_UNUSED(ignored)) {
    int stages = self->stages;
    PyObject *pipelines = PyList_New(self->pipelines_touched.n);
    PyObject *children = PyList_New(self->children_touched.n);
    PyObject *overall = acc_object(&self->overall, stages);
    if (!pipelines || !children || !overall)
        goto fail;
    for (Py_ssize_t i = 0; i < self->pipelines_touched.n; i++) {
        int64_t slot = self->pipelines_touched.v[i];
        PyObject *pair = Py_BuildValue("(LL)", (long long)slot, (long long)self->pipeline_counts[slot]);
        if (!pair)
            goto fail;
        PyList_SET_ITEM(pipelines, i, pair);
        self->pipeline_counts[slot] = 0;
    }
    for (Py_ssize_t i = 0; i < self->children_touched.n; i++) {
        int64_t slot = self->children_touched.v[i];
        PyObject *pair = Py_BuildValue("(LN)", (long long)slot, acc_object(&self->children[slot], stages));
        if (!pair)
            goto fail;
        PyList_SET_ITEM(children, i, pair);
        acc_reset(&self->children[slot], stages);
    }
    /* The next take's lists first: a failure leaves the lane as it was, never without them
     * (new_slot appends to them). */
    PyObject *next_pipelines = PyList_New(0), *next_currencies = PyList_New(0),
             *next_segments = PyList_New(0);
    if (!next_pipelines || !next_currencies || !next_segments) {
        Py_XDECREF(next_pipelines);
        Py_XDECREF(next_currencies);
        Py_XDECREF(next_segments);
        goto fail;
    }
    PyObject *taken = Py_BuildValue("(LLOOOONN)", (long long)self->read, (long long)self->used,
                                    self->new_pipelines, pipelines, self->new_currencies,
                                    self->new_segments, overall, children);
    Py_DECREF(pipelines);
    if (!taken) { /* overall and children are consumed ("N") either way */
        Py_DECREF(next_pipelines);
        Py_DECREF(next_currencies);
        Py_DECREF(next_segments);
        return NULL;
    }
    Py_SETREF(self->new_pipelines, next_pipelines);
    Py_SETREF(self->new_currencies, next_currencies);
    Py_SETREF(self->new_segments, next_segments);
    self->read = self->used = 0;
    self->pipelines_touched.n = 0;
    self->children_touched.n = 0;
    acc_reset(&self->overall, stages);
    return taken;
fail:
    Py_XDECREF(pipelines);
    Py_XDECREF(children);
    Py_XDECREF(overall);
    return NULL;
}

/* take_stale(): ([stale deal], dropped): the stale deals that may be among the stale_kept
 * oldest, kept back until now (which of them are kept does not depend on the order they
 * are noted in: the builder's heap orders them by days, id and row), and how many others
 * there were. A deal with fewer days than the stale_kept largest counts seen is dropped. */
static PyObject *lane_take_stale(Lane *self, PyObject *Py_UNUSED(ignored)) {
    Py_ssize_t n = PyList_GET_SIZE(self->stale);
    PyObject *kept = PyList_New(0);
    if (!kept)
        return NULL;
    int full = self->stale_kept > 0 && self->n_oldest == self->stale_kept;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *entry = PyList_GET_ITEM(self->stale, i);
        long long days = (long long)self->as_of - PyLong_AsLongLong(PyTuple_GET_ITEM(entry, 1));
        if (full && days < self->oldest[0])
            self->stale_dropped++;
        else if (PyList_Append(kept, entry) < 0) {
            Py_DECREF(kept);
            return NULL;
        }
    }
    PyObject *next = PyList_New(0); /* first: a failure leaves the lane its list */
    if (!next) {
        Py_DECREF(kept);
        return NULL;
    }
    PyObject *taken = Py_BuildValue("(NL)", kept, (long long)self->stale_dropped);
    if (!taken) {
        Py_DECREF(next);
        return NULL;
    }
    Py_SETREF(self->stale, next);
    self->stale_dropped = 0;
    return taken;
}

static int int_list(PyObject *seq, int **out, int *count, const char *what) {
    PyObject *fast = PySequence_Fast(seq, what);
    if (!fast)
        return -1;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(fast);
    *out = PyMem_Calloc((size_t)(n ? n : 1), sizeof(int));
    if (!*out) {
        Py_DECREF(fast);
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        long v = PyLong_AsLong(PySequence_Fast_GET_ITEM(fast, i));
        if (v == -1 && PyErr_Occurred()) {
            Py_DECREF(fast);
            return -1;
        }
        (*out)[i] = (int)v;
    }
    *count = (int)n;
    Py_DECREF(fast);
    return 0;
}

static int lane_init(Lane *self, PyObject *args, PyObject *kwargs) {
    static char *names[] = {"path", "start", "lines_before", "last_line", "delimiter", "width",
                            "decision_columns", "pipeline", "amount", "currency", "id", "name",
                            "owner", "segment", "created", "closed", "entered", "stale_days",
                            "as_of", "min_year", "max_year", "funnel_currency", "fx_codes",
                            "stale_kept", "fit_until", NULL};
    PyObject *path, *decision_columns, *entered, *stale_days, *fx_codes;
    long long start, lines_before, last_line;
    int delimiter;
    Py_ssize_t stale_kept;
    long long fit_until = 0;
    const char *funnel_currency;
    Py_ssize_t funnel_currency_len;
    self->fd = -1;
    if (!PyArg_ParseTupleAndKeywords(
            args, kwargs, "O&LLLCiOiiiiiiiiiOOiiiy#On|L", names, PyUnicode_FSConverter, &path, &start,
            &lines_before, &last_line, &delimiter, &self->width, &decision_columns, &self->pipeline,
            &self->amount, &self->currency, &self->id, &self->name, &self->owner, &self->segment,
            &self->created, &self->closed, &entered, &stale_days, &self->as_of, &self->min_year,
            &self->max_year, &funnel_currency, &funnel_currency_len, &fx_codes, &stale_kept, &fit_until))
        return -1;
    if (delimiter > 0x7F || delimiter == '"' || delimiter == '\r' || delimiter == '\n') {
        Py_DECREF(path);
        PyErr_SetString(PyExc_ValueError, "the delimiter must be one ASCII character");
        return -1;
    }
    self->delimiter = (char)delimiter;
    self->fd = open(PyBytes_AS_STRING(path), O_RDONLY);
    Py_DECREF(path);
    if (self->fd < 0) {
        PyErr_SetFromErrno(PyExc_OSError);
        return -1;
    }
    if (lseek(self->fd, (off_t)start, SEEK_SET) < 0) {
        PyErr_SetFromErrno(PyExc_OSError);
        return -1;
    }
    self->offset = start;
    self->lines_before = lines_before;
    self->last_line = last_line;
    self->fit_until = fit_until;
    int n_entered, n_stale;
    int *stale;
    if (int_list(decision_columns, &self->decision_columns, &self->n_decision, "decision_columns") < 0 ||
        int_list(entered, &self->entered, &n_entered, "entered") < 0 ||
        int_list(stale_days, &stale, &n_stale, "stale_days") < 0)
        return -1;
    self->stages = n_stale;
    if (self->stages < 2 || self->stages > 60 || (n_entered && n_entered != self->stages)) {
        PyMem_Free(stale);
        PyErr_SetString(PyExc_ValueError, "2 to 60 stages, and one entered column for each");
        return -1;
    }
    if (!n_entered) {
        PyMem_Free(self->entered);
        self->entered = NULL;
    }
    self->stale_days = PyMem_Calloc((size_t)self->stages, sizeof(int64_t));
    if (!self->stale_days) {
        PyMem_Free(stale);
        PyErr_NoMemory();
        return -1;
    }
    for (int i = 0; i < self->stages; i++)
        self->stale_days[i] = stale[i];
    PyMem_Free(stale);
    PyObject *codes = PySequence_Fast(fx_codes, "fx_codes");
    if (!codes)
        return -1;
    for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(codes); i++) {
        PyObject *code = PySequence_Fast_GET_ITEM(codes, i);
        if (!PyBytes_Check(code) ||
            map_put(&self->funnel_fx, PyBytes_AS_STRING(code), PyBytes_GET_SIZE(code), 1) < 0) {
            Py_DECREF(codes);
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_TypeError, "fx_codes: bytes");
            return -1;
        }
    }
    Py_DECREF(codes);
    self->cap = CHUNK;
    self->buf = PyMem_Malloc(CHUNK);
    self->scratch_cap = CHUNK;
    self->scratch = PyMem_Malloc(CHUNK);
    self->fields_cap = 64;
    self->field_at = PyMem_Malloc(64 * sizeof(Py_ssize_t));
    self->field_len = PyMem_Malloc(64 * sizeof(Py_ssize_t));
    self->stale_kept = stale_kept > 0 ? stale_kept : 0;
    self->oldest = PyMem_Malloc((size_t)(self->stale_kept + 1) * sizeof(int64_t));
    if (!self->buf || !self->scratch || !self->field_at || !self->field_len || !self->oldest) {
        PyErr_NoMemory();
        return -1;
    }
    self->new_pipelines = PyList_New(0);
    self->new_currencies = PyList_New(0);
    self->new_segments = PyList_New(0);
    self->stale = PyList_New(0);
    if (!self->new_pipelines || !self->new_currencies || !self->new_segments || !self->stale)
        return -1;
    /* Slot 0: the funnel's currency, for a cell that names none or names it. */
    if (new_slot(&self->currencies, self->new_currencies, 0, funnel_currency, funnel_currency_len) < 0)
        return -1;
    for (int i = 0; i < self->n_decision; i++)
        if (self->decision_columns[i] < 0 || self->decision_columns[i] >= self->width)
            goto bad_column;
    {
        int columns[] = {self->pipeline, self->amount, self->currency, self->id, self->name,
                         self->owner, self->segment, self->created, self->closed};
        for (size_t i = 0; i < sizeof(columns) / sizeof(columns[0]); i++)
            if (columns[i] >= self->width)
                goto bad_column;
        if (self->entered)
            for (int i = 0; i < self->stages; i++)
                if (self->entered[i] < -1 || self->entered[i] >= self->width)
                    goto bad_column;
    }
    if (self->n_decision < 1) {
        PyErr_SetString(PyExc_ValueError, "no decision columns");
        return -1;
    }
    return acc_init(&self->overall, self->stages, 0);
bad_column:
    PyErr_SetString(PyExc_ValueError, "a column index beyond the header's width");
    return -1;
}

/* take_ids(into): append the hashes of every id noted so far to the bytearray `into`
 * (unsorted); they are forgotten. */
static PyObject *lane_take_ids(Lane *self, PyObject *into) {
    if (append_hashes(into, self->ids.v, self->ids.n) < 0)
        return NULL;
    hashes_free(&self->ids);
    Py_RETURN_NONE;
}

/* hash_ids(ids, into): append the hashes of the ids (str) to the bytearray `into`, as
 * Lane.take_ids() does its own. */
static PyObject *hash_ids(PyObject *Py_UNUSED(module), PyObject *args) {
    PyObject *ids, *into;
    if (!PyArg_ParseTuple(args, "OO:hash_ids", &ids, &into))
        return NULL;
    PyObject *seq = PySequence_Fast(ids, "hash_ids() takes a sequence of str");
    if (!seq)
        return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq), kept = 0;
    uint64_t *v = PyMem_Malloc((size_t)(n ? n : 1) * sizeof(uint64_t));
    if (!v) {
        Py_DECREF(seq);
        return PyErr_NoMemory();
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_ssize_t len;
        const char *s = PyUnicode_AsUTF8AndSize(PySequence_Fast_GET_ITEM(seq, i), &len);
        if (!s) {
            PyMem_Free(v);
            Py_DECREF(seq);
            return NULL;
        }
        s = strip_id(s, &len);
        if (len)
            v[kept++] = id_hash(s, len);
    }
    Py_DECREF(seq);
    int failed = append_hashes(into, v, kept) < 0;
    PyMem_Free(v);
    if (failed)
        return NULL;
    Py_RETURN_NONE;
}

/* distinct_ids(hashes): sort the bytearray of hashes in place; False when two are equal
 * (an id that may have come twice). */
static PyObject *distinct_ids(PyObject *Py_UNUSED(module), PyObject *arg) {
    if (!PyByteArray_Check(arg)) {
        PyErr_SetString(PyExc_TypeError, "distinct_ids() takes a bytearray");
        return NULL;
    }
    Py_ssize_t n = PyByteArray_GET_SIZE(arg) / (Py_ssize_t)sizeof(uint64_t);
    uint64_t *v = (uint64_t *)PyByteArray_AS_STRING(arg);
    if (n > 1 && ((uintptr_t)v % sizeof(uint64_t)) != 0) {
        PyErr_SetString(PyExc_ValueError, "distinct_ids(): an unaligned bytearray");
        return NULL;
    }
    if (n > 1 && sort_in_place(v, n) < 0)
        return NULL;
    for (Py_ssize_t i = 1; i < n; i++)
        if (v[i] == v[i - 1])
            Py_RETURN_FALSE;
    Py_RETURN_TRUE;
}

static PyMethodDef lane_methods[] = {
    {"run", (PyCFunction)lane_run, METH_O, "Read on: see lane_run in _lane.c."},
    {"learn", (PyCFunction)lane_learn, METH_VARARGS, "Cache a stage decision."},
    {"take", (PyCFunction)lane_take, METH_NOARGS, "What was counted since the last take()."},
    {"take_stale", (PyCFunction)lane_take_stale, METH_NOARGS, "The stale deals kept back."},
    {"take_ids", (PyCFunction)lane_take_ids, METH_O, "Append the deal ids noted, as hashes."},
    {NULL, NULL, 0, NULL},
};

static PyObject *records(Lane *self, void *Py_UNUSED(closure)) {
    return PyLong_FromLongLong(self->records);
}

static PyObject *repeats(Lane *self, void *Py_UNUSED(closure)) {
    if (hashes_sort(&self->ids) < 0)
        return NULL;
    Py_ssize_t n = 0;
    for (Py_ssize_t i = 1; i < self->ids.n; i++)
        n += self->ids.v[i] == self->ids.v[i - 1];
    return PyLong_FromSsize_t(n);
}

static PyGetSetDef lane_getset[] = {
    {"records", (getter)records, NULL, "records split so far, blank ones too", NULL},
    {"repeats", (getter)repeats, NULL, "records whose deal id (its hash) an earlier one had", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject LaneType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "funnelcli._lane.Lane",
    .tp_basicsize = sizeof(Lane),
    .tp_dealloc = (destructor)lane_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "A byte range of a CSV export, read and counted (see readers/lane.py).",
    .tp_methods = lane_methods,
    .tp_getset = lane_getset,
    .tp_init = (initproc)lane_init,
    .tp_new = PyType_GenericNew,
};

static PyMethodDef module_methods[] = {
    {"hash_ids", hash_ids, METH_VARARGS, "Append the hashes of deal ids to a bytearray."},
    {"distinct_ids", distinct_ids, METH_O, "Sort hashes in place: False if two are equal."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef lane_module = {
    PyModuleDef_HEAD_INIT, "_lane", "The report's compiled lane (see readers/lane.py).", -1,
    module_methods,
};

PyMODINIT_FUNC PyInit__lane(void) {
    if (PyType_Ready(&LaneType) < 0)
        return NULL;
    PyObject *module = PyModule_Create(&lane_module);
    if (!module)
        return NULL;
    Py_INCREF(&LaneType);
    if (PyModule_AddObject(module, "Lane", (PyObject *)&LaneType) < 0) {
        Py_DECREF(&LaneType);
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
