/* The bulk-load worker's index blocks, written in C: the twins of
 * yteso.store.copy_format.python_copy_tables and of
 * yteso.store.index_blocks.python_value_groups (below) (docs/dev/native.md, "C extensions").
 *
 * The Python function is the reference. This one writes the same bytes for the inputs the
 * loader makes (exact str, int, float, bool and None values in tuples, rows in lists) and
 * returns None for anything else, so that the caller runs the Python twin, which then gives
 * its answer or raises its error. Compiled Python still paid ~40k instructions per resource
 * here, most of it building one str per row (f-strings, ``"".join``) and encoding them
 * again; this writes each table's COPY text straight into one growing byte buffer.
 *
 * COPY text format: https://www.postgresql.org/docs/current/sql-copy.html#id-1.9.3.55.9.2
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <math.h>
#include <stdint.h>
#include <string.h>

/* ---- a growing byte buffer -------------------------------------------------------------- */

typedef struct {
    char *data;
    Py_ssize_t size;
    Py_ssize_t capacity;
} Buffer;

/* Room for ``more`` bytes after ``size``; -1 with MemoryError set when it cannot grow. */
static int
buffer_reserve(Buffer *buffer, Py_ssize_t more)
{
    if (buffer->capacity - buffer->size >= more) {
        return 0;
    }
    if (more > PY_SSIZE_T_MAX / 2 - buffer->size) {
        PyErr_NoMemory();
        return -1;
    }
    /* doubling: a table's text is appended to a few thousand times per chunk */
    Py_ssize_t capacity = buffer->capacity < 256 ? 256 : buffer->capacity;
    while (capacity - buffer->size < more) {
        capacity *= 2;
    }
    char *data = PyMem_Realloc(buffer->data, (size_t)capacity);
    if (data == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    buffer->data = data;
    buffer->capacity = capacity;
    return 0;
}

static inline int
buffer_append(Buffer *buffer, const char *text, Py_ssize_t length)
{
    if (length == 0) { /* memcpy's pointers must be valid even for no bytes */
        return 0;
    }
    if (buffer->capacity - buffer->size < length && buffer_reserve(buffer, length) < 0) {
        return -1;
    }
    memcpy(buffer->data + buffer->size, text, (size_t)length);
    buffer->size += length;
    return 0;
}

static inline int
buffer_append_byte(Buffer *buffer, char byte)
{
    if (buffer->size == buffer->capacity && buffer_reserve(buffer, 1) < 0) {
        return -1;
    }
    buffer->data[buffer->size++] = byte;
    return 0;
}

static void
buffer_free(Buffer *buffer)
{
    PyMem_Free(buffer->data);
    buffer->data = NULL;
    buffer->size = buffer->capacity = 0;
}

/* ---- one field's text --------------------------------------------------------------- */

/* Whether a byte is one COPY text escapes: backslash, tab, LF, CR (the Python escapes these
 * four and nothing else). In UTF-8 no byte of a multi-byte character is below 0x80, so
 * scanning bytes finds exactly the characters. */
static inline int
needs_escape(unsigned char byte)
{
    return byte == '\\' || byte == '\t' || byte == '\n' || byte == '\r';
}

#define ONES 0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL

/* Whether an 8-byte word may hold a byte to escape: a backslash (a zero byte after xor) or a
 * byte below 0x0e (tab 0x09, LF 0x0a, CR 0x0d and some that need none). The classic
 * "has a zero byte" / "has a byte less than n" tests: never a false no, so a word without
 * any is clean; a yes is checked byte by byte. */
static inline int
word_suspect(uint64_t word)
{
    uint64_t slashes = word ^ (ONES * '\\');
    uint64_t has_slash = (slashes - ONES) & ~slashes & HIGHS;
    uint64_t has_low = (word - ONES * 0x0e) & ~word & HIGHS;
    return (has_slash | has_low) != 0;
}

/* A string's UTF-8 bytes, escaped: copied eight bytes a step while no byte of the word needs
 * escaping (the text of the ``text`` table alone is ~350 bytes a resource; a byte-at-a-time
 * scan, then memcpy, cost ~11k instructions per resource), then byte by byte. A string that
 * cannot be encoded (lone surrogates) sets the error, which the caller turns into a
 * hand-over: the Python twin's ``encode`` raises. */
static int
append_text(Buffer *buffer, PyObject *text)
{
    Py_ssize_t length;
    const char *bytes;
    if (PyUnicode_IS_ASCII(text)) {
        /* the common case: the characters are the bytes, no encoding */
        bytes = (const char *)PyUnicode_DATA(text);
        length = PyUnicode_GET_LENGTH(text);
    }
    else {
        bytes = PyUnicode_AsUTF8AndSize(text, &length);
        if (bytes == NULL) {
            return -1;
        }
    }
    /* room for the worst case, every byte escaped, and a word of slack for the word stores */
    if (length > (PY_SSIZE_T_MAX - 8) / 2) {
        PyErr_NoMemory();
        return -1;
    }
    Py_ssize_t room = 2 * length + 8;
    if (buffer->capacity - buffer->size < room && buffer_reserve(buffer, room) < 0) {
        return -1;
    }
    char *out = buffer->data + buffer->size;
    Py_ssize_t at = 0;
    uint64_t word;
    for (; at + 8 <= length; at += 8) {
        memcpy(&word, bytes + at, 8); /* unaligned load and store, no undefined behaviour */
        if (word_suspect(word)) {
            break;
        }
        memcpy(out + at, &word, 8);
    }
    if (at < length && at + 8 > length && length >= 8) {
        /* every word so far clean, fewer than eight bytes left: the last eight, overlapping
         * what was copied, spare the byte loop for a clean tail (most strings) */
        memcpy(&word, bytes + length - 8, 8);
        if (!word_suspect(word)) {
            memcpy(out + length - 8, &word, 8);
            at = length;
        }
    }
    out += at;
    for (; at < length; at++) {
        unsigned char byte = (unsigned char)bytes[at];
        if (!needs_escape(byte)) {
            *out++ = (char)byte;
            continue;
        }
        *out++ = '\\';
        *out++ = byte == '\\' ? '\\' : byte == '\t' ? 't' : byte == '\n' ? 'n' : 'r';
    }
    buffer->size = out - buffer->data;
    return 0;
}

/* Texts of floats already written, float -> bytes: as the Python's ``_FLOATS`` (bench
 * quantities repeat; a ``repr`` costs ~1,300 instructions), at most FLOATS_KEPT of them. */
static PyObject *float_texts = NULL;
#define FLOATS_KEPT 100000

/* ``_float``: NaN and the infinities as PostgreSQL spells them, others as ``repr`` does:
 * float_repr (Objects/floatobject.c) is PyOS_double_to_string(x, 'r', 0, Py_DTSF_ADD_DOT_0),
 * called here the same way (tests compare the two on many magnitudes and random bits). */
static int
append_float(Buffer *buffer, PyObject *value)
{
    double number = PyFloat_AS_DOUBLE(value);
    if (isnan(number)) {
        return buffer_append(buffer, "NaN", 3);
    }
    if (isinf(number)) {
        return number > 0 ? buffer_append(buffer, "Infinity", 8)
                          : buffer_append(buffer, "-Infinity", 9);
    }
    /* 0.0 and -0.0 are one key but two texts: never cached (as in the Python) */
    int cacheable = number != 0.0;
    if (cacheable) {
        PyObject *known = PyDict_GetItemWithError(float_texts, value); /* borrowed */
        if (known != NULL) {
            return buffer_append(buffer, PyBytes_AS_STRING(known), PyBytes_GET_SIZE(known));
        }
        if (PyErr_Occurred()) {
            return -1;
        }
    }
    char *text = PyOS_double_to_string(number, 'r', 0, Py_DTSF_ADD_DOT_0, NULL);
    if (text == NULL) {
        return -1;
    }
    Py_ssize_t length = (Py_ssize_t)strlen(text);
    int failed = buffer_append(buffer, text, length);
    if (!failed && cacheable && PyDict_GET_SIZE(float_texts) < FLOATS_KEPT) {
        PyObject *kept = PyBytes_FromStringAndSize(text, length);
        failed = kept == NULL || PyDict_SetItem(float_texts, value, kept) < 0;
        Py_XDECREF(kept);
    }
    PyMem_Free(text);
    return failed ? -1 : 0;
}

/* ``str(value)`` of an exact int: digits written here when it fits 64 bits, else Python's
 * own conversion (which may raise past the int max str digits, as the Python twin does). */
static int
append_int(Buffer *buffer, PyObject *value)
{
    int overflow = 0;
    long long number = PyLong_AsLongLongAndOverflow(value, &overflow);
    if (number == -1 && PyErr_Occurred()) {
        return -1;
    }
    if (overflow) {
        PyObject *text = PyObject_Str(value);
        if (text == NULL) {
            return -1;
        }
        int failed = append_text(buffer, text);
        Py_DECREF(text);
        return failed;
    }
    char digits[24]; /* 19 digits of 2**63, a sign: the most a long long takes */
    char *end = digits + sizeof(digits);
    char *start = end;
    /* unsigned: -(LLONG_MIN) does not fit a long long */
    unsigned long long magnitude =
        number < 0 ? 0ULL - (unsigned long long)number : (unsigned long long)number;
    do {
        *--start = (char)('0' + magnitude % 10);
        magnitude /= 10;
    } while (magnitude != 0);
    if (number < 0) {
        *--start = '-';
    }
    return buffer_append(buffer, start, end - start);
}

/* Outcome of writing one value: written, failed (an exception set), or handed over. */
enum { WRITTEN = 0, FAILED = -1, HAND_OVER = 1 };

/* ``_field``: None as \N, strings escaped, exact floats, bools and ints; anything else
 * (a subclass, a datetime, an unknown type) goes to the Python twin. */
static int
append_field(Buffer *buffer, PyObject *value)
{
    if (PyUnicode_CheckExact(value)) {
        return append_text(buffer, value);
    }
    if (value == Py_None) {
        return buffer_append(buffer, "\\N", 2);
    }
    if (PyLong_CheckExact(value)) {
        return append_int(buffer, value);
    }
    if (PyFloat_CheckExact(value)) {
        return append_float(buffer, value);
    }
    if (value == Py_True) {
        return buffer_append_byte(buffer, 't');
    }
    if (value == Py_False) {
        return buffer_append_byte(buffer, 'f');
    }
    return HAND_OVER;
}

/* Two exact str of the same text: one object, or one length, kind and data. */
static inline int
same_text(PyObject *one, PyObject *other)
{
    return one == other ||
           (PyUnicode_GET_LENGTH(one) == PyUnicode_GET_LENGTH(other) &&
            PyUnicode_KIND(one) == PyUnicode_KIND(other) &&
            memcmp(PyUnicode_DATA(one), PyUnicode_DATA(other),
                   (size_t)(PyUnicode_GET_LENGTH(one) * PyUnicode_KIND(one))) == 0);
}

/* ---- the tables ------------------------------------------------------------------------ */

/* One table's name (the output's key) and COPY text. ``alias``: the str object the rows last
 * named it by, when not ``name`` itself (the rows' "token" is another object than
 * INDEX_COLUMNS' "token"): one pointer compare finds it after the first equal compare.
 * Both are held. */
typedef struct {
    PyObject *name;
    PyObject *alias;
    Buffer text;
} Table;

typedef struct {
    Table *tables;
    Py_ssize_t count;
    Py_ssize_t capacity;
} Tables;

/* The tables' buffers of the last call, by position, emptied but kept: a chunk's token text is
 * ~0.7 MB, and growing each table's buffer from nothing again (a dozen reallocs, each copying)
 * cost ~2k instructions per resource. At most KEPT_BYTES each, so one huge chunk does not
 * hold its memory for the life of the worker. */
#define KEPT_TABLES 16
#define KEPT_BYTES (16 * 1024 * 1024)
static Buffer kept_buffers[KEPT_TABLES];

static void
tables_free(Tables *tables)
{
    for (Py_ssize_t i = 0; i < tables->count; i++) {
        Buffer *text = &tables->tables[i].text;
        Py_DECREF(tables->tables[i].name);
        Py_XDECREF(tables->tables[i].alias);
        if (i < KEPT_TABLES && kept_buffers[i].data == NULL && text->capacity <= KEPT_BYTES) {
            kept_buffers[i] = *text;
            kept_buffers[i].size = 0;
        }
        else {
            buffer_free(text);
        }
    }
    PyMem_Free(tables->tables);
}

static int
tables_add(Tables *tables, PyObject *name)
{
    if (tables->count == tables->capacity) {
        Py_ssize_t capacity = tables->capacity ? tables->capacity * 2 : 16;
        Table *grown = PyMem_Realloc(tables->tables, (size_t)capacity * sizeof(Table));
        if (grown == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        tables->tables = grown;
        tables->capacity = capacity;
    }
    Table *table = &tables->tables[tables->count++];
    table->name = Py_NewRef(name);
    table->alias = NULL;
    Py_ssize_t position = tables->count - 1;
    if (position < KEPT_TABLES && kept_buffers[position].data != NULL) {
        table->text = kept_buffers[position]; /* taken: a nested call would find none */
        kept_buffers[position].data = NULL;
        kept_buffers[position].capacity = 0;
    }
    else {
        table->text.data = NULL;
        table->text.size = table->text.capacity = 0;
    }
    return 0;
}

/* The table named ``name`` (an exact str), added after the others when new (``token+element``
 * and other composite component rows), as the Python's ``lines`` dict does. NULL: error. */
static Buffer *
table_text(Tables *tables, PyObject *name)
{
    /* the names are the same few interned strings: a pointer compare finds them */
    for (Py_ssize_t i = 0; i < tables->count; i++) {
        if (tables->tables[i].name == name || tables->tables[i].alias == name) {
            return &tables->tables[i].text;
        }
    }
    for (Py_ssize_t i = 0; i < tables->count; i++) {
        Table *table = &tables->tables[i];
        /* both exact str: equal when of one length and kind and the same data (composite
         * rows make a new "token+element" each, so this runs once per such row) */
        if (same_text(table->name, name)) {
            Py_XSETREF(table->alias, Py_NewRef(name));
            return &table->text;
        }
    }
    if (tables_add(tables, name) < 0) {
        return NULL;
    }
    return &tables->tables[tables->count - 1].text;
}

/* Per resource type, per parameter: ``param\tpkey\t`` as bytes (the Python's ``_HEADS``). */
static PyObject *heads = NULL;

/* The head of ``param`` rows of ``resource_type`` (borrowed, kept in ``heads``); made once per
 * pair: ``param`` escaped, then the key from ``key_of`` (``param_keys.cached_key``) as the
 * f-string writes it (``format(key, "")``, not escaped). NULL: an error is set. */
static PyObject *
head_of(PyObject *by_param, PyObject *resource_type, PyObject *param, PyObject *key_of)
{
    PyObject *head = PyDict_GetItemWithError(by_param, param); /* borrowed */
    if (head != NULL || PyErr_Occurred()) {
        return head;
    }
    PyObject *key = PyObject_CallFunctionObjArgs(key_of, resource_type, param, NULL);
    if (key == NULL) {
        return NULL;
    }
    PyObject *key_text = PyObject_Format(key, NULL);
    Py_DECREF(key);
    if (key_text == NULL) {
        return NULL;
    }
    Py_ssize_t key_length;
    const char *key_bytes = PyUnicode_AsUTF8AndSize(key_text, &key_length);
    Buffer text = {NULL, 0, 0};
    int failed = key_bytes == NULL || append_text(&text, param) < 0 ||
                 buffer_append_byte(&text, '\t') < 0 ||
                 buffer_append(&text, key_bytes, key_length) < 0 ||
                 buffer_append_byte(&text, '\t') < 0;
    Py_DECREF(key_text);
    PyObject *made = failed ? NULL : PyBytes_FromStringAndSize(text.data, text.size);
    buffer_free(&text);
    if (made == NULL || PyDict_SetItem(by_param, param, made) < 0) {
        Py_XDECREF(made);
        return NULL;
    }
    Py_DECREF(made); /* the dict holds it */
    return made;
}

/* The last heads found, by the pointers of (type, param), in front of the dicts (a dict lookup
 * is ~50 instructions, ~17 rows a resource). Each slot holds its three objects: while a slot
 * holds a str no other object can have its address, so equal pointers are the same text. */
#define HEAD_SLOTS 512
typedef struct {
    PyObject *resource_type;
    PyObject *param;
    PyObject *head;
} HeadSlot;
static HeadSlot head_slots[HEAD_SLOTS];

static inline HeadSlot *
head_slot(PyObject *param)
{
    return &head_slots[((uintptr_t)param >> 4) % HEAD_SLOTS];
}


/* The parameters' heads of ``resource_type`` (borrowed), a new dict when first seen. */
static PyObject *
heads_of(PyObject *resource_type)
{
    PyObject *by_param = PyDict_GetItemWithError(heads, resource_type);
    if (by_param != NULL || PyErr_Occurred()) {
        return by_param;
    }
    by_param = PyDict_New();
    if (by_param == NULL || PyDict_SetItem(heads, resource_type, by_param) < 0) {
        Py_XDECREF(by_param);
        return NULL;
    }
    Py_DECREF(by_param);
    return by_param;
}

/* One row's line: ``key`` (``type\tid\t``), the head, the values joined by tabs, a newline. */
static int
append_line(Tables *tables, Buffer *key, PyObject *row, PyObject *resource_type,
            PyObject *key_of)
{
    if (!PyTuple_CheckExact(row) || PyTuple_GET_SIZE(row) != 3) {
        return HAND_OVER;
    }
    PyObject *table = PyTuple_GET_ITEM(row, 0);
    PyObject *param = PyTuple_GET_ITEM(row, 1);
    PyObject *values = PyTuple_GET_ITEM(row, 2);
    if (!PyUnicode_CheckExact(table) || !PyUnicode_CheckExact(param) ||
        !PyTuple_CheckExact(values)) {
        return HAND_OVER;
    }
    /* parameters are the same few objects; a resource's type is new with each parse */
    HeadSlot *slot = head_slot(param);
    PyObject *head = slot->head;
    if (slot->param != param || !same_text(slot->resource_type, resource_type)) {
        PyObject *by_param = heads_of(resource_type);
        head = by_param == NULL ? NULL : head_of(by_param, resource_type, param, key_of);
        if (head == NULL) {
            return FAILED;
        }
        /* the new ones first: a slot may hold the only reference to one it replaces */
        Py_INCREF(resource_type);
        Py_INCREF(param);
        Py_INCREF(head);
        Py_XSETREF(slot->resource_type, resource_type);
        Py_XSETREF(slot->param, param);
        Py_XSETREF(slot->head, head);
    }
    Buffer *text = table_text(tables, table);
    if (text == NULL || buffer_append(text, key->data, key->size) < 0 ||
        buffer_append(text, PyBytes_AS_STRING(head), PyBytes_GET_SIZE(head)) < 0) {
        return FAILED;
    }
    Py_ssize_t width = PyTuple_GET_SIZE(values);
    for (Py_ssize_t i = 0; i < width; i++) {
        if (i > 0 && buffer_append_byte(text, '\t') < 0) {
            return FAILED;
        }
        int outcome = append_field(text, PyTuple_GET_ITEM(values, i));
        if (outcome != WRITTEN) {
            return outcome;
        }
    }
    return buffer_append_byte(text, '\n');
}

/* One ``(type, id, rows)`` entry's lines. */
static int
append_entry(Tables *tables, Buffer *key, PyObject *entry, PyObject *key_of)
{
    if (!PyTuple_CheckExact(entry) || PyTuple_GET_SIZE(entry) != 3) {
        return HAND_OVER;
    }
    PyObject *resource_type = PyTuple_GET_ITEM(entry, 0);
    PyObject *id = PyTuple_GET_ITEM(entry, 1);
    PyObject *rows = PyTuple_GET_ITEM(entry, 2);
    if (!PyUnicode_CheckExact(resource_type) || !PyUnicode_CheckExact(id) ||
        !PyList_CheckExact(rows)) {
        return HAND_OVER;
    }
    key->size = 0;
    if (append_text(key, resource_type) < 0 || buffer_append_byte(key, '\t') < 0 ||
        append_text(key, id) < 0 || buffer_append_byte(key, '\t') < 0) {
        return FAILED;
    }
    /* the size is read again each time and each row held while used: ``key_of`` runs Python
     * code, which could change the list (the entry tuple keeps the list itself alive) */
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(rows); i++) {
        PyObject *row = PyList_GET_ITEM(rows, i);
        Py_INCREF(row);
        int outcome = append_line(tables, key, row, resource_type, key_of);
        Py_DECREF(row);
        if (outcome != WRITTEN) {
            return outcome;
        }
    }
    return WRITTEN;
}

/* The tables with text, as a dict of bytes in the tables' order. */
static PyObject *
tables_dict(Tables *tables)
{
    PyObject *result = PyDict_New();
    if (result == NULL) {
        return NULL;
    }
    for (Py_ssize_t i = 0; i < tables->count; i++) {
        Table *table = &tables->tables[i];
        if (table->text.size == 0) {
            continue;
        }
        PyObject *text = PyBytes_FromStringAndSize(table->text.data, table->text.size);
        if (text == NULL || PyDict_SetItem(result, table->name, text) < 0) {
            Py_XDECREF(text);
            Py_DECREF(result);
            return NULL;
        }
        Py_DECREF(text);
    }
    return result;
}

/* copy_tables(entries: list, tables: dict, key_of) -> dict[str, bytes] | None.
 * ``tables``: the index tables in order (``INDEX_COLUMNS``; its keys are read);
 * ``key_of(type, param)``: a parameter's key (``param_keys.cached_key``).
 * None: something here is not what the loader makes; the caller runs the Python twin. */
static PyObject *
copy_tables(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "copy_tables(entries, tables, key_of)");
        return NULL;
    }
    PyObject *entries = args[0], *names = args[1], *key_of = args[2];
    if (!PyList_CheckExact(entries) || !PyDict_CheckExact(names)) {
        Py_RETURN_NONE;
    }
    /* held for the whole call: Python code (key_of) runs in it */
    Py_INCREF(entries);
    Py_INCREF(names);
    Tables tables = {NULL, 0, 0};
    Buffer key = {NULL, 0, 0};
    int outcome = WRITTEN;
    Py_ssize_t position = 0;
    PyObject *name, *unused;
    while (outcome == WRITTEN && PyDict_Next(names, &position, &name, &unused)) {
        if (!PyUnicode_CheckExact(name)) {
            outcome = HAND_OVER;
        }
        else if (tables_add(&tables, name) < 0) {
            outcome = FAILED;
        }
    }
    for (Py_ssize_t i = 0; outcome == WRITTEN && i < PyList_GET_SIZE(entries); i++) {
        PyObject *entry = PyList_GET_ITEM(entries, i);
        Py_INCREF(entry);
        outcome = append_entry(&tables, &key, entry, key_of);
        Py_DECREF(entry);
    }
    PyObject *result = NULL;
    if (outcome == WRITTEN) {
        result = tables_dict(&tables);
    }
    else if (outcome == HAND_OVER || PyErr_ExceptionMatches(PyExc_Exception)) {
        /* not ours, or an error (an unencodable string, an int too long to write, an error
         * of key_of): the Python twin runs again from the start and answers or raises as
         * it does; only KeyboardInterrupt and the like go up from here */
        PyErr_Clear();
        result = Py_NewRef(Py_None);
    }
    tables_free(&tables);
    buffer_free(&key);
    Py_DECREF(names);
    Py_DECREF(entries);
    return result;
}

/* ---- value_groups: SQLite's keyed groups ------------------------------------------------ */

/* The twin of yteso.store.index_blocks.python_value_groups. A group is those of one call's
 * rows that share (type, table, parameter) content, at most the table's full size: its three
 * shared values, then each row's id and values, all held. Groups are C arrays until the end,
 * when each becomes a list of exactly its size (a PyList_Append per value cost ~30
 * instructions; this, ~5). */
typedef struct {
    PyObject **items;
    Py_ssize_t size;
    Py_ssize_t capacity;
    Py_ssize_t table; /* index in GroupTables */
} Group;

/* A table: its name (the first str object that named it, the output's key, as setdefault
 * keeps it), its full group size (``sizes[table]``) and its number of groups. */
typedef struct {
    PyObject *name;
    Py_ssize_t full;
    Py_ssize_t groups;
} GroupTable;

/* An open group, by (type, table, parameter) content: the keys are held. */
typedef struct {
    Py_hash_t hash;
    PyObject *type;
    PyObject *table;
    PyObject *param;
    Py_ssize_t group; /* -1: empty slot */
} OpenSlot;

typedef struct {
    Group *groups;
    Py_ssize_t group_count;
    Py_ssize_t group_capacity;
    GroupTable *tables;
    Py_ssize_t table_count;
    Py_ssize_t table_capacity;
    OpenSlot *slots;
    Py_ssize_t slot_mask; /* slot count - 1, a power of two less one */
    Py_ssize_t slot_used;
    PyObject *keys_type; /* the type the keys below are of (held), NULL before the first */
    PyObject *keys;      /* keys_of(keys_type) (held) */
} Grouping;

static void
grouping_free(Grouping *grouping)
{
    for (Py_ssize_t i = 0; i < grouping->group_count; i++) {
        Group *group = &grouping->groups[i];
        for (Py_ssize_t j = 0; j < group->size; j++) {
            Py_DECREF(group->items[j]);
        }
        PyMem_Free(group->items);
    }
    PyMem_Free(grouping->groups);
    for (Py_ssize_t i = 0; i < grouping->table_count; i++) {
        Py_DECREF(grouping->tables[i].name);
    }
    PyMem_Free(grouping->tables);
    if (grouping->slots != NULL) {
        for (Py_ssize_t i = 0; i <= grouping->slot_mask; i++) {
            OpenSlot *slot = &grouping->slots[i];
            if (slot->group >= 0) {
                Py_DECREF(slot->type);
                Py_DECREF(slot->table);
                Py_DECREF(slot->param);
            }
        }
    }
    PyMem_Free(grouping->slots);
    Py_XDECREF(grouping->keys_type);
    Py_XDECREF(grouping->keys);
}

/* Room for ``more`` items in ``group``; -1 with MemoryError set when it cannot grow. */
static int
group_grow(Group *group, Py_ssize_t more)
{
    Py_ssize_t capacity = group->capacity < 16 ? 16 : group->capacity;
    while (capacity - group->size < more) {
        if (capacity > PY_SSIZE_T_MAX / 2 / (Py_ssize_t)sizeof(PyObject *)) {
            PyErr_NoMemory();
            return -1;
        }
        capacity *= 2;
    }
    PyObject **items = PyMem_Realloc(group->items, (size_t)capacity * sizeof(PyObject *));
    if (items == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    group->items = items;
    group->capacity = capacity;
    return 0;
}

static inline int
group_reserve(Group *group, Py_ssize_t more)
{
    return group->capacity - group->size >= more ? 0 : group_grow(group, more);
}

/* An exact str's hash: the one it keeps once computed (PyObject_Hash's call and dispatch
 * were ~10 instructions a row each), else PyObject_Hash. */
static inline Py_hash_t
text_hash(PyObject *text)
{
    Py_hash_t hash = ((PyASCIIObject *)text)->hash;
    return hash != -1 ? hash : PyObject_Hash(text);
}

static inline Py_hash_t
slot_hash(Py_hash_t type, Py_hash_t table, Py_hash_t param)
{
    uint64_t hash = (uint64_t)type * 0x9E3779B97F4A7C15u;
    hash = (hash ^ (uint64_t)table) * 0xC2B2AE3D27D4EB4Fu;
    hash = (hash ^ (uint64_t)param) * 0x165667B19E3779F9u;
    return (Py_hash_t)(hash ^ (hash >> 29));
}

/* The slot of (type, table, param): the open one, or the empty one where it goes. */
static OpenSlot *
slot_of(Grouping *grouping, Py_hash_t hash, PyObject *type, PyObject *table, PyObject *param)
{
    size_t mask = (size_t)grouping->slot_mask;
    size_t at = (size_t)hash & mask;
    for (;;) {
        OpenSlot *slot = &grouping->slots[at];
        if (slot->group < 0 ||
            (slot->hash == hash && same_text(slot->param, param) &&
             same_text(slot->table, table) && same_text(slot->type, type))) {
            return slot;
        }
        at = (at + 1) & mask;
    }
}

/* Twice the slots, the open groups moved; -1 with MemoryError set when it cannot grow. */
static int
slots_grow(Grouping *grouping)
{
    Py_ssize_t count = grouping->slots == NULL ? 256 : 2 * (grouping->slot_mask + 1);
    if (count > PY_SSIZE_T_MAX / (Py_ssize_t)sizeof(OpenSlot)) {
        PyErr_NoMemory();
        return -1;
    }
    OpenSlot *slots = PyMem_Malloc((size_t)count * sizeof(OpenSlot));
    if (slots == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < count; i++) {
        slots[i].group = -1;
    }
    OpenSlot *old = grouping->slots;
    Py_ssize_t old_count = old == NULL ? 0 : grouping->slot_mask + 1;
    grouping->slots = slots;
    grouping->slot_mask = count - 1;
    for (Py_ssize_t i = 0; i < old_count; i++) {
        if (old[i].group >= 0) {
            size_t at = (size_t)old[i].hash & (size_t)(count - 1);
            while (slots[at].group >= 0) {
                at = (at + 1) & (size_t)(count - 1);
            }
            slots[at] = old[i];
        }
    }
    PyMem_Free(old);
    return 0;
}

/* The index of ``name``'s table (by content), a new one (``sizes[table]`` from the row's
 * ``width`` values through ``per_statement``) when first seen; -1 with an error set, or
 * -2 to hand over. */
static Py_ssize_t
group_table(Grouping *grouping, PyObject *name, Py_ssize_t width, Py_ssize_t key_values,
            PyObject *per_statement)
{
    for (Py_ssize_t i = 0; i < grouping->table_count; i++) {
        if (same_text(grouping->tables[i].name, name)) {
            return i;
        }
    }
    /* sizes[table] = KEY_VALUES + own * keyed_rows_per_statement(own), own = 1 + len(values) */
    Py_ssize_t own = 1 + width;
    PyObject *own_object = PyLong_FromSsize_t(own);
    if (own_object == NULL) {
        return -1;
    }
    PyObject *count_object = PyObject_CallOneArg(per_statement, own_object);
    Py_DECREF(own_object);
    if (count_object == NULL) {
        return -1;
    }
    if (!PyLong_CheckExact(count_object)) {
        Py_DECREF(count_object);
        return -2;
    }
    Py_ssize_t count = PyLong_AsSsize_t(count_object);
    Py_DECREF(count_object);
    if (count == -1 && PyErr_Occurred()) {
        return -1;
    }
    if (count < 0 || count > (PY_SSIZE_T_MAX - key_values) / own) {
        return -2; /* never from keyed_rows_per_statement; the Python's own ints then */
    }
    if (grouping->table_count == grouping->table_capacity) {
        Py_ssize_t capacity = grouping->table_capacity == 0 ? 8 : 2 * grouping->table_capacity;
        GroupTable *tables =
            PyMem_Realloc(grouping->tables, (size_t)capacity * sizeof(GroupTable));
        if (tables == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        grouping->tables = tables;
        grouping->table_capacity = capacity;
    }
    GroupTable *table = &grouping->tables[grouping->table_count];
    table->name = Py_NewRef(name);
    table->full = key_values + own * count;
    table->groups = 0;
    return grouping->table_count++;
}

/* keys.get(param), or param_key(type, param) stored in keys: a new reference, NULL with an
 * error set. */
static PyObject *
pkey_of(PyObject *keys, PyObject *type, PyObject *param, PyObject *param_key)
{
    PyObject *pkey = PyDict_GetItemWithError(keys, param);
    if (pkey != NULL && pkey != Py_None) {
        return Py_NewRef(pkey);
    }
    if (PyErr_Occurred()) {
        return NULL;
    }
    PyObject *call_args[2] = {type, param};
    pkey = PyObject_Vectorcall(param_key, call_args, 2, NULL);
    if (pkey == NULL) {
        return NULL;
    }
    if (PyDict_SetItem(keys, param, pkey) < 0) {
        Py_DECREF(pkey);
        return NULL;
    }
    return pkey;
}

/* A new group [type, param, pkey] of ``table`` at ``slot`` (empty or the full group's). */
static int
group_open(Grouping *grouping, OpenSlot *slot, Py_ssize_t table, PyObject *type, PyObject *param,
           PyObject *pkey)
{
    if (grouping->group_count == grouping->group_capacity) {
        Py_ssize_t capacity = grouping->group_capacity == 0 ? 64 : 2 * grouping->group_capacity;
        if (capacity > PY_SSIZE_T_MAX / (Py_ssize_t)sizeof(Group)) {
            PyErr_NoMemory();
            return -1;
        }
        Group *groups = PyMem_Realloc(grouping->groups, (size_t)capacity * sizeof(Group));
        if (groups == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        grouping->groups = groups;
        grouping->group_capacity = capacity;
    }
    Group *group = &grouping->groups[grouping->group_count];
    group->items = NULL;
    group->size = 0;
    group->capacity = 0;
    group->table = table;
    grouping->group_count++;
    if (group_reserve(group, 3) < 0) {
        return -1;
    }
    group->items[0] = Py_NewRef(type);
    group->items[1] = Py_NewRef(param);
    group->items[2] = Py_NewRef(pkey);
    group->size = 3;
    grouping->tables[table].groups++;
    slot->group = grouping->group_count - 1;
    return 0;
}

typedef struct {
    PyObject *keys_of;
    PyObject *param_key;
    PyObject *per_statement;
    Py_ssize_t key_values;
} GroupingCalls;

/* One row (table, param, values) of ``type``'s entry ``id``, into its group; ``key_type``: a str
 * equal to ``type``, the one the open groups are found by. */
static int
group_row(Grouping *grouping, const GroupingCalls *calls, PyObject *row, PyObject *type,
          PyObject *key_type, Py_hash_t type_hash, PyObject *id)
{
    /* exact tuples and str only: the compiled Python checks the annotations (a list for a
     * tuple raises TypeError there), and a subclass could compare or hash as it likes */
    if (!PyTuple_CheckExact(row) || PyTuple_GET_SIZE(row) != 3) {
        return HAND_OVER;
    }
    PyObject *table = PyTuple_GET_ITEM(row, 0);
    PyObject *param = PyTuple_GET_ITEM(row, 1);
    PyObject *values = PyTuple_GET_ITEM(row, 2);
    if (!PyUnicode_CheckExact(table) || !PyUnicode_CheckExact(param) ||
        !PyTuple_CheckExact(values)) {
        return HAND_OVER;
    }
    /* held: Python code (param_key, keyed_rows_per_statement) may run below */
    Py_INCREF(table);
    Py_INCREF(param);
    Py_INCREF(values);
    int outcome = FAILED;
    Py_hash_t table_hash = text_hash(table);
    Py_hash_t param_hash = text_hash(param);
    if (table_hash == -1 || param_hash == -1) {
        goto done;
    }
    Py_hash_t hash = slot_hash(type_hash, table_hash, param_hash);
    OpenSlot *slot = slot_of(grouping, hash, key_type, table, param);
    Group *group = slot->group >= 0 ? &grouping->groups[slot->group] : NULL;
    if (group == NULL || group->size >= grouping->tables[group->table].full) {
        PyObject *pkey = pkey_of(grouping->keys, type, param, calls->param_key);
        if (pkey == NULL) {
            goto done;
        }
        Py_ssize_t table_index;
        if (group != NULL) {
            table_index = group->table;
        }
        else {
            table_index = group_table(grouping, table, PyTuple_GET_SIZE(values), calls->key_values,
                                      calls->per_statement);
            if (table_index < 0) {
                Py_DECREF(pkey);
                outcome = table_index == -2 ? HAND_OVER : FAILED;
                goto done;
            }
        }
        if (slot->group < 0) {
            /* a new key: held by the slot; more than half the slots used, twice as many */
            slot->hash = hash;
            slot->type = Py_NewRef(key_type);
            slot->table = Py_NewRef(table);
            slot->param = Py_NewRef(param);
            slot->group = PY_SSIZE_T_MAX; /* taken until group_open sets it */
            grouping->slot_used++;
        }
        int opened = group_open(grouping, slot, table_index, type, param, pkey);
        Py_DECREF(pkey);
        if (opened < 0) {
            goto done; /* a new slot stays taken (PY_SSIZE_T_MAX): its keys are freed */
        }
        group = &grouping->groups[slot->group];
        if (2 * grouping->slot_used > grouping->slot_mask && slots_grow(grouping) < 0) {
            goto done;
        }
    }
    Py_ssize_t width = PyTuple_GET_SIZE(values);
    if (group_reserve(group, 1 + width) < 0) {
        goto done;
    }
    PyObject **items = group->items + group->size;
    items[0] = Py_NewRef(id);
    for (Py_ssize_t i = 0; i < width; i++) {
        items[1 + i] = Py_NewRef(PyTuple_GET_ITEM(values, i));
    }
    group->size += 1 + width;
    outcome = WRITTEN;
done:
    Py_DECREF(values);
    Py_DECREF(param);
    Py_DECREF(table);
    return outcome;
}

/* One (type, id, rows) entry's rows into their groups. */
static int
group_entry(Grouping *grouping, const GroupingCalls *calls, PyObject *entry)
{
    if (!PyTuple_CheckExact(entry) || PyTuple_GET_SIZE(entry) != 3) {
        return HAND_OVER;
    }
    PyObject *type = PyTuple_GET_ITEM(entry, 0);
    PyObject *id = PyTuple_GET_ITEM(entry, 1);
    PyObject *rows = PyTuple_GET_ITEM(entry, 2);
    if (!PyUnicode_CheckExact(type) || !PyUnicode_CheckExact(id) || !PyList_CheckExact(rows)) {
        return HAND_OVER;
    }
    Py_hash_t type_hash = text_hash(type);
    if (type_hash == -1) {
        return FAILED;
    }
    /* keys = keys_of(type), as the Python calls it for every entry: the same dict for the same
     * type within a call, so called again only when the type changes */
    if (grouping->keys_type == NULL || !same_text(grouping->keys_type, type)) {
        PyObject *keys = PyObject_CallOneArg(calls->keys_of, type);
        if (keys == NULL) {
            return FAILED;
        }
        if (!PyDict_CheckExact(keys)) {
            Py_DECREF(keys);
            return HAND_OVER;
        }
        Py_XSETREF(grouping->keys, keys);
        Py_XSETREF(grouping->keys_type, Py_NewRef(type));
    }
    /* the open groups are found by the type of the run of entries of this type: each entry's
     * type is a new str (one memcmp a row), the run's first one a pointer compare */
    PyObject *key_type = grouping->keys_type;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(rows); i++) {
        PyObject *row = PyList_GET_ITEM(rows, i);
        Py_INCREF(row);
        int outcome = group_row(grouping, calls, row, type, key_type, type_hash, id);
        Py_DECREF(row);
        if (outcome != WRITTEN) {
            return outcome;
        }
    }
    return WRITTEN;
}

/* The groups per table, as a dict of lists of lists in the tables' order; the groups' items
 * move into the lists. */
static PyObject *
groups_dict(Grouping *grouping)
{
    PyObject *result = PyDict_New();
    if (result == NULL) {
        return NULL;
    }
    PyObject **lists = PyMem_Calloc((size_t)(grouping->table_count + 1), sizeof(PyObject *));
    Py_ssize_t *filled = PyMem_Calloc((size_t)(grouping->table_count + 1), sizeof(Py_ssize_t));
    if (lists == NULL || filled == NULL) {
        PyErr_NoMemory();
        goto failed;
    }
    for (Py_ssize_t i = 0; i < grouping->table_count; i++) {
        lists[i] = PyList_New(grouping->tables[i].groups);
        if (lists[i] == NULL ||
            PyDict_SetItem(result, grouping->tables[i].name, lists[i]) < 0) {
            goto failed;
        }
    }
    for (Py_ssize_t i = 0; i < grouping->group_count; i++) {
        Group *group = &grouping->groups[i];
        PyObject *list = PyList_New(group->size);
        if (list == NULL) {
            goto failed;
        }
        for (Py_ssize_t j = 0; j < group->size; j++) {
            PyList_SET_ITEM(list, j, group->items[j]); /* the reference moves */
        }
        group->size = 0;
        PyList_SET_ITEM(lists[group->table], filled[group->table]++, list);
    }
    for (Py_ssize_t i = 0; i < grouping->table_count; i++) {
        Py_DECREF(lists[i]);
    }
    PyMem_Free(lists);
    PyMem_Free(filled);
    return result;
failed:
    /* lists not filled yet hold NULL items, which list_dealloc skips */
    if (lists != NULL) {
        for (Py_ssize_t i = 0; i < grouping->table_count; i++) {
            Py_XDECREF(lists[i]);
        }
    }
    PyMem_Free(lists);
    PyMem_Free(filled);
    Py_DECREF(result);
    return NULL;
}

/* value_groups(entries, keys_of, param_key, keyed_rows_per_statement, KEY_VALUES): the
 * groups of python_value_groups, or None: something here is not what the loader makes (or an
 * error the Python will raise itself); the caller runs the Python twin. */
static PyObject *
value_groups(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 5) {
        PyErr_SetString(PyExc_TypeError,
                        "value_groups(entries, keys_of, param_key, keyed_rows_per_statement, "
                        "key_values)");
        return NULL;
    }
    PyObject *entries = args[0];
    if (!PyList_CheckExact(entries) || !PyLong_CheckExact(args[4])) {
        Py_RETURN_NONE;
    }
    GroupingCalls calls = {args[1], args[2], args[3], PyLong_AsSsize_t(args[4])};
    if (calls.key_values == -1 && PyErr_Occurred()) {
        PyErr_Clear();
        Py_RETURN_NONE;
    }
    if (calls.key_values < 0 || calls.key_values > 1000000) {
        Py_RETURN_NONE;
    }
    Py_INCREF(entries);
    Grouping grouping;
    memset(&grouping, 0, sizeof(grouping));
    int outcome = slots_grow(&grouping) < 0 ? FAILED : WRITTEN;
    for (Py_ssize_t i = 0; outcome == WRITTEN && i < PyList_GET_SIZE(entries); i++) {
        PyObject *entry = PyList_GET_ITEM(entries, i);
        Py_INCREF(entry);
        outcome = group_entry(&grouping, &calls, entry);
        Py_DECREF(entry);
    }
    PyObject *result = NULL;
    if (outcome == WRITTEN) {
        result = groups_dict(&grouping);
        if (result == NULL) {
            outcome = FAILED;
        }
    }
    if (outcome == HAND_OVER || (outcome == FAILED && PyErr_ExceptionMatches(PyExc_Exception))) {
        PyErr_Clear();
        result = Py_NewRef(Py_None);
    }
    grouping_free(&grouping);
    Py_DECREF(entries);
    return result;
}

/* ---- the module ----------------------------------------------------------------------- */

static PyMethodDef methods[] = {
    {"copy_tables", (PyCFunction)(void (*)(void))copy_tables, METH_FASTCALL,
     "The COPY text per index table of (type, id, rows) entries, or None: run the Python."},
    {"value_groups", (PyCFunction)(void (*)(void))value_groups, METH_FASTCALL,
     "SQLite's keyed groups per index table of (type, id, rows) entries, or None: run the "
     "Python."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_definition = {
    PyModuleDef_HEAD_INIT, "yteso.store._blocks",
    "C twins of the bulk-load worker's index block functions (copy_format, index_blocks).", -1,
    methods,
};

PyMODINIT_FUNC
PyInit__blocks(void)
{
    PyObject *module = PyModule_Create(&module_definition);
    if (module == NULL) {
        return NULL;
    }
    /* the caches live as long as the process, as the Python twin's module globals do */
    float_texts = PyDict_New();
    heads = PyDict_New();
    if (float_texts == NULL || heads == NULL) {
        Py_CLEAR(float_texts);
        Py_CLEAR(heads);
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
