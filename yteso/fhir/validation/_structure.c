/* The structure walk's verdict: "certainly no issue" (True) or "not sure" (False).
 *
 * The C twin of yteso/fhir/validation/structure.py's validate_resource for a top-level
 * resource under the platform's default options (verdict.py says why and how it is used).
 * It must never answer True where the Python walk would append an issue of any severity, so
 * everything it does not handle exactly like the walk answers False: the Python walk then
 * runs and reports. Specs come as tuples built by verdict.py (_describe), read once and
 * cached. Every internal function returns 1 (no issue here) or 0 (not sure, or a Python
 * error, which certainly_valid clears: the Python walk will meet the same error itself).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

/* A field tuple, in verdict.py's _field_tuple order. */
enum {
    F_FIELD, F_FLAGS, F_ARRAY, F_MAX, F_CHOICE, F_CODES, F_SPEC, F_CHECK, F_IS_EXTENSION,
    F_CONTEXTS, F_TARGETS, F_HOLDER, F_KNOWN_TEXTS, F_KNOWN_CODINGS, F_SIZE
};
/* The bytes at F_FLAGS (checked once per spec): the field's kind (specs.PRIMITIVE...), its
 * simple kind (K_ below) and its rule kind (R_ below); a byte read is cheaper than an int's. */
enum { FLAG_KIND, FLAG_SIMPLE, FLAG_RULES, FLAG_SIZE };
#define FLAG(field, which) \
    ((long)(unsigned char)PyBytes_AS_STRING(PyTuple_GET_ITEM((field), F_FLAGS))[(which)])
/* verdict.py's rule kinds: how a field's datatype rules are checked. */
enum { R_NONE, R_REFERENCE, R_CODING, R_OTHER };
/* A spec tuple, in verdict.py's _describe order. */
enum { S_FIELDS, S_REQUIRED, S_PROHIBITED, S_IS_RESOURCE, S_IS_EXTENSION, S_SIZE };
/* primitives.py's simple kinds: checks whose verdict is given here without calling them. */
enum {
    K_CALL, K_TEXT, K_ID, K_BOOLEAN, K_DECIMAL, K_INTEGER, K_POSITIVE, K_UNSIGNED, K_URI,
    K_CODE, K_DATE, K_DATE_TIME, K_INSTANT
};

#define MAX_STRING_LENGTH (1024 * 1024) /* primitives.MAX_STRING_LENGTH */
#define MAX_ID_LENGTH 64
#define INTEGER_MIN (-2147483647LL - 1)
#define INTEGER_MAX 2147483647LL
/* Bounds of the per-field memories (primitives._REMEMBERED_LENGTH and _VALUES; a Coding's
 * (system, code) pairs as structure._REMEMBERED_OBJECTS). */
#define REMEMBERED_LENGTH 100
#define REMEMBERED_VALUES 20000
#define REMEMBERED_CODINGS 50000
/* Choice groups noted per object before giving up (an object has a few at most). */
#define MAX_CHOICES 8

/* Set by configure(): the Python helpers the walk shares with structure.py. */
static PyObject *describe_spec;     /* ComplexSpec -> spec tuple */
static PyObject *describe_resource; /* resource type -> (spec tuple, contexts) or None */
static PyObject *datatype_rules;    /* structure._datatype_rules */
static PyObject *check_extensions;  /* extensions.check_extensions */
static PyObject *check_sub_extensions;
static PyObject *resource_types;    /* definitions.resource_types() */
static long kind_primitive = -1, kind_resource = -1;

static PyObject *spec_cache;     /* ComplexSpec -> spec tuple */
static PyObject *resource_cache; /* resource type -> (spec tuple, contexts) */

static PyObject *s_resource_type, *s_extension, *s_modifier_extension, *s_id, *s_value,
    *s_underscore_value, *s_bundle, *s_empty, *s_reference, *s_urn, *s_system, *s_code;

/* The walk's scratch issue list for the Python helpers (made on first need). */
typedef struct {
    PyObject *scratch;
} Walk;

static int check_object(Walk *walk, PyObject *obj, PyObject *spec, int *holds);

static long
small_int(PyObject *tuple, Py_ssize_t index)
{
    /* verdict.py puts ints there; a wrong type reads as -1, which no check accepts as valid */
    PyObject *item = PyTuple_GET_ITEM(tuple, index);
    if (!PyLong_CheckExact(item))
        return -1;
    return PyLong_AsLong(item);
}

/* A field tuple as verdict.py builds it, so the walk reads it without checks. */
static int
field_tuple_ok(PyObject *field)
{
    return PyTuple_CheckExact(field) && PyTuple_GET_SIZE(field) == F_SIZE
        && PyBytes_CheckExact(PyTuple_GET_ITEM(field, F_FLAGS))
        && PyBytes_GET_SIZE(PyTuple_GET_ITEM(field, F_FLAGS)) == FLAG_SIZE
        && PyLong_CheckExact(PyTuple_GET_ITEM(field, F_MAX));
}

/* The spec tuple of a ComplexSpec, described by verdict.py on first use (borrowed: the
 * cache owns it and never drops an entry). */
static PyObject *
spec_tuple(PyObject *spec)
{
    PyObject *found = PyDict_GetItemWithError(spec_cache, spec);
    if (found != NULL || PyErr_Occurred())
        return found;
    PyObject *made = PyObject_CallOneArg(describe_spec, spec);
    if (made == NULL)
        return NULL;
    if (!PyTuple_CheckExact(made) || PyTuple_GET_SIZE(made) != S_SIZE
        || !PyDict_CheckExact(PyTuple_GET_ITEM(made, S_FIELDS))
        || !PyTuple_CheckExact(PyTuple_GET_ITEM(made, S_REQUIRED))
        || !PyAnySet_Check(PyTuple_GET_ITEM(made, S_PROHIBITED))) {
        Py_DECREF(made);
        PyErr_SetString(PyExc_TypeError, "verdict: malformed spec tuple");
        return NULL;
    }
    /* every field tuple is checked once here, so the walk reads them without checks */
    PyObject *key, *field;
    Py_ssize_t pos = 0;
    while (PyDict_Next(PyTuple_GET_ITEM(made, S_FIELDS), &pos, &key, &field)) {
        if (!field_tuple_ok(field)) {
            Py_DECREF(made);
            PyErr_SetString(PyExc_TypeError, "verdict: malformed field tuple");
            return NULL;
        }
    }
    int failed = PyDict_SetItem(spec_cache, spec, made);
    Py_DECREF(made);
    return failed ? NULL : PyDict_GetItemWithError(spec_cache, spec);
}

/* After a Python helper appended to the scratch list: 1 when it appended nothing. */
static int
call_helper(Walk *walk, PyObject *helper, PyObject *const *args, size_t count)
{
    if (walk->scratch == NULL && (walk->scratch = PyList_New(0)) == NULL)
        return 0;
    PyObject *full[4];
    for (size_t i = 0; i < count; i++)
        full[i] = args[i];
    full[count] = walk->scratch;
    PyObject *result = PyObject_Vectorcall(helper, full, count + 1, NULL);
    if (result == NULL)
        return 0;
    Py_DECREF(result);
    return PyList_GET_SIZE(walk->scratch) == 0;
}

static int
text_valid(PyObject *value)
{
    /* primitives._text_check: a non-empty str without \v or \f, at most 1 MB */
    if (!PyUnicode_CheckExact(value))
        return 0;
    Py_ssize_t size = PyUnicode_GET_LENGTH(value);
    if (size == 0 || size > MAX_STRING_LENGTH)
        return 0;
    if (PyUnicode_KIND(value) == PyUnicode_1BYTE_KIND) { /* most texts: memchr, no call */
        const Py_UCS1 *text = PyUnicode_1BYTE_DATA(value);
        return memchr(text, '\v', size) == NULL && memchr(text, '\f', size) == NULL;
    }
    return PyUnicode_FindChar(value, '\v', 0, size, 1) == -1
        && PyUnicode_FindChar(value, '\f', 0, size, 1) == -1;
}

static int
id_valid(PyObject *value)
{
    /* primitives.id_shaped: 1-64 ASCII letters, digits, '-' or '.' */
    if (!PyUnicode_CheckExact(value) || !PyUnicode_IS_ASCII(value))
        return 0;
    Py_ssize_t size = PyUnicode_GET_LENGTH(value);
    if (size == 0 || size > MAX_ID_LENGTH)
        return 0;
    const Py_UCS1 *text = PyUnicode_1BYTE_DATA(value);
    for (Py_ssize_t i = 0; i < size; i++) {
        Py_UCS1 c = text[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
            || c == '-' || c == '.';
        if (!ok)
            return 0;
    }
    return 1;
}

/* The six characters of \\s under re.ASCII (the spec's regexes are Java's, ASCII-only). */
static int
ascii_space(Py_UCS4 c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static int
uri_valid(PyObject *value)
{
    /* R4's uri regex \S*, non-empty (primitives._string_check): no ASCII whitespace */
    if (!PyUnicode_CheckExact(value))
        return 0;
    Py_ssize_t size = PyUnicode_GET_LENGTH(value);
    if (size == 0 || size > MAX_STRING_LENGTH)
        return 0;
    int kind = PyUnicode_KIND(value);
    const void *data = PyUnicode_DATA(value);
    if (kind == PyUnicode_1BYTE_KIND) { /* most URIs: a byte loop (ASCII spaces are < 0x21) */
        const Py_UCS1 *text = data;
        for (Py_ssize_t i = 0; i < size; i++) {
            if (text[i] <= ' ' && ascii_space(text[i]))
                return 0;
        }
        return 1;
    }
    for (Py_ssize_t i = 0; i < size; i++) {
        if (ascii_space(PyUnicode_READ(kind, data, i)))
            return 0;
    }
    return 1;
}

static int
code_valid(PyObject *value)
{
    /* R4's code regex [^\s]+(\s[^\s]+)*: runs of non-whitespace, one whitespace between */
    if (!PyUnicode_CheckExact(value))
        return 0;
    Py_ssize_t size = PyUnicode_GET_LENGTH(value);
    if (size == 0 || size > MAX_STRING_LENGTH)
        return 0;
    int kind = PyUnicode_KIND(value);
    const void *data = PyUnicode_DATA(value);
    int previous_space = 1; /* a leading space is as bad as a doubled one */
    for (Py_ssize_t i = 0; i < size; i++) {
        int space = ascii_space(PyUnicode_READ(kind, data, i));
        if (space && previous_space)
            return 0;
        previous_space = space;
    }
    return !previous_space; /* no trailing space */
}

static int
digits(const Py_UCS1 *text, Py_ssize_t start, Py_ssize_t end)
{
    if (start >= end)
        return 0; /* str.isdigit() of an empty text */
    for (Py_ssize_t i = start; i < end; i++) {
        if (text[i] < '0' || text[i] > '9')
            return 0;
    }
    return 1;
}

/* Two ASCII characters compared as text, as the Python compares two-character slices. */
static int
pair_cmp(const Py_UCS1 *text, const char *other)
{
    if (text[0] != (Py_UCS1)other[0])
        return text[0] < (Py_UCS1)other[0] ? -1 : 1;
    if (text[1] != (Py_UCS1)other[1])
        return text[1] < (Py_UCS1)other[1] ? -1 : 1;
    return 0;
}

/* primitives._calendar_shaped, line by line; kind 1 date, 2 dateTime, 3 instant. */
static int
calendar_shaped(const Py_UCS1 *text, Py_ssize_t size, int kind)
{
    if (size < 10 || text[4] != '-' || text[7] != '-')
        return 0;
    if (!digits(text, 0, 4) || !digits(text, 5, 7) || !digits(text, 8, 10)
        || memcmp(text, "0000", 4) == 0)
        return 0;
    if (pair_cmp(text + 5, "01") < 0 || pair_cmp(text + 5, "12") > 0
        || pair_cmp(text + 8, "01") < 0 || pair_cmp(text + 8, "31") > 0)
        return 0;
    if (size == 10)
        return kind != 3;
    if (kind == 1 || size < 20 || text[10] != 'T' || text[13] != ':' || text[16] != ':')
        return 0;
    if (!digits(text, 11, 13) || !digits(text, 14, 16) || !digits(text, 17, 19))
        return 0;
    if (pair_cmp(text + 11, "23") > 0 || pair_cmp(text + 14, "59") > 0
        || pair_cmp(text + 17, "60") > 0)
        return 0;
    Py_ssize_t fraction_end; /* the fraction is text[19:fraction_end] */
    if (text[size - 1] == 'Z') {
        fraction_end = size - 1;
    } else {
        if (size - 19 < 6)
            return 0; /* the zone would be shorter than six characters */
        const Py_UCS1 *zone = text + size - 6;
        if ((zone[0] != '+' && zone[0] != '-') || zone[3] != ':')
            return 0;
        if (!digits(zone, 1, 3) || !digits(zone, 4, 6))
            return 0;
        int ordinary = pair_cmp(zone + 1, "13") <= 0 && pair_cmp(zone + 4, "59") <= 0;
        int fourteen = pair_cmp(zone + 1, "14") == 0 && pair_cmp(zone + 4, "00") == 0;
        if (!ordinary && !fourteen)
            return 0;
        fraction_end = size - 6;
    }
    if (fraction_end == 19)
        return 1;
    return text[19] == '.' && digits(text, 20, fraction_end);
}

/* primitives._valid_calendar_day on a shaped text (month 01-12). */
static int
calendar_day(const Py_UCS1 *text, Py_ssize_t size)
{
    static const int days_in_month[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (size < 10 || pair_cmp(text + 8, "28") <= 0)
        return 1;
    int year = (text[0] - '0') * 1000 + (text[1] - '0') * 100 + (text[2] - '0') * 10
        + (text[3] - '0');
    int month = (text[5] - '0') * 10 + (text[6] - '0');
    int day = (text[8] - '0') * 10 + (text[9] - '0');
    if (month == 2 && day == 29)
        return year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    return day <= days_in_month[month - 1];
}

/* The date, dateTime and instant checks' "valid" for the shapes _calendar_shaped knows; 0
 * says nothing (a year alone, an odd text): the caller asks the check itself. */
static int
calendar_valid(PyObject *value, int kind)
{
    if (!PyUnicode_CheckExact(value) || !PyUnicode_IS_ASCII(value))
        return 0;
    Py_ssize_t size = PyUnicode_GET_LENGTH(value);
    if (size > MAX_STRING_LENGTH)
        return 0;
    const Py_UCS1 *text = PyUnicode_1BYTE_DATA(value);
    return calendar_shaped(text, size, kind) && calendar_day(text, size);
}

static int
integer_valid(PyObject *value, long long minimum)
{
    /* primitives._number_check for the integral types: an int (not a bool) in range */
    if (!PyLong_CheckExact(value))
        return 0;
    int overflow = 0;
    long long number = PyLong_AsLongLongAndOverflow(value, &overflow);
    if (overflow || (number == -1 && PyErr_Occurred()))
        return 0;
    return number >= minimum && number <= INTEGER_MAX;
}

/* A check this file does not make itself (code, uri, dateTime...), called; texts it found
 * valid are remembered per field, as the check's closure does (a call through its __call__
 * slot costs ~1.5k instructions, a set lookup ~150). The checks are pure functions of the
 * value, so a remembered text is valid for good. */
static int
called_check_valid(PyObject *field, PyObject *value)
{
    PyObject *known = PyTuple_GET_ITEM(field, F_KNOWN_TEXTS);
    int text = PyUnicode_CheckExact(value) && PySet_CheckExact(known);
    if (text) {
        int found = PySet_Contains(known, value);
        if (found != 0)
            return found == 1;
    }
    PyObject *problem = PyObject_CallOneArg(PyTuple_GET_ITEM(field, F_CHECK), value);
    if (problem == NULL)
        return 0;
    int ok = problem == Py_None;
    Py_DECREF(problem);
    if (ok && text && PyUnicode_GET_LENGTH(value) <= REMEMBERED_LENGTH
        && PySet_GET_SIZE(known) < REMEMBERED_VALUES && PySet_Add(known, value) < 0)
        return 0;
    return ok;
}

/* One primitive value against its field: its check, then its required codes. */
static int
primitive_valid(PyObject *field, PyObject *value)
{
    int ok;
    switch (FLAG(field, FLAG_SIMPLE)) {
    case K_TEXT: ok = text_valid(value); break;
    case K_ID: ok = id_valid(value); break;
    case K_BOOLEAN: ok = PyBool_Check(value); break;
    case K_DECIMAL: ok = PyLong_CheckExact(value) || PyFloat_CheckExact(value); break;
    case K_INTEGER: ok = integer_valid(value, INTEGER_MIN); break;
    case K_POSITIVE: ok = integer_valid(value, 1); break;
    case K_UNSIGNED: ok = integer_valid(value, 0); break;
    case K_URI: ok = uri_valid(value); break;
    case K_CODE: ok = code_valid(value); break;
    case K_DATE:
    case K_DATE_TIME:
    case K_INSTANT:
        ok = calendar_valid(value, (int)(FLAG(field, FLAG_SIMPLE) - K_DATE + 1))
            || called_check_valid(field, value);
        break;
    case K_CALL: ok = called_check_valid(field, value); break;
    default: return 0; /* a kind this file does not know */
    }
    if (!ok)
        return 0;
    PyObject *codes = PyTuple_GET_ITEM(field, F_CODES);
    return codes == Py_None || PySet_Contains(codes, value) == 1;
}

/* structure._extension_shape: an extension has a value[x] or extensions, not both. */
static int
extension_shape(PyObject *obj)
{
    int has_value = 0;
    PyObject *key, *value;
    Py_ssize_t pos = 0;
    while (!has_value && PyDict_Next(obj, &pos, &key, &value)) {
        Py_ssize_t a = PyUnicode_Tailmatch(key, s_value, 0, PY_SSIZE_T_MAX, -1);
        Py_ssize_t b = a ? a : PyUnicode_Tailmatch(key, s_underscore_value, 0, PY_SSIZE_T_MAX, -1);
        if (a < 0 || b < 0)
            return 0;
        has_value = a || b;
    }
    int has_extensions = PyDict_Contains(obj, s_extension);
    if (has_extensions < 0)
        return 0;
    return has_value != has_extensions;
}

/* id_shaped for text[start:end] of a 1-byte string. */
static int
id_span(const Py_UCS1 *text, Py_ssize_t start, Py_ssize_t end)
{
    if (end - start < 1 || end - start > MAX_ID_LENGTH)
        return 0;
    for (Py_ssize_t i = start; i < end; i++) {
        Py_UCS1 c = text[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
              || c == '-' || c == '.'))
            return 0;
    }
    return 1;
}

/* references.check_reference where it decides alone: no text, ``#id``, ``urn:``, or the
 * plain ``Type/id`` (ASCII letters, a slash, an id: no ':' or '?', so neither the absolute
 * nor the conditional branch) with a known type the field allows. -1: ask the helper. */
static int
reference_shortcut(PyObject *field, PyObject *obj)
{
    PyObject *reference = PyDict_GetItemWithError(obj, s_reference);
    if (reference == NULL)
        return PyErr_Occurred() ? 0 : 1;
    if (!PyUnicode_CheckExact(reference) || PyUnicode_GET_LENGTH(reference) == 0)
        return 1; /* not a text: the walk of ``reference`` itself reports it */
    if (PyUnicode_READ_CHAR(reference, 0) == '#')
        return 1;
    Py_ssize_t urn = PyUnicode_Tailmatch(reference, s_urn, 0, PY_SSIZE_T_MAX, -1);
    if (urn != 0)
        return urn == 1;
    if (!PyUnicode_IS_ASCII(reference))
        return -1;
    const Py_UCS1 *text = PyUnicode_1BYTE_DATA(reference);
    Py_ssize_t size = PyUnicode_GET_LENGTH(reference), slash = 0;
    while (slash < size && ((text[slash] >= 'a' && text[slash] <= 'z')
                            || (text[slash] >= 'A' && text[slash] <= 'Z')))
        slash++;
    if (slash == 0 || slash == size || text[slash] != '/' || !id_span(text, slash + 1, size))
        return -1;
    PyObject *type_name = PyUnicode_Substring(reference, 0, slash);
    if (type_name == NULL)
        return 0;
    PyObject *targets = PyTuple_GET_ITEM(field, F_TARGETS);
    int known = PySet_Contains(resource_types, type_name);
    int allowed = targets == Py_None ? 1 : PySet_Contains(targets, type_name);
    Py_DECREF(type_name);
    if (known < 0 || allowed < 0)
        return 0;
    return known && allowed ? 1 : -1; /* an issue: the helper's to word */
}

/* A Coding's rules (structure._datatype_rules: check_coding_system and the required
 * concepts) read only its system and code: the helper's verdict is remembered per pair. */
static int
coding_rules_valid(Walk *walk, PyObject *field, PyObject *obj)
{
    PyObject *system = PyDict_GetItemWithError(obj, s_system);
    PyObject *code = system || !PyErr_Occurred() ? PyDict_GetItemWithError(obj, s_code) : NULL;
    if (PyErr_Occurred())
        return 0;
    PyObject *known = PyTuple_GET_ITEM(field, F_KNOWN_CODINGS);
    PyObject *pair = NULL;
    if ((system == NULL || PyUnicode_CheckExact(system))
        && (code == NULL || PyUnicode_CheckExact(code)) && PySet_CheckExact(known)) {
        pair = PyTuple_Pack(2, system ? system : Py_None, code ? code : Py_None);
        if (pair == NULL)
            return 0;
        int found = PySet_Contains(known, pair);
        if (found != 0) {
            Py_DECREF(pair);
            return found == 1;
        }
    }
    PyObject *args[3] = {PyTuple_GET_ITEM(field, F_FIELD), obj, s_empty};
    int ok = call_helper(walk, datatype_rules, args, 3);
    if (ok && pair != NULL && PySet_GET_SIZE(known) < REMEMBERED_CODINGS
        && PySet_Add(known, pair) < 0)
        ok = 0;
    Py_XDECREF(pair);
    return ok;
}

/* Reference targets, Coding systems and codes, required concepts, Attachment size: the
 * walk's own helper (the path is only ever part of an issue's text), or its shortcuts. */
static int
rules_valid(Walk *walk, PyObject *field, PyObject *obj)
{
    long rules = FLAG(field, FLAG_RULES);
    if (rules == R_NONE)
        return 1;
    if (rules == R_CODING)
        return coding_rules_valid(walk, field, obj);
    if (rules == R_REFERENCE) {
        int shortcut = reference_shortcut(field, obj);
        if (shortcut >= 0)
            return shortcut;
    }
    PyObject *args[3] = {PyTuple_GET_ITEM(field, F_FIELD), obj, s_empty};
    return call_helper(walk, datatype_rules, args, 3);
}

/* structure._complex_item: the object, its datatype rules, its extensions. */
static int
complex_valid(Walk *walk, PyObject *field, PyObject *obj)
{
    PyObject *nested = PyTuple_GET_ITEM(field, F_SPEC);
    if (nested == Py_None)
        return 0; /* the Python walk asserts a spec here */
    PyObject *spec = spec_tuple(nested);
    int holds = 0;
    if (spec == NULL || !check_object(walk, obj, spec, &holds) || !rules_valid(walk, field, obj))
        return 0;
    if (!holds)
        return 1;
    if (PyTuple_GET_ITEM(field, F_IS_EXTENSION) == Py_True) {
        PyObject *args[2] = {obj, s_empty};
        return call_helper(walk, check_sub_extensions, args, 2);
    }
    PyObject *args[3] = {obj, PyTuple_GET_ITEM(field, F_CONTEXTS), s_empty};
    return call_helper(walk, check_extensions, args, 3);
}

/* structure._item for one complex value; resources (contained, Bundle entries) are the
 * Python walk's. (Its memory of flat Codings and Quantities is replaced by the per-field
 * memories above: the object itself is cheap to walk here.) */
static int
item_valid(Walk *walk, PyObject *field, PyObject *value)
{
    if (FLAG(field, FLAG_KIND) == kind_resource || !PyDict_CheckExact(value))
        return 0;
    Py_ssize_t size = PyDict_GET_SIZE(value);
    if (size == 0)
        return 0; /* ele-1 */
    if (size == 1) {
        int only_id = PyDict_Contains(value, s_id);
        if (only_id != 0)
            return 0; /* ele-1, or an error */
    }
    return complex_valid(walk, field, value);
}

/* structure._array: a non-empty JSON array within max, each item valid (no nulls here:
 * whether one is allowed depends on the _key array, which the Python walk judges). */
static int
array_valid(Walk *walk, PyObject *field, PyObject *value)
{
    if (!PyList_CheckExact(value) || PyList_GET_SIZE(value) == 0)
        return 0;
    long max_count = small_int(field, F_MAX);
    if (max_count >= 0 && PyList_GET_SIZE(value) > max_count)
        return 0;
    int primitive = FLAG(field, FLAG_KIND) == kind_primitive;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(value); i++) {
        PyObject *item = PyList_GET_ITEM(value, i);
        if (item == Py_None)
            return 0;
        Py_INCREF(item); /* the Python helpers called below must not free it under us */
        int ok = primitive ? primitive_valid(field, item) : item_valid(walk, field, item);
        Py_DECREF(item);
        if (!ok)
            return 0;
    }
    return 1;
}

/* structure._note_choice: a second key of one choice group (valueString beside
 * valueQuantity) is an issue; keys of a dict are distinct, so any second one is. */
static int
note_choice(PyObject *choice, PyObject **seen, int *count)
{
    if (choice == Py_None)
        return 1;
    for (int i = 0; i < *count; i++) {
        if (seen[i] == choice)
            return 0;
        int same = PyObject_RichCompareBool(seen[i], choice, Py_EQ);
        if (same != 0)
            return 0;
    }
    if (*count == MAX_CHOICES)
        return 0; /* more choice groups than expected: not sure */
    seen[(*count)++] = choice;
    return 1;
}

/* A key the spec has no field for: only resourceType on a resource is no issue (primitive
 * extensions such as _birthDate are left to the Python walk). */
static int
key_without_field(PyObject *key, PyObject *spec)
{
    if (PyTuple_GET_ITEM(spec, S_IS_RESOURCE) != Py_True)
        return 0;
    int same = PyObject_RichCompareBool(key, s_resource_type, Py_EQ);
    if (same != 1)
        return 0;
    return PySet_Contains(PyTuple_GET_ITEM(spec, S_PROHIBITED), key) == 0;
}

static int
value_valid(Walk *walk, PyObject *field, PyObject *value)
{
    if (PyTuple_GET_ITEM(field, F_ARRAY) == Py_True)
        return array_valid(walk, field, value);
    if (PyList_CheckExact(value))
        return 0; /* a single value given as an array */
    if (FLAG(field, FLAG_KIND) == kind_primitive)
        return primitive_valid(field, value);
    return item_valid(walk, field, value);
}

/* Every required element present (any of its JSON keys). */
static int
required_present(PyObject *obj, PyObject *spec)
{
    PyObject *required = PyTuple_GET_ITEM(spec, S_REQUIRED);
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(required); i++) {
        PyObject *keys = PyTuple_GET_ITEM(required, i);
        if (!PyTuple_CheckExact(keys))
            return 0;
        int found = 0;
        for (Py_ssize_t j = 0; j < PyTuple_GET_SIZE(keys) && !found; j++) {
            found = PyDict_Contains(obj, PyTuple_GET_ITEM(keys, j));
            if (found < 0)
                return 0;
        }
        if (!found)
            return 0;
    }
    return 1;
}

/* structure.check_object: every key known and valid, the required ones present. ``holds``:
 * set when the object has an extension or modifierExtension key (both have fields wherever
 * they are allowed; a key without a field already answers 0). */
static int
check_object(Walk *walk, PyObject *obj, PyObject *spec, int *holds)
{
    PyObject *fields = PyTuple_GET_ITEM(spec, S_FIELDS);
    PyObject *seen[MAX_CHOICES];
    int choices = 0;
    PyObject *key, *value;
    Py_ssize_t pos = 0;
    while (PyDict_Next(obj, &pos, &key, &value)) {
        if (!PyUnicode_CheckExact(key))
            return 0;
        PyObject *field = PyDict_GetItemWithError(fields, key);
        if (field == NULL) {
            if (PyErr_Occurred() || !key_without_field(key, spec))
                return 0;
            continue;
        }
        if (!note_choice(PyTuple_GET_ITEM(field, F_CHOICE), seen, &choices))
            return 0;
        if (PyTuple_GET_ITEM(field, F_HOLDER) == Py_True)
            *holds = 1;
        Py_INCREF(value); /* the Python helpers called below must not free it under us */
        int ok = value_valid(walk, field, value);
        Py_DECREF(value);
        if (!ok)
            return 0;
    }
    if (!required_present(obj, spec))
        return 0;
    return PyTuple_GET_ITEM(spec, S_IS_EXTENSION) != Py_True || extension_shape(obj);
}

/* (spec tuple, contexts) of a resource type, or NULL (None from verdict.py: unknown). */
static PyObject *
resource_entry(PyObject *resource_type)
{
    PyObject *found = PyDict_GetItemWithError(resource_cache, resource_type);
    if (found != NULL || PyErr_Occurred())
        return found;
    PyObject *made = PyObject_CallOneArg(describe_resource, resource_type);
    if (made == NULL || made == Py_None) {
        Py_XDECREF(made); /* unknown types are not remembered: the cache stays small */
        return NULL;
    }
    if (!PyTuple_CheckExact(made) || PyTuple_GET_SIZE(made) != 2) {
        Py_DECREF(made);
        PyErr_SetString(PyExc_TypeError, "verdict: malformed resource entry");
        return NULL;
    }
    /* the spec tuple is checked like any other, through the spec cache's rules */
    PyObject *spec = PyTuple_GET_ITEM(made, 0);
    int ok = PyTuple_CheckExact(spec) && PyTuple_GET_SIZE(spec) == S_SIZE
        && PyDict_CheckExact(PyTuple_GET_ITEM(spec, S_FIELDS))
        && PyTuple_CheckExact(PyTuple_GET_ITEM(spec, S_REQUIRED))
        && PyAnySet_Check(PyTuple_GET_ITEM(spec, S_PROHIBITED));
    if (ok) {
        PyObject *key, *field;
        Py_ssize_t pos = 0;
        while (ok && PyDict_Next(PyTuple_GET_ITEM(spec, S_FIELDS), &pos, &key, &field))
            ok = field_tuple_ok(field);
    }
    if (!ok) {
        Py_DECREF(made);
        PyErr_SetString(PyExc_TypeError, "verdict: malformed resource spec");
        return NULL;
    }
    int failed = PyDict_SetItem(resource_cache, resource_type, made);
    Py_DECREF(made);
    return failed ? NULL : PyDict_GetItemWithError(resource_cache, resource_type);
}

/* structure.validate_resource for a top-level resource (not contained), minus Bundles. */
static int
resource_valid(Walk *walk, PyObject *resource)
{
    if (!PyDict_CheckExact(resource))
        return 0;
    PyObject *resource_type = PyDict_GetItemWithError(resource, s_resource_type);
    if (resource_type == NULL || !PyUnicode_CheckExact(resource_type))
        return 0;
    int bundle = PyObject_RichCompareBool(resource_type, s_bundle, Py_EQ);
    if (bundle != 0)
        return 0; /* check_bundle's rules are the Python walk's */
    PyObject *entry = resource_entry(resource_type);
    if (entry == NULL)
        return 0;
    Py_INCREF(entry);
    int holds = 0;
    int ok = check_object(walk, resource, PyTuple_GET_ITEM(entry, 0), &holds);
    if (ok && holds) {
        PyObject *args[3] = {resource, PyTuple_GET_ITEM(entry, 1), s_empty};
        ok = call_helper(walk, check_extensions, args, 3);
    }
    Py_DECREF(entry);
    return ok;
}

static PyObject *
certainly_valid(PyObject *module, PyObject *resource)
{
    if (describe_spec == NULL)
        Py_RETURN_FALSE; /* not configured: not sure of anything */
    Walk walk = {NULL};
    Py_INCREF(resource);
    int ok = resource_valid(&walk, resource);
    Py_DECREF(resource);
    Py_XDECREF(walk.scratch);
    if (PyErr_Occurred())
        PyErr_Clear(); /* the Python walk, run on False, meets the same error and raises it */
    return PyBool_FromLong(ok == 1);
}

/* For the tests: one value against one simple kind, as primitive_valid judges it without
 * calling any check (calendar kinds: True only for the shapes decided here). */
static PyObject *
simple_valid(PyObject *module, PyObject *args)
{
    int kind;
    PyObject *value;
    if (!PyArg_ParseTuple(args, "iO", &kind, &value))
        return NULL;
    int ok;
    switch (kind) {
    case K_TEXT: ok = text_valid(value); break;
    case K_ID: ok = id_valid(value); break;
    case K_BOOLEAN: ok = PyBool_Check(value); break;
    case K_DECIMAL: ok = PyLong_CheckExact(value) || PyFloat_CheckExact(value); break;
    case K_INTEGER: ok = integer_valid(value, INTEGER_MIN); break;
    case K_POSITIVE: ok = integer_valid(value, 1); break;
    case K_UNSIGNED: ok = integer_valid(value, 0); break;
    case K_URI: ok = uri_valid(value); break;
    case K_CODE: ok = code_valid(value); break;
    case K_DATE:
    case K_DATE_TIME:
    case K_INSTANT: ok = calendar_valid(value, kind - K_DATE + 1); break;
    default: PyErr_SetString(PyExc_ValueError, "not a simple kind"); return NULL;
    }
    if (PyErr_Occurred())
        PyErr_Clear();
    return PyBool_FromLong(ok);
}

static PyObject *
configure(PyObject *module, PyObject *const *args, Py_ssize_t count)
{
    if (count != 8) {
        PyErr_SetString(PyExc_TypeError, "configure takes 8 arguments");
        return NULL;
    }
    if (!PyAnySet_Check(args[7])) {
        PyErr_SetString(PyExc_TypeError, "configure: resource types must be a set");
        return NULL;
    }
    long primitive = PyLong_AsLong(args[5]);
    long resource = PyLong_AsLong(args[6]);
    if (PyErr_Occurred())
        return NULL;
    for (int i = 0; i < 5; i++) {
        if (!PyCallable_Check(args[i])) {
            PyErr_SetString(PyExc_TypeError, "configure: the first five must be callable");
            return NULL;
        }
    }
    Py_XSETREF(describe_spec, Py_NewRef(args[0]));
    Py_XSETREF(describe_resource, Py_NewRef(args[1]));
    Py_XSETREF(datatype_rules, Py_NewRef(args[2]));
    Py_XSETREF(check_extensions, Py_NewRef(args[3]));
    Py_XSETREF(check_sub_extensions, Py_NewRef(args[4]));
    Py_XSETREF(resource_types, Py_NewRef(args[7]));
    kind_primitive = primitive;
    kind_resource = resource;
    /* new helpers may describe specs differently: forget what the old ones said */
    PyDict_Clear(spec_cache);
    PyDict_Clear(resource_cache);
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"certainly_valid", (PyCFunction)certainly_valid, METH_O,
     "True only when structure.validate_resource would report no issue; False: not sure."},
    {"simple_valid", simple_valid, METH_VARARGS,
     "simple_valid(kind, value): the verdict of one simple primitive kind (for the tests)."},
    {"configure", (PyCFunction)(void (*)(void))configure, METH_FASTCALL,
     "configure(describe_spec, describe_resource, datatype_rules, check_extensions, "
     "check_sub_extensions, PRIMITIVE, RESOURCE, resource_types)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "yteso.fhir.validation._structure",
    "C twin of the structure walk's verdict (yteso/fhir/validation/verdict.py).", -1, methods,
};

static int
intern_all(void)
{
    struct {
        PyObject **slot;
        const char *text;
    } names[] = {
        {&s_resource_type, "resourceType"}, {&s_extension, "extension"},
        {&s_modifier_extension, "modifierExtension"}, {&s_id, "id"}, {&s_value, "value"},
        {&s_underscore_value, "_value"}, {&s_bundle, "Bundle"}, {&s_empty, ""},
        {&s_reference, "reference"}, {&s_urn, "urn:"}, {&s_system, "system"}, {&s_code, "code"},
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if ((*names[i].slot = PyUnicode_InternFromString(names[i].text)) == NULL)
            return -1;
    }
    return 0;
}

PyMODINIT_FUNC
PyInit__structure(void)
{
    if (intern_all() < 0)
        return NULL;
    if ((spec_cache = PyDict_New()) == NULL || (resource_cache = PyDict_New()) == NULL)
        return NULL;
    return PyModule_Create(&module_def);
}
