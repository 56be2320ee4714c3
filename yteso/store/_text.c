/* The folded text of the `_content` and `_text` search rows, in C (yteso.store._text).
 *
 * C twins of yteso.store.index_rows.fold_content and fold_narrative, which stay the
 * reference (docs/dev/native.md, "C extensions"). fold_content walks every string of a
 * resource in document order, except under the machinery keys (_NOT_CONTENT) and in an
 * object holding a narrative "div", and folds them (text_folding.fold_parts): lower case,
 * no accents, whitespace runs collapsed to one space. Here the walk and the fold are one pass
 * into one growing buffer. An ASCII string is folded here; a non-ASCII one through the table
 * text_folding.fold_table() builds at import from _fold's own steps (each character's
 * fold; Vietnamese, Latin letters, combining marks and spaces), and where a character has
 * no entry, through the Python fold (text_folding.FOLDED, then fold_text): Unicode
 * decomposition and case folding are not redone here. The result is the same text: folding
 * maps each character on its own and never makes or removes whitespace, so the folded
 * strings joined by one space (empty ones dropped) are the fold of the joined strings.
 *
 * What the parser never gives (subclasses of str, dict or list, keys that are not str, other
 * objects, very deep nesting) goes to the Python twin whole: the C result is dropped and the
 * fallback the caller passed is called, so its answer, errors included, is the answer.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

/* Results of the walk: an exception is set, or the Python twin must answer instead. */
#define WALK_OK 0
#define WALK_ERROR (-1)
#define WALK_HAND_OVER 1
/* One string has a character without an entry in the fold table: Python folds it. */
#define STRING_NOT_IN_TABLE 2

/* A fold table entry (text_folding.fold_table): its first byte is the length of the
 * character's fold (0-3 ASCII letters follow), or one of these. */
#define ENTRY_SIZE 4
#define ENTRY_LETTERS 3
#define ENTRY_SPACE 0xFE
#define ENTRY_NOT_FOLDED 0xFF

/* Deeper values go to the Python twin: this walk recurses on the C stack. */
#define MAX_DEPTH 500

/* ascii_folds[c]: the folded ASCII character c, or SPACE where str.split() splits
 * (Py_UNICODE_ISSPACE: \t \n \v \f \r, \x1c-\x1f and the space). No ASCII character folds
 * to 0x80. */
#define SPACE 0x80
static unsigned char ascii_folds[128];

/* A stack buffer holds most resources' text; longer ones move to the heap. */
#define INLINE_CAPACITY 2048

typedef struct {
    char *data;
    Py_ssize_t length;
    Py_ssize_t capacity;
    int on_heap;
    int ascii;  /* no byte >= 0x80 so far: the result is made without decoding */
    int found;  /* a string was met (fold_content returns None when none is) */
    const unsigned char *table; /* text_folding.fold_table() (borrowed for the call) */
    Py_ssize_t table_size;      /* code points in the table */
    PyObject *cache; /* text_folding.FOLDED (borrowed for the call) */
    PyObject *fold;  /* text_folding.fold_text (borrowed for the call) */
    char inline_data[INLINE_CAPACITY];
} Text;

static void
text_init(Text *text, PyObject *cache, PyObject *fold)
{
    text->data = text->inline_data;
    text->length = 0;
    text->capacity = INLINE_CAPACITY;
    text->on_heap = 0;
    text->ascii = 1;
    text->found = 0;
    text->table = NULL;
    text->table_size = 0;
    text->cache = cache;
    text->fold = fold;
}

static void
text_release(Text *text)
{
    if (text->on_heap) {
        PyMem_Free(text->data);
    }
}

/* Room for `more` bytes after the text: doubling, so appends stay amortised O(1). */
static int
text_reserve(Text *text, Py_ssize_t more)
{
    if (more <= text->capacity - text->length) {
        return 0;
    }
    if (more > PY_SSIZE_T_MAX - text->length) {
        PyErr_NoMemory();
        return -1;
    }
    Py_ssize_t needed = text->length + more;
    Py_ssize_t capacity = text->capacity;
    while (capacity < needed) {
        capacity = capacity > PY_SSIZE_T_MAX / 2 ? needed : capacity * 2;
    }
    char *grown;
    if (text->on_heap) {
        grown = PyMem_Realloc(text->data, (size_t)capacity);
    }
    else {
        grown = PyMem_Malloc((size_t)capacity);
        if (grown != NULL) {
            memcpy(grown, text->data, (size_t)text->length);
        }
    }
    if (grown == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    text->data = grown;
    text->capacity = capacity;
    text->on_heap = 1;
    return 0;
}

/* Folds an ASCII string onto the text: lower case, each run of whitespace one space, none
 * before the first word of the whole text. Word by word, with the buffer's start and end in
 * locals (a char store may alias any field of `text`): about 7 instructions a character.
 * Writes at most n + 1 bytes: each word but the first one of `chars` follows at least one
 * whitespace character, and only the first can gain a separator it did not have. */
static int
text_add_ascii_words(Text *text, const unsigned char *chars, Py_ssize_t n)
{
    if (text_reserve(text, n + 1) < 0) {
        return WALK_ERROR;
    }
    char *const start = text->data;
    char *out = start + text->length;
    const unsigned char *const end = chars + n;
    while (chars < end) {
        unsigned char folded = ascii_folds[*chars++];
        if (folded == SPACE) {
            continue;
        }
        if (out != start) {
            *out++ = ' ';
        }
        *out++ = (char)folded;
        while (chars < end && (folded = ascii_folds[*chars]) != SPACE) {
            *out++ = (char)folded;
            chars++;
        }
    }
    text->length = out - start;
    return WALK_OK;
}

/* The narrative's fold: as text_add_ascii_words, and text between < and the next > reads as
 * whitespace, as re.sub("<[^>]*>", " ", ...) makes it. At most n + 1 bytes, by the same
 * argument (a tag is at least two characters and becomes at most one separator). */
static int
text_add_narrative(Text *text, const unsigned char *chars, Py_ssize_t n)
{
    if (text_reserve(text, n + 1) < 0) {
        return WALK_ERROR;
    }
    char *out = text->data + text->length;
    int in_word = 0;
    int tags = 1;
    for (Py_ssize_t i = 0; i < n; i++) {
        unsigned char folded = ascii_folds[chars[i]];
        if (tags && chars[i] == '<') {
            const unsigned char *end = memchr(chars + i + 1, '>', (size_t)(n - i - 1));
            if (end != NULL) {
                i = end - chars;
                in_word = 0;
                continue;
            }
            tags = 0; /* no > after this <: the regex matches nothing from here on */
        }
        if (folded == SPACE) {
            in_word = 0;
            continue;
        }
        if (!in_word) {
            if (out != text->data) {
                *out++ = ' ';
            }
            in_word = 1;
        }
        *out++ = (char)folded;
    }
    text->length = out - text->data;
    return WALK_OK;
}

/* Folds a non-ASCII string through the fold table, in the same way as text_add_ascii_words;
 * STRING_NOT_IN_TABLE (the text as it was) at the first character without an entry.
 * Writes at most ENTRY_LETTERS * n + 1 bytes, by text_add_ascii_words' argument. Inlined once
 * per string kind: with `kind` a constant, each character is one plain load. */
static Py_ALWAYS_INLINE inline int
text_add_table_of_kind(Text *text, const void *data, Py_ssize_t n, int kind)
{
    char *const start = text->data;
    const unsigned char *const table = text->table;
    const Py_UCS4 table_size = (Py_UCS4)text->table_size;
    char *out = start + text->length;
    int in_word = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_UCS4 code = PyUnicode_READ(kind, data, i);
        const unsigned char *letters;
        unsigned char length;
        if (code < 128) {
            letters = &ascii_folds[code];
            length = *letters == SPACE ? ENTRY_SPACE : 1;
        }
        else if (code < table_size) {
            letters = table + (size_t)code * ENTRY_SIZE + 1;
            length = letters[-1];
            if (length > ENTRY_LETTERS && length != ENTRY_SPACE) {
                return STRING_NOT_IN_TABLE; /* ENTRY_NOT_FOLDED */
            }
        }
        else {
            return STRING_NOT_IN_TABLE;
        }
        if (length == ENTRY_SPACE) {
            in_word = 0;
            continue;
        }
        if (length == 0) {
            continue; /* a mark: removed, the word goes on */
        }
        if (!in_word) {
            if (out != start) {
                *out++ = ' ';
            }
            in_word = 1;
        }
        *out++ = (char)letters[0];
        for (unsigned char k = 1; k < length; k++) {
            *out++ = (char)letters[k];
        }
    }
    text->length = out - start;
    return WALK_OK;
}

static int
text_add_table(Text *text, PyObject *string)
{
    Py_ssize_t n = PyUnicode_GET_LENGTH(string);
    if (n > (PY_SSIZE_T_MAX - 1) / ENTRY_LETTERS) {
        return STRING_NOT_IN_TABLE;
    }
    if (text_reserve(text, ENTRY_LETTERS * n + 1) < 0) {
        return WALK_ERROR;
    }
    const void *data = PyUnicode_DATA(string);
    switch (PyUnicode_KIND(string)) {
    case PyUnicode_1BYTE_KIND:
        return text_add_table_of_kind(text, data, n, PyUnicode_1BYTE_KIND);
    case PyUnicode_2BYTE_KIND:
        return text_add_table_of_kind(text, data, n, PyUnicode_2BYTE_KIND);
    default:
        return text_add_table_of_kind(text, data, n, PyUnicode_4BYTE_KIND);
    }
}

/* Appends a string the Python fold returned: already one-space separated, trimmed. */
static int
text_add_folded(Text *text, PyObject *folded)
{
    if (!PyUnicode_CheckExact(folded)) {
        return WALK_HAND_OVER;
    }
    Py_ssize_t n = PyUnicode_GET_LENGTH(folded);
    if (n == 0) {
        return WALK_OK; /* a string of marks or whitespace only: it drops out */
    }
    const char *bytes;
    if (PyUnicode_IS_ASCII(folded)) {
        bytes = (const char *)PyUnicode_1BYTE_DATA(folded);
    }
    else {
        bytes = PyUnicode_AsUTF8AndSize(folded, &n);
        if (bytes == NULL) {
            if (!PyErr_ExceptionMatches(PyExc_UnicodeEncodeError)) {
                return WALK_ERROR;
            }
            PyErr_Clear(); /* lone surrogates: not UTF-8, the Python twin joins them */
            return WALK_HAND_OVER;
        }
        text->ascii = 0;
    }
    if (text_reserve(text, n + 1) < 0) {
        return WALK_ERROR;
    }
    if (text->length > 0) {
        text->data[text->length++] = ' ';
    }
    memcpy(text->data + text->length, bytes, (size_t)n);
    text->length += n;
    return WALK_OK;
}

/* Python 3.11 may still hold a legacy string not yet in its compact form (never one the
 * parser made); the macros below read the compact form. Later versions have no other. */
static int
ready(PyObject *string)
{
#if PY_VERSION_HEX < 0x030C0000
    return PyUnicode_READY(string);
#else
    return 0;
#endif
}

/* One string of the content: ASCII folded here, the rest as fold_parts folds it. */
static int
text_add_string(Text *text, PyObject *string)
{
    text->found = 1;
    if (ready(string) < 0) {
        return WALK_ERROR;
    }
    if (PyUnicode_IS_ASCII(string)) {
        return text_add_ascii_words(text, PyUnicode_1BYTE_DATA(string),
                                    PyUnicode_GET_LENGTH(string));
    }
    int tabled = text_add_table(text, string);
    if (tabled != STRING_NOT_IN_TABLE) {
        return tabled;
    }
    PyObject *folded = PyDict_GetItemWithError(text->cache, string);
    if (folded != NULL) {
        Py_INCREF(folded);
    }
    else if (PyErr_Occurred()) {
        return WALK_ERROR;
    }
    else {
        folded = PyObject_CallOneArg(text->fold, string);
        if (folded == NULL) {
            return WALK_ERROR;
        }
    }
    int result = text_add_folded(text, folded);
    Py_DECREF(folded);
    return result;
}

/* The keys whose strings are machinery, not content: index_rows._NOT_CONTENT (a test
 * checks each of them and keys of the same lengths). A switch on the length, then one
 * compare: about a hundred keys per resource come here. A non-ASCII key equals none.
 * NARRATIVE_KEY for "div": its object is a narrative, none of its strings is content. */
#define MACHINERY_KEY 1
#define NARRATIVE_KEY 2

static int
machinery(PyObject *key)
{
    if (!PyUnicode_IS_ASCII(key)) {
        return 0;
    }
    const char *chars = (const char *)PyUnicode_1BYTE_DATA(key);
    switch (PyUnicode_GET_LENGTH(key)) {
    case 2:
        return memcmp(chars, "id", 2) == 0 ? MACHINERY_KEY : 0;
    case 3:
        if (memcmp(chars, "div", 3) == 0) {
            return NARRATIVE_KEY;
        }
        return memcmp(chars, "url", 3) == 0 ? MACHINERY_KEY : 0;
    case 4:
        return memcmp(chars, "meta", 4) == 0 ? MACHINERY_KEY : 0;
    case 6:
        return memcmp(chars, "system", 6) == 0 ? MACHINERY_KEY : 0;
    case 9:
        return memcmp(chars, "reference", 9) == 0 ? MACHINERY_KEY : 0;
    case 12:
        return memcmp(chars, "resourceType", 12) == 0 ? MACHINERY_KEY : 0;
    default:
        return 0;
    }
}

static int walk_object(Text *text, PyObject *object, int depth);
static int walk_array(Text *text, PyObject *array, int depth);

/* A value inside an object or an array: the types the JSON parser makes, nothing else. */
static inline int
walk_value(Text *text, PyObject *value, int depth)
{
    PyTypeObject *type = Py_TYPE(value);
    if (type == &PyUnicode_Type) {
        return text_add_string(text, value);
    }
    if (type == &PyDict_Type) {
        return walk_object(text, value, depth + 1);
    }
    if (type == &PyList_Type) {
        return walk_array(text, value, depth + 1);
    }
    if (value == Py_None || type == &PyBool_Type || type == &PyLong_Type ||
        type == &PyFloat_Type) {
        return WALK_OK;
    }
    return WALK_HAND_OVER;
}

/* An object holding "div" is skipped whole (the Python twin asks `"div" in value` first).
 * Found while walking, not by a lookup per object (~130 instructions, ~17 objects a
 * resource): the text is then cut back to where the object began. With every key an exact
 * str, the lookup's answer is that of this scan and runs no Python code; the keys after
 * "div" are checked for that. */
static int
skip_narrative(Text *text, PyObject *object, Py_ssize_t position, Py_ssize_t length, int found)
{
    PyObject *key, *value;
    while (PyDict_Next(object, &position, &key, &value)) {
        if (!PyUnicode_CheckExact(key)) {
            return WALK_HAND_OVER;
        }
    }
    text->length = length;
    text->found = found;
    return WALK_OK;
}

static int
walk_object(Text *text, PyObject *object, int depth)
{
    if (depth > MAX_DEPTH) {
        return WALK_HAND_OVER;
    }
    Py_ssize_t length = text->length;
    int found = text->found;
    Py_ssize_t position = 0;
    PyObject *key, *value;
    while (PyDict_Next(object, &position, &key, &value)) {
        if (!PyUnicode_CheckExact(key)) {
            return WALK_HAND_OVER; /* its membership tests may run Python code */
        }
        if (ready(key) < 0) {
            return WALK_ERROR;
        }
        int kind = machinery(key);
        if (kind == NARRATIVE_KEY) {
            return skip_narrative(text, object, position, length, found);
        }
        if (kind == MACHINERY_KEY) {
            continue;
        }
        Py_INCREF(value); /* the fold calls Python code: keep the value alive */
        int result = walk_value(text, value, depth);
        Py_DECREF(value);
        if (result != WALK_OK) {
            return result;
        }
    }
    return WALK_OK;
}

static int
walk_array(Text *text, PyObject *array, int depth)
{
    if (depth > MAX_DEPTH) {
        return WALK_HAND_OVER;
    }
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(array); i++) {
        PyObject *value = PyList_GET_ITEM(array, i);
        Py_INCREF(value);
        int result = walk_value(text, value, depth);
        Py_DECREF(value);
        if (result != WALK_OK) {
            return result;
        }
    }
    return WALK_OK;
}

/* The text as a str: copied when ASCII (the common case: Vietnamese folds to ASCII). */
static PyObject *
text_result(Text *text)
{
    if (!text->ascii) {
        return PyUnicode_DecodeUTF8(text->data, text->length, "strict");
    }
    PyObject *result = PyUnicode_New(text->length, 127);
    if (result != NULL && text->length > 0) {
        memcpy(PyUnicode_1BYTE_DATA(result), text->data, (size_t)text->length);
    }
    return result;
}

PyDoc_STRVAR(content_doc,
"content(resource, table, folded, fold_text, fallback, /) -> str | None\n\n"
"index_rows.fold_content(resource): every content string folded and joined, or None when\n"
"there is none. `table` is text_folding.fold_table(), `folded` text_folding.FOLDED,\n"
"`fold_text` folds the strings the table cannot; what the parser never makes is answered\n"
"by fallback(resource).");

static PyObject *
content(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 5) {
        PyErr_Format(PyExc_TypeError, "content() takes 5 arguments (%zd given)", nargs);
        return NULL;
    }
    PyObject *resource = args[0], *table = args[1], *cache = args[2], *fold = args[3];
    PyObject *fallback = args[4];
    if (!PyBytes_CheckExact(table) || PyBytes_GET_SIZE(table) % ENTRY_SIZE != 0) {
        PyErr_SetString(PyExc_TypeError, "content(): table must be bytes of 4-byte entries");
        return NULL;
    }
    if (!PyDict_CheckExact(cache)) {
        PyErr_SetString(PyExc_TypeError, "content(): folded must be a dict");
        return NULL;
    }
    Text text;
    text_init(&text, cache, fold);
    text.table = (const unsigned char *)PyBytes_AS_STRING(table);
    text.table_size = PyBytes_GET_SIZE(table) / ENTRY_SIZE;
    int walked = PyDict_CheckExact(resource) ? walk_object(&text, resource, 0) : WALK_HAND_OVER;
    PyObject *result = NULL;
    if (walked == WALK_OK) {
        result = text.found ? text_result(&text) : Py_NewRef(Py_None);
    }
    else if (walked == WALK_HAND_OVER) {
        result = PyObject_CallOneArg(fallback, resource);
    }
    text_release(&text);
    return result;
}

PyDoc_STRVAR(narrative_doc,
"narrative(div, fallback, /) -> str\n\n"
"index_rows.fold_narrative(div): the narrative's folded text, its tags read as spaces.\n"
"ASCII here; any other text is answered by fallback(div).");

static PyObject *
narrative(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2) {
        PyErr_Format(PyExc_TypeError, "narrative() takes 2 arguments (%zd given)", nargs);
        return NULL;
    }
    PyObject *div = args[0], *fallback = args[1];
    if (PyUnicode_CheckExact(div) && ready(div) < 0) {
        return NULL;
    }
    if (!PyUnicode_CheckExact(div) || !PyUnicode_IS_ASCII(div)) {
        return PyObject_CallOneArg(fallback, div);
    }
    Text text;
    text_init(&text, NULL, NULL);
    PyObject *result = NULL;
    if (text_add_narrative(&text, PyUnicode_1BYTE_DATA(div), PyUnicode_GET_LENGTH(div)) ==
        WALK_OK) {
        result = text_result(&text);
    }
    text_release(&text);
    return result;
}

static PyMethodDef methods[] = {
    {"content", (PyCFunction)(void (*)(void))content, METH_FASTCALL, content_doc},
    {"narrative", (PyCFunction)(void (*)(void))narrative, METH_FASTCALL, narrative_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT,
    .m_name = "yteso.store._text",
    .m_doc = "C twins of index_rows.fold_content and fold_narrative (see _text.c).",
    .m_size = -1,
    .m_methods = methods,
};

static void
fill_ascii_folds(void)
{
    for (int c = 0; c < 128; c++) {
        ascii_folds[c] = (unsigned char)(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
    }
    /* str.split()'s ASCII whitespace (_Py_ascii_whitespace) */
    static const unsigned char spaces[] = {'\t', '\n', '\v', '\f', '\r', 0x1c, 0x1d, 0x1e,
                                           0x1f, ' '};
    for (size_t k = 0; k < sizeof(spaces); k++) {
        ascii_folds[spaces[k]] = SPACE;
    }
}

PyMODINIT_FUNC
PyInit__text(void)
{
    fill_ascii_folds();
    return PyModule_Create(&module_def);
}
