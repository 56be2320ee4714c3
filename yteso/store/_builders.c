/* yteso.store._builders: C twins of index_builders' token_rows, date_rows, reference_rows,
 * string_rows and quantity_rows.
 *
 * Each twin has the Python builder's signature, build(param, found, out), and appends the
 * same rows in the same order. The Python builders stay the reference: whatever these do
 * not handle with certainty (a value of an unexpected type, a str or dict subclass, a date
 * text outside the two common shapes) goes to the Python twin, for that one value (the rows
 * this code appended for it are cut off first) or for the whole call. index_builders binds
 * the twins and the caches they share (bind()) before it hands these out.
 *
 * Why C: under mypyc each row still costs boxed calls of str methods (~1.1k instructions
 * each through PyObject_VectorcallMethod), and a new dateTime text ~21k instructions of
 * integer objects; here a date text is parsed and formatted on the stack.
 *
 * Plain CPython C API (3.11+). The bound objects are process-wide statics: yteso loads this
 * module in the main interpreter only (single-phase init).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef long long i64;

/* What bind() received: the Python twins, the caches, the constants. */
static PyObject *py_token_rows;   /* index_builders.token_rows */
static PyObject *py_date_rows;    /* index_builders.date_rows */
static PyObject *py_reference_rows; /* index_builders.reference_rows */
static PyObject *py_string_span;  /* index_builders._string_span: the general date path */
static PyObject *py_target_of;    /* index_builders.target_of: a reference's (type, id) */
static PyObject *targets;         /* index_builders._TARGETS: reference -> (type, id) */
static PyObject *spans;           /* index_builders._SPANS: date text -> (low, high) | None */
static PyObject *folded;          /* text_folding.FOLDED: text -> folded text */
static PyObject *fold_text;       /* text_folding.fold_text */
static PyObject *lowest_text;     /* index_builders._LOWEST_TEXT */
static PyObject *highest_text;    /* index_builders._HIGHEST_TEXT */
static Py_ssize_t max_spans;      /* index_builders._MAX_SPANS */
static Py_ssize_t max_targets;    /* index_builders._MAX_TARGETS */
static Py_ssize_t cut = -1;       /* text_folding.MAX_INDEXED_LENGTH; -1 until bound */

/* Interned strings: dict keys and row texts. */
static PyObject *s_token, *s_date, *s_reference, *s_true, *s_false, *s_of_type;
static PyObject *k_coding, *k_text, *k_code, *k_display, *k_system, *k_value, *k_type;
static PyObject *k_assigner, *k_start, *k_end, *k_reference, *k_identifier;

/* Results of the per-value handlers. */
#define DONE 0
#define FAILED -1
#define TO_PYTHON 1

/* ---------------------------------------------------------------- rows */

/* out.append((table, param, values)); steals values (NULL: an error already set). */
static int
append_row(PyObject *out, PyObject *table, PyObject *param, PyObject *values)
{
    if (values == NULL)
        return FAILED;
    PyObject *row = PyTuple_Pack(3, table, param, values);
    Py_DECREF(values);
    if (row == NULL)
        return FAILED;
    int status = PyList_Append(out, row);
    Py_DECREF(row);
    return status < 0 ? FAILED : DONE;
}

/* A three-value row (system, code, display); NULL items stand for None. */
static PyObject *
triple(PyObject *a, PyObject *b, PyObject *c)
{
    return PyTuple_Pack(3, a ? a : Py_None, b ? b : Py_None, c ? c : Py_None);
}

/* text[:MAX_INDEXED_LENGTH] of an exact str: the same object when it is short enough. */
static PyObject *
cut_text(PyObject *text)
{
    return PyUnicode_Substring(text, 0, cut);
}

/* The Python twin for one value: rows appended since ``mark`` (this value's, before the C
 * code gave up on it) are removed first, so none is doubled. */
static int
python_value(PyObject *twin, PyObject *param, PyObject *value, PyObject *out, Py_ssize_t mark)
{
    if (PyList_GET_SIZE(out) > mark
        && PyList_SetSlice(out, mark, PyList_GET_SIZE(out), NULL) < 0)
        return FAILED;
    PyObject *one = PyList_New(1);
    if (one == NULL)
        return FAILED;
    Py_INCREF(value);
    PyList_SET_ITEM(one, 0, value);
    PyObject *args[3] = {param, one, out};
    PyObject *result = PyObject_Vectorcall(twin, args, 3, NULL);
    Py_DECREF(one);
    if (result == NULL)
        return FAILED;
    Py_DECREF(result);
    return DONE;
}

/* The builder loop shared by both twins: unusual arguments go whole to the Python twin,
 * each value through ``handle``, and a value it declines through the Python twin. */
static PyObject *
build(PyObject *const *args, Py_ssize_t nargs, PyObject *twin,
      int (*handle)(PyObject *, PyObject *, PyObject *))
{
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "a builder takes (param, found, out)");
        return NULL;
    }
    PyObject *param = args[0], *found = args[1], *out = args[2];
    if (twin == NULL) { /* bind() not called: index_builders binds before handing these out */
        PyErr_SetString(PyExc_RuntimeError, "yteso.store._builders is not bound");
        return NULL;
    }
    if (cut < 0 || !PyUnicode_CheckExact(param) || !PyList_CheckExact(found)
        || !PyList_CheckExact(out) || found == out)
        return PyObject_Vectorcall(twin, args, 3, NULL);
    /* the size is read at each turn and the item held: a Python callback could change both */
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(found); i++) {
        PyObject *value = PyList_GET_ITEM(found, i);
        Py_INCREF(value);
        Py_ssize_t mark = PyList_GET_SIZE(out);
        int status = handle(param, value, out);
        if (status == TO_PYTHON)
            status = python_value(twin, param, value, out, mark);
        Py_DECREF(value);
        if (status == FAILED)
            return NULL;
    }
    Py_RETURN_NONE;
}

/* Borrowed value of ``key`` in an exact dict, NULL when absent (check PyErr_Occurred). */
static PyObject *
get(PyObject *dict, PyObject *key)
{
    return PyDict_GetItemWithError(dict, key);
}

/* ---------------------------------------------------------------- tokens */

/* index_builders._display: the folded, cut text of a str, None for anything else.
 * *result gets a new reference. A str subclass goes to Python (its hash or slicing may be
 * its own). */
static int
display_of(PyObject *value, PyObject **result)
{
    *result = NULL;
    if (value == NULL || !PyUnicode_Check(value)) {
        *result = Py_NewRef(Py_None);
        return DONE;
    }
    if (!PyUnicode_CheckExact(value))
        return TO_PYTHON;
    PyObject *fold = get(folded, value);
    if (fold != NULL)
        Py_INCREF(fold);
    else if (PyErr_Occurred())
        return FAILED;
    else if ((fold = PyObject_CallOneArg(fold_text, value)) == NULL)
        return FAILED;
    if (!PyUnicode_CheckExact(fold)) {
        Py_DECREF(fold);
        return TO_PYTHON;
    }
    *result = cut_text(fold);
    Py_DECREF(fold);
    return *result == NULL ? FAILED : DONE;
}

/* The rows of one Coding of a CodeableConcept (``text``: the concept's folded text or
 * None). */
static int
coding_row(PyObject *param, PyObject *coding, PyObject *text, PyObject *out)
{
    if (!PyDict_CheckExact(coding))
        return TO_PYTHON;
    PyObject *display = NULL;
    int status;
    /* ``text or _display(coding.get("display"))``, computed before the code is looked at,
     * as the Python twin does (it may fill the fold cache) */
    if (text != Py_None && PyUnicode_GET_LENGTH(text) > 0) {
        display = Py_NewRef(text);
    } else {
        PyObject *raw = get(coding, k_display);
        if (raw == NULL && PyErr_Occurred())
            return FAILED;
        if ((status = display_of(raw, &display)) != DONE)
            return status;
    }
    PyObject *code = get(coding, k_code);
    if (code == NULL && PyErr_Occurred()) {
        Py_DECREF(display);
        return FAILED;
    }
    status = DONE;
    if (code != NULL && PyUnicode_Check(code)) {
        PyObject *system = get(coding, k_system);
        if (system == NULL && PyErr_Occurred())
            status = FAILED;
        else
            status = append_row(out, s_token, param, triple(system, code, display));
    }
    Py_DECREF(display);
    return status;
}

/* A CodeableConcept (or a text alone): a row per Coding with a code, or the text's row.
 * ``raw_text`` and ``codings``: the borrowed ``text`` and ``coding`` items, NULL if absent. */
static int
concept_rows(PyObject *param, PyObject *raw_text, PyObject *codings, PyObject *out)
{
    if (codings == Py_None)
        codings = NULL;
    if (codings != NULL && !PyList_CheckExact(codings))
        return TO_PYTHON; /* ``codings or []`` of another type: Python decides */
    /* held: fold_text, a Python call, runs before they are read */
    Py_XINCREF(raw_text);
    Py_XINCREF(codings);
    PyObject *text;
    int status = display_of(raw_text, &text);
    Py_XDECREF(raw_text);
    Py_ssize_t count = 0;
    if (status == DONE && codings != NULL) {
        for (Py_ssize_t i = 0; status == DONE && i < PyList_GET_SIZE(codings); i++) {
            PyObject *coding = Py_NewRef(PyList_GET_ITEM(codings, i));
            status = coding_row(param, coding, text, out);
            Py_DECREF(coding);
        }
        count = PyList_GET_SIZE(codings);
    }
    Py_XDECREF(codings);
    if (status != DONE) {
        Py_XDECREF(text);
        return status;
    }
    if (text != Py_None && PyUnicode_GET_LENGTH(text) > 0 && count == 0)
        status = append_row(out, s_token, param, triple(NULL, NULL, text));
    Py_DECREF(text);
    return status;
}

/* A Coding, a Quantity-like value or anything with a ``code``. */
static int
code_row(PyObject *param, PyObject *value, PyObject *code, PyObject *out)
{
    if (!PyUnicode_Check(code))
        return DONE;
    PyObject *raw = get(value, k_display);
    if (raw == NULL && PyErr_Occurred())
        return FAILED;
    Py_INCREF(code); /* held: display_of may call fold_text, a Python function */
    PyObject *display;
    int status = display_of(raw, &display);
    if (status == DONE) {
        PyObject *system = get(value, k_system);
        if (system == NULL && PyErr_Occurred())
            status = FAILED;
        else
            status = append_row(out, s_token, param, triple(system, code, display));
        Py_DECREF(display);
    }
    Py_DECREF(code);
    return status;
}

/* index_values._is_identifier: 1 for an Identifier, 0 for a ContactPoint. */
static int
is_identifier(PyObject *value)
{
    int found = PyDict_Contains(value, k_type);
    if (found == 0)
        found = PyDict_Contains(value, k_assigner);
    if (found != 0)
        return found < 0 ? FAILED : 1;
    PyObject *system = get(value, k_system);
    if (system == NULL)
        return PyErr_Occurred() ? FAILED : 0;
    if (!PyUnicode_Check(system))
        return 0;
    if (!PyUnicode_CheckExact(system))
        return TO_PYTHON + 1; /* a subclass's ``in`` may be its own */
    Py_ssize_t at = PyUnicode_FindChar(system, ':', 0, PyUnicode_GET_LENGTH(system), 1);
    return at == -2 ? FAILED : at >= 0;
}

/* One ``type.coding`` entry of an Identifier: the ``:of-type`` row ``code|value``. */
static int
of_type_row(PyObject *param, PyObject *coding, PyObject *identifier, PyObject *out)
{
    if (!PyDict_Check(coding))
        return DONE;
    if (!PyDict_CheckExact(coding))
        return TO_PYTHON;
    PyObject *code = get(coding, k_code);
    if (code == NULL)
        return PyErr_Occurred() ? FAILED : DONE;
    if (!PyUnicode_Check(code))
        return DONE;
    if (!PyUnicode_CheckExact(code))
        return TO_PYTHON; /* an f-string formats a subclass its own way */
    PyObject *system = get(coding, k_system);
    if (system == NULL && PyErr_Occurred())
        return FAILED;
    PyObject *joined = PyUnicode_FromFormat("%U|%U", code, identifier);
    if (joined == NULL)
        return FAILED;
    PyObject *typed = PyUnicode_Concat(param, s_of_type);
    if (typed == NULL) {
        Py_DECREF(joined);
        return FAILED;
    }
    int status = append_row(out, s_token, typed, triple(system, joined, NULL));
    Py_DECREF(typed);
    Py_DECREF(joined);
    return status;
}

/* index_values._identifier_rows: the Identifier's row, then one per typed coding. */
static int
identifier_rows(PyObject *param, PyObject *value, PyObject *identifier, PyObject *out)
{
    PyObject *kind = get(value, k_type);
    if (kind == NULL && PyErr_Occurred())
        return FAILED;
    if (kind == Py_None)
        kind = NULL;
    if (kind != NULL && !PyDict_CheckExact(kind))
        return TO_PYTHON; /* ``(value.get("type") or {})`` of another type */
    PyObject *raw = kind ? get(kind, k_text) : NULL;
    if (raw == NULL && PyErr_Occurred())
        return FAILED;
    PyObject *text;
    int status = display_of(raw, &text);
    if (status != DONE)
        return status;
    PyObject *system = get(value, k_system);
    if (system == NULL && PyErr_Occurred())
        status = FAILED;
    else
        status = append_row(out, s_token, param, triple(system, identifier, text));
    Py_DECREF(text);
    PyObject *codings = (status == DONE && kind) ? get(kind, k_coding) : NULL;
    if (codings == NULL || codings == Py_None)
        return PyErr_Occurred() ? FAILED : status;
    if (!PyList_CheckExact(codings))
        return TO_PYTHON;
    Py_INCREF(codings);
    for (Py_ssize_t i = 0; status == DONE && i < PyList_GET_SIZE(codings); i++) {
        PyObject *coding = Py_NewRef(PyList_GET_ITEM(codings, i));
        status = of_type_row(param, coding, identifier, out);
        Py_DECREF(coding);
    }
    Py_DECREF(codings);
    return status;
}

/* An Identifier (its rows) or a ContactPoint (its value alone). */
static int
identifier_or_contact(PyObject *param, PyObject *value, PyObject *out)
{
    PyObject *identifier = get(value, k_value);
    if (identifier == NULL)
        return PyErr_Occurred() ? FAILED : DONE;
    if (!PyUnicode_Check(identifier))
        return DONE;
    if (!PyUnicode_CheckExact(identifier))
        return TO_PYTHON;
    Py_INCREF(identifier);
    int status, kind = is_identifier(value);
    if (kind == FAILED || kind == TO_PYTHON + 1)
        status = kind == FAILED ? FAILED : TO_PYTHON;
    else if (kind)
        status = identifier_rows(param, value, identifier, out);
    else
        status = append_row(out, s_token, param, triple(NULL, identifier, NULL));
    Py_DECREF(identifier);
    return status;
}

/* One value of token_rows. */
static int
token_value(PyObject *param, PyObject *value, PyObject *out)
{
    if (value == Py_True || value == Py_False)
        return append_row(out, s_token, param,
                          triple(NULL, value == Py_True ? s_true : s_false, NULL));
    if (PyUnicode_CheckExact(value)) {
        PyObject *code = cut_text(value);
        if (code == NULL)
            return FAILED;
        int status = append_row(out, s_token, param, triple(NULL, code, NULL));
        Py_DECREF(code);
        return status;
    }
    if (!PyDict_CheckExact(value))
        return PyUnicode_Check(value) || PyDict_Check(value) ? TO_PYTHON : DONE;
    /* ``"coding" in value or ("text" in value and "code" not in value)``: one lookup per key
     * (a key present with null is in the dict: ``get`` gives Py_None, not NULL) */
    PyObject *codings = get(value, k_coding), *text = NULL, *code = NULL;
    if (codings == NULL && PyErr_Occurred())
        return FAILED;
    if ((text = get(value, k_text)) == NULL && PyErr_Occurred())
        return FAILED;
    if (codings == NULL && (code = get(value, k_code)) == NULL && PyErr_Occurred())
        return FAILED;
    if (codings != NULL || (text != NULL && code == NULL))
        return concept_rows(param, text, codings, out);
    return code ? code_row(param, value, code, out) : identifier_or_contact(param, value, out);
}

static PyObject *
token_rows(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    return build(args, nargs, py_token_rows, token_value);
}

/* ---------------------------------------------------------------- dates */

static const int MONTH_DAYS[13] = {0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
static const i64 DAY_US = 86400000000LL;

/* The value of ``n`` ASCII digits at ``s``; -1 if one is not a digit. */
static int
digits(const Py_UCS1 *s, int n)
{
    int value = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        value = value * 10 + (s[i] - '0');
    }
    return value;
}

/* index_builders._day_number: days from 1970-01-01 of a valid date of years 2-9998
 * (H. Hinnant's days_from_civil); 0 when invalid. */
static int
day_number(int year, int month, int day, i64 *days)
{
    if (!(1 < year && year < 9999 && 1 <= month && month <= 12 && day >= 1))
        return 0;
    int leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    if (day > MONTH_DAYS[month] + (month == 2 && leap))
        return 0;
    i64 shifted = month <= 2 ? year - 1 : year; /* >= 1: plain division is floor division */
    i64 era = shifted / 400;
    i64 of_era = shifted - era * 400;
    i64 of_year = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
    *days = era * 146097 + of_era * 365 + of_era / 4 - of_era / 100 + of_year - 719468;
    return 1;
}

static void
put_digits(Py_UCS1 *at, int value, int width)
{
    for (int i = width - 1; i >= 0; i--) {
        at[i] = (Py_UCS1)('0' + value % 10);
        value /= 10;
    }
}

/* index_builders._instant_text: ``YYYY-MM-DDThh:mm:ss.mmmZ`` of microseconds since
 * 1970-01-01 UTC (milliseconds truncated). NULL without an error for a year outside
 * 1-9999 (never reached from the parser's ranges; Python then decides). */
static PyObject *
instant_text(i64 micros)
{
    i64 days = micros / DAY_US, within = micros % DAY_US;
    if (within < 0) { /* floor division, as Python's divmod */
        within += DAY_US;
        days -= 1;
    }
    /* civil_from_days, the inverse of day_number */
    i64 shifted = days + 719468;
    if (shifted < 0)
        return NULL;
    i64 era = shifted / 146097;
    i64 of_era = shifted - era * 146097;
    i64 year_of_era = (of_era - of_era / 1460 + of_era / 36524 - of_era / 146096) / 365;
    i64 of_year = of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    i64 march_month = (5 * of_year + 2) / 153;
    int day = (int)(of_year - (153 * march_month + 2) / 5 + 1);
    int month = (int)(march_month < 10 ? march_month + 3 : march_month - 9);
    i64 year = year_of_era + era * 400 + (month <= 2 ? 1 : 0);
    if (year < 1 || year > 9999)
        return NULL;
    i64 seconds = within / 1000000;
    PyObject *text = PyUnicode_New(24, 127);
    if (text == NULL)
        return NULL;
    Py_UCS1 *at = PyUnicode_1BYTE_DATA(text);
    put_digits(at, (int)year, 4);
    at[4] = '-';
    put_digits(at + 5, month, 2);
    at[7] = '-';
    put_digits(at + 8, day, 2);
    at[10] = 'T';
    put_digits(at + 11, (int)(seconds / 3600), 2);
    at[13] = ':';
    put_digits(at + 14, (int)(seconds / 60 % 60), 2);
    at[16] = ':';
    put_digits(at + 17, (int)(seconds % 60), 2);
    at[19] = '.';
    put_digits(at + 20, (int)(within / 1000 % 1000), 3);
    at[23] = 'Z';
    return text;
}

/* The (low, high) tuple of two instants; NULL (an error set or not) as instant_text. */
static PyObject *
span_of(i64 low, i64 high)
{
    PyObject *first = instant_text(low);
    if (first == NULL)
        return NULL;
    PyObject *second = instant_text(high);
    if (second == NULL) {
        Py_DECREF(first);
        return NULL;
    }
    PyObject *span = PyTuple_Pack(2, first, second);
    Py_DECREF(first);
    Py_DECREF(second);
    return span;
}

/* ``±hh:mm`` (any two digits each, as index_builders._is_offset): its seconds east of UTC
 * in *seconds, 1; 0 for any other text. */
static int
offset_seconds(const Py_UCS1 *zone, Py_ssize_t size, i64 *seconds)
{
    if (size != 6 || (zone[0] != '+' && zone[0] != '-') || zone[3] != ':')
        return 0;
    int hours = digits(zone + 1, 2), minutes = digits(zone + 4, 2);
    if (hours < 0 || minutes < 0)
        return 0;
    *seconds = (zone[0] == '+' ? 1 : -1) * (i64)(hours * 3600 + minutes * 60);
    return 1;
}

/* ``YYYY-MM-DD``: its day, to the next day. */
static PyObject *
day_span(const Py_UCS1 *s)
{
    if (s[4] != '-' || s[7] != '-')
        return NULL;
    int year = digits(s, 4), month = digits(s + 5, 2), day = digits(s + 8, 2);
    i64 days;
    if (year < 0 || month < 0 || day < 0 || !day_number(year, month, day, &days))
        return NULL;
    return span_of(days * DAY_US, (days + 1) * DAY_US);
}

/* The fraction ``.d+`` at s (size characters): int(float(fraction) * 1_000_000), as the
 * Python twin computes it (float's own parser, so the same rounding); -1 when unsure. */
static i64
fraction_micros(const Py_UCS1 *s, Py_ssize_t size)
{
    char *end = NULL;
    double value = PyOS_string_to_double((const char *)s, &end, NULL);
    if (value == -1.0 && PyErr_Occurred()) {
        PyErr_Clear();
        return -1;
    }
    if (end != (const char *)s + size || !(value >= 0.0 && value < 1.0))
        return -1;
    return (i64)(value * 1000000.0);
}

/* ``YYYY-MM-DDThh:mm:ss[.f+][Z|±hh:mm]``: its instant, to the next step of its precision. */
static PyObject *
datetime_span(const Py_UCS1 *s, Py_ssize_t size)
{
    if (s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':')
        return NULL;
    int year = digits(s, 4), month = digits(s + 5, 2), day = digits(s + 8, 2);
    int hour = digits(s + 11, 2), minute = digits(s + 14, 2), second = digits(s + 17, 2);
    if (year < 0 || month < 0 || day < 0 || hour < 0 || minute < 0 || second < 0)
        return NULL;
    Py_ssize_t at = 19, fraction = 0; /* fraction: its length with the dot */
    if (at < size && s[at] == '.') {
        fraction = 1;
        while (at + fraction < size && s[at + fraction] >= '0' && s[at + fraction] <= '9')
            fraction++;
        if (fraction == 1)
            return NULL;
    }
    const Py_UCS1 *zone = s + at + fraction;
    Py_ssize_t zone_size = size - at - fraction;
    i64 east = 0;
    if (!(zone_size == 0 || (zone_size == 1 && zone[0] == 'Z')
          || offset_seconds(zone, zone_size, &east)))
        return NULL;
    i64 days, micro = fraction ? fraction_micros(s + at, fraction) : 0;
    if (!day_number(year, month, day, &days) || hour > 23 || minute > 59 || second > 59
        || micro < 0 || micro > 999999)
        return NULL;
    i64 start = days * DAY_US + ((i64)(hour * 3600 + minute * 60 + second) - east) * 1000000
                + micro;
    /* the fraction's precision: 10 ** -(digits) seconds, at least a microsecond */
    i64 step = 1000000;
    for (Py_ssize_t digit = 1; fraction && digit < fraction; digit++)
        step = step > 1 ? step / 10 : 1;
    return span_of(start, start + step);
}

/* index_builders._common_span: the (low, high) texts of the two common shapes; NULL
 * without an error for any other text (the Python twin decides). */
static PyObject *
common_span(PyObject *text)
{
    if (!PyUnicode_IS_ASCII(text))
        return NULL;
    Py_ssize_t size = PyUnicode_GET_LENGTH(text);
    const Py_UCS1 *s = PyUnicode_1BYTE_DATA(text);
    if (size == 10)
        return day_span(s);
    return size >= 19 ? datetime_span(s, size) : NULL;
}

/* index_builders._string_span: the cached values of a date text (a new reference: a tuple
 * or None), computed here for the common shapes, by the Python twin otherwise. */
static PyObject *
string_span(PyObject *text)
{
    PyObject *cached = get(spans, text);
    if (cached != NULL)
        return Py_NewRef(cached);
    if (PyErr_Occurred())
        return NULL;
    PyObject *values = common_span(text);
    if (values == NULL)
        return PyErr_Occurred() ? NULL : PyObject_CallOneArg(py_string_span, text);
    if (PyDict_GET_SIZE(spans) >= max_spans)
        PyDict_Clear(spans);
    if (PyDict_SetItem(spans, text, values) < 0) {
        Py_DECREF(values);
        return NULL;
    }
    return values;
}

/* One end of a Period: the ``index`` item of its span, or ``open`` when it has none. */
static int
period_end(PyObject *period, PyObject *key, Py_ssize_t index, PyObject *open, PyObject **end)
{
    PyObject *text = get(period, key);
    if (text == NULL && PyErr_Occurred())
        return FAILED;
    if (text == NULL || !PyUnicode_Check(text)) {
        *end = Py_NewRef(open);
        return DONE;
    }
    if (!PyUnicode_CheckExact(text))
        return TO_PYTHON;
    Py_INCREF(text);
    PyObject *span = string_span(text);
    Py_DECREF(text);
    if (span == NULL)
        return FAILED;
    int status = DONE;
    if (span == Py_None)
        *end = Py_NewRef(open);
    else if (PyTuple_CheckExact(span) && PyTuple_GET_SIZE(span) == 2)
        *end = Py_NewRef(PyTuple_GET_ITEM(span, index));
    else
        status = TO_PYTHON;
    Py_DECREF(span);
    return status;
}

/* index_builders._period_span: each end's bound from its own text, an open or unreadable
 * end unbounded. */
static int
period_row(PyObject *param, PyObject *period, PyObject *out)
{
    PyObject *low, *high;
    int status = period_end(period, k_start, 0, lowest_text, &low);
    if (status != DONE)
        return status;
    status = period_end(period, k_end, 1, highest_text, &high);
    if (status != DONE) {
        Py_DECREF(low);
        return status;
    }
    PyObject *values = PyTuple_Pack(2, low, high);
    Py_DECREF(low);
    Py_DECREF(high);
    return append_row(out, s_date, param, values);
}

/* One value of date_rows: a date text or a Period here, the rest (Timing, subclasses,
 * values of other types) by the Python twin. */
static int
date_value(PyObject *param, PyObject *value, PyObject *out)
{
    if (PyUnicode_CheckExact(value)) {
        PyObject *values = string_span(value);
        if (values == NULL)
            return FAILED;
        if (values == Py_None) {
            Py_DECREF(values);
            return DONE;
        }
        return append_row(out, s_date, param, values);
    }
    if (!PyDict_CheckExact(value))
        return TO_PYTHON;
    int period = PyDict_Contains(value, k_start);
    if (period == 0)
        period = PyDict_Contains(value, k_end);
    if (period < 0)
        return FAILED;
    return period ? period_row(param, value, out) : TO_PYTHON;
}

static PyObject *
date_rows(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    return build(args, nargs, py_date_rows, date_value);
}

/* ---------------------------------------------------------------- references */

/* The last slash of s[0:end] (-1: none). */
static Py_ssize_t
last_slash(const Py_UCS1 *s, Py_ssize_t end)
{
    while (--end >= 0 && s[end] != '/')
        ;
    return end;
}

/* index_values.split_reference of an ASCII text: ``Type/id``, ``Type/id/_history/n`` or a
 * URL ending so gives (type, id), anything else (None, None); NULL without an error for a
 * text that is not ASCII (``isupper`` of a non-ASCII letter: the Python twin's). */
static PyObject *
split_reference(PyObject *reference)
{
    if (!PyUnicode_IS_ASCII(reference))
        return NULL;
    const Py_UCS1 *s = PyUnicode_1BYTE_DATA(reference);
    Py_ssize_t end = PyUnicode_GET_LENGTH(reference), slashes = 0;
    for (Py_ssize_t i = 0; i < end; i++)
        slashes += s[i] == '/';
    Py_ssize_t last = last_slash(s, end), before = last >= 0 ? last_slash(s, last) : -1;
    /* ``len(parts) >= 4 and parts[-2] == "_history"``: drop the last two parts */
    if (slashes >= 3 && last - before - 1 == 8 && memcmp(s + before + 1, "_history", 8) == 0) {
        end = before;
        last = last_slash(s, end);
        before = last_slash(s, last);
        slashes -= 2;
    }
    /* ``len(parts) >= 2 and parts[-2][:1].isupper() and parts[-1]`` */
    if (slashes >= 1 && last - before > 1 && s[before + 1] >= 'A' && s[before + 1] <= 'Z'
        && end - last > 1) {
        PyObject *type = PyUnicode_Substring(reference, before + 1, last);
        PyObject *id = type ? PyUnicode_Substring(reference, last + 1, end) : NULL;
        PyObject *pair = id ? PyTuple_Pack(2, type, id) : NULL;
        Py_XDECREF(type);
        Py_XDECREF(id);
        return pair;
    }
    return PyTuple_Pack(2, Py_None, Py_None);
}

/* index_builders.target_of: the cached (type, id) of a reference text, a new reference;
 * a text not seen yet split here (ASCII) or by the Python twin, and cached. */
static PyObject *
target_of(PyObject *reference)
{
    PyObject *found = get(targets, reference);
    if (found != NULL)
        return Py_NewRef(found);
    if (PyErr_Occurred())
        return NULL;
    if ((found = split_reference(reference)) == NULL)
        return PyErr_Occurred() ? NULL : PyObject_CallOneArg(py_target_of, reference);
    if (PyDict_GET_SIZE(targets) >= max_targets)
        PyDict_Clear(targets);
    if (PyDict_SetItem(targets, reference, found) < 0) {
        Py_DECREF(found);
        return NULL;
    }
    return found;
}

/* A Reference's row: (target type, target id, text) of a ``reference`` not starting ``#``. */
static int
reference_row(PyObject *param, PyObject *reference, PyObject *out)
{
    if (PyUnicode_GET_LENGTH(reference) > 0 && PyUnicode_READ_CHAR(reference, 0) == '#')
        return DONE; /* contained: no row */
    PyObject *target = target_of(reference);
    if (target == NULL)
        return FAILED;
    int status = TO_PYTHON;
    if (PyTuple_CheckExact(target) && PyTuple_GET_SIZE(target) == 2) {
        PyObject *text = cut_text(reference);
        if (text == NULL)
            status = FAILED;
        else
            status = append_row(out, s_reference, param,
                                triple(PyTuple_GET_ITEM(target, 0), PyTuple_GET_ITEM(target, 1),
                                       text));
        Py_XDECREF(text);
    }
    Py_DECREF(target);
    return status;
}

/* One value of reference_rows: a Reference or a canonical/uri text here; a Reference with
 * an ``identifier``, and subclasses, by the Python twin. */
static int
reference_value(PyObject *param, PyObject *value, PyObject *out)
{
    if (PyUnicode_CheckExact(value)) {
        PyObject *text = cut_text(value);
        if (text == NULL)
            return FAILED;
        int status = append_row(out, s_reference, param, triple(NULL, NULL, text));
        Py_DECREF(text);
        return status;
    }
    if (!PyDict_CheckExact(value))
        return PyUnicode_Check(value) || PyDict_Check(value) ? TO_PYTHON : DONE;
    PyObject *reference = get(value, k_reference);
    if (reference == NULL && PyErr_Occurred())
        return FAILED;
    if (reference != NULL && PyUnicode_Check(reference)) {
        if (!PyUnicode_CheckExact(reference))
            return TO_PYTHON;
        Py_INCREF(reference);
        int status = reference_row(param, reference, out);
        Py_DECREF(reference);
        if (status != DONE)
            return status;
    }
    PyObject *identifier = get(value, k_identifier);
    if (identifier == NULL)
        return PyErr_Occurred() ? FAILED : DONE;
    return identifier == Py_None ? DONE : TO_PYTHON; /* its :identifier token: Python's */
}

static PyObject *
reference_rows(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    return build(args, nargs, py_reference_rows, reference_value);
}

/* ---------------------------------------------------------------- binding */

static void
set_bound(PyObject **slot, PyObject *value)
{
    Py_INCREF(value);
    Py_XSETREF(*slot, value);
}

/* ---------------------------------------------------------------- strings */

/* What bind_values() received. */
static PyObject *py_string_rows;   /* index_builders.string_rows */
static PyObject *py_quantity_rows; /* index_builders.quantity_rows */
static PyObject *py_unit_scale;    /* index_builders._unit_scale */
static PyObject *quantities;       /* index_builders._QUANTITIES: (type, value, system, code) */
static PyObject *unit_scales;      /* index_builders._UNIT_SCALES: (system, code) -> (unit, k) */
static Py_ssize_t max_quantities;  /* index_builders._MAX_QUANTITIES */
static PyObject *name_parts;       /* index_values._NAME_PARTS */
static PyObject *address_parts;    /* index_values._ADDRESS_PARTS */

static Py_ssize_t cached_length;  /* text_folding._CACHED_LENGTH */
static Py_ssize_t max_cached;     /* text_folding._MAX_CACHED */

static PyObject *s_string, *s_quantity, *s_space, *k_family, *k_given, *k_unit;

#define MAX_DEPTH 64 /* deeper nesting: the Python twin (and its recursion limit) */

/* A value _strings_of ignores for certain: not a str, list or dict (exact JSON types). */
static int
ignored(PyObject *value)
{
    return value == Py_None || PyBool_Check(value) || PyLong_CheckExact(value)
           || PyFloat_CheckExact(value);
}

static int collect_strings(PyObject *value, PyObject *strings, int depth);

/* The strings of the ``parts`` (a tuple or list of keys) of a dict, in order. */
static int
collect_parts(PyObject *value, PyObject *parts, PyObject *strings, int depth)
{
    int status = DONE;
    for (Py_ssize_t i = 0; status == DONE && i < PySequence_Fast_GET_SIZE(parts); i++) {
        PyObject *item = get(value, PySequence_Fast_GET_ITEM(parts, i));
        if (item == NULL) {
            if (PyErr_Occurred())
                return FAILED;
            continue; /* value.get(key): None, ignored */
        }
        Py_INCREF(item);
        status = collect_strings(item, strings, depth + 1);
        Py_DECREF(item);
    }
    return status;
}

/* index_values._strings_of of a dict: a HumanName's or an Address's parts, else every key
 * but extension, id, system and use (the Python twin). */
static int
collect_dict(PyObject *value, PyObject *strings, int depth)
{
    int named = PyDict_Contains(value, k_family);
    if (named == 0)
        named = PyDict_Contains(value, k_given);
    if (named < 0)
        return FAILED;
    PyObject *parts = named ? name_parts : address_parts;
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(parts); i++) {
        int found = PyDict_Contains(value, PyTuple_GET_ITEM(parts, i));
        if (found < 0)
            return FAILED;
        if (found)
            return collect_parts(value, parts, strings, depth);
    }
    /* none of them: every key but extension, id, system and use, left to the Python twin
     * (rare: a string parameter whose value is neither a name nor an address) */
    return TO_PYTHON;
}

/* index_values._strings_of: the strings of a value, appended to ``strings`` (exact strs
 * only: a subclass, or a value of a type JSON does not give, goes to Python). */
static int
collect_strings(PyObject *value, PyObject *strings, int depth)
{
    if (PyUnicode_CheckExact(value))
        return PyList_Append(strings, value) < 0 ? FAILED : DONE;
    if (depth > MAX_DEPTH)
        return TO_PYTHON;
    if (PyList_CheckExact(value)) {
        int status = DONE;
        for (Py_ssize_t i = 0; status == DONE && i < PyList_GET_SIZE(value); i++) {
            PyObject *item = Py_NewRef(PyList_GET_ITEM(value, i));
            status = collect_strings(item, strings, depth + 1);
            Py_DECREF(item);
        }
        return status;
    }
    if (PyDict_CheckExact(value))
        return collect_dict(value, strings, depth);
    return ignored(value) ? DONE : TO_PYTHON;
}

/* Two exact strs with the same text. */
static int
same_text(PyObject *a, PyObject *b)
{
    if (a == b)
        return 1;
    Py_ssize_t size = PyUnicode_GET_LENGTH(a);
    return size == PyUnicode_GET_LENGTH(b) && PyUnicode_KIND(a) == PyUnicode_KIND(b)
           && memcmp(PyUnicode_DATA(a), PyUnicode_DATA(b), size * PyUnicode_KIND(a)) == 0;
}

/* ``dict.fromkeys(strings)`` of exact strs: the first of each text, in order (a new list). */
static PyObject *
distinct(PyObject *strings)
{
    Py_ssize_t size = PyList_GET_SIZE(strings);
    if (size <= 1)
        return Py_NewRef(strings);
    PyObject *kept = PyList_New(0);
    if (kept == NULL)
        return NULL;
    if (size <= 16) {
        for (Py_ssize_t i = 0; i < size; i++) {
            PyObject *text = PyList_GET_ITEM(strings, i);
            Py_ssize_t j = 0;
            while (j < PyList_GET_SIZE(kept) && !same_text(PyList_GET_ITEM(kept, j), text))
                j++;
            if (j == PyList_GET_SIZE(kept) && PyList_Append(kept, text) < 0) {
                Py_DECREF(kept);
                return NULL;
            }
        }
        return kept;
    }
    PyObject *seen = PySet_New(NULL);
    if (seen == NULL) {
        Py_DECREF(kept);
        return NULL;
    }
    for (Py_ssize_t i = 0; i < size; i++) {
        PyObject *text = PyList_GET_ITEM(strings, i);
        int found = PySet_Contains(seen, text);
        if (found < 0 || (found == 0 && (PySet_Add(seen, text) < 0
                                         || PyList_Append(kept, text) < 0))) {
            Py_DECREF(seen);
            Py_DECREF(kept);
            return NULL;
        }
    }
    Py_DECREF(seen);
    return kept;
}

/* str.isspace of an ASCII character. */
static int
ascii_space(Py_UCS1 c)
{
    return c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1c && c <= 0x1f);
}

/* text_folding._fold of an ASCII str: `` " ".join(text.lower().split())`` (a new str). */
static PyObject *
fold_ascii(PyObject *text)
{
    Py_ssize_t size = PyUnicode_GET_LENGTH(text), length = 0;
    const Py_UCS1 *s = PyUnicode_1BYTE_DATA(text);
    PyObject *result = PyUnicode_New(size, 127);
    if (result == NULL)
        return NULL;
    Py_UCS1 *to = PyUnicode_1BYTE_DATA(result);
    for (Py_ssize_t i = 0; i < size; i++) {
        if (ascii_space(s[i])) {
            if (length > 0 && to[length - 1] != ' ')
                to[length++] = ' ';
        } else
            to[length++] = s[i] >= 'A' && s[i] <= 'Z' ? s[i] + 32 : s[i];
    }
    if (length > 0 && to[length - 1] == ' ')
        length--;
    if (length == size)
        return result;
    PyObject *cut_result = PyUnicode_Substring(result, 0, length);
    Py_DECREF(result);
    return cut_result;
}

/* One word's fold: the cache's, ASCII here, else text_folding.fold_text's (a new str;
 * NULL: an error, or not a str, then *status is TO_PYTHON). */
static PyObject *
fold_word(PyObject *word, int *status)
{
    PyObject *fold = get(folded, word);
    if (fold != NULL)
        Py_INCREF(fold);
    else if (PyErr_Occurred())
        return NULL;
    else if (PyUnicode_IS_ASCII(word))
        return fold_ascii(word);
    else if ((fold = PyObject_CallOneArg(fold_text, word)) == NULL)
        return NULL;
    if (!PyUnicode_CheckExact(fold)) {
        Py_DECREF(fold);
        *status = TO_PYTHON;
        return NULL;
    }
    return fold;
}

/* text_folding.fold_text of a text not in the cache, word by word through the cache (its
 * rule, fold_words': folding maps each character on its own, never to or from whitespace,
 * then splits on whitespace); cached as fold_text caches it. */
static PyObject *
fold_new(PyObject *text, int *status)
{
    PyObject *fold = NULL;
    if (PyUnicode_IS_ASCII(text))
        fold = fold_ascii(text);
    else {
        PyObject *words = PyList_New(0);
        if (words == NULL)
            return NULL;
        Py_ssize_t size = PyUnicode_GET_LENGTH(text), at = 0;
        int kind = PyUnicode_KIND(text);
        const void *data = PyUnicode_DATA(text);
        int ok = 1;
        while (ok && at < size) {
            while (at < size && Py_UNICODE_ISSPACE(PyUnicode_READ(kind, data, at)))
                at++;
            Py_ssize_t end = at;
            while (end < size && !Py_UNICODE_ISSPACE(PyUnicode_READ(kind, data, end)))
                end++;
            if (end == at)
                break;
            PyObject *word = PyUnicode_Substring(text, at, end);
            PyObject *part = word ? fold_word(word, status) : NULL;
            Py_XDECREF(word);
            ok = part != NULL && (PyUnicode_GET_LENGTH(part) == 0
                                  || PyList_Append(words, part) == 0);
            Py_XDECREF(part);
            at = end;
        }
        if (ok)
            fold = PyUnicode_Join(s_space, words);
        Py_DECREF(words);
    }
    if (fold == NULL)
        return NULL;
    if (PyUnicode_GET_LENGTH(text) <= cached_length) {
        if (PyDict_GET_SIZE(folded) >= max_cached)
            PyDict_Clear(folded);
        if (PyDict_SetItem(folded, text, fold) < 0) {
            Py_DECREF(fold);
            return NULL;
        }
    }
    return fold;
}

/* One row: (fold[:cut], text[:cut]) of an exact str. */
static int
string_row(PyObject *param, PyObject *text, PyObject *out)
{
    int status = DONE;
    PyObject *fold = get(folded, text);
    if (fold != NULL)
        Py_INCREF(fold);
    else if (PyErr_Occurred())
        return FAILED;
    else if ((fold = fold_new(text, &status)) == NULL)
        return status == TO_PYTHON ? TO_PYTHON : FAILED;
    if (!PyUnicode_CheckExact(fold)) {
        Py_DECREF(fold);
        return TO_PYTHON;
    }
    PyObject *low = cut_text(fold);
    Py_DECREF(fold);
    if (low == NULL)
        return FAILED;
    PyObject *high = cut_text(text);
    if (high == NULL) {
        Py_DECREF(low);
        return FAILED;
    }
    PyObject *values = PyTuple_Pack(2, low, high);
    Py_DECREF(low);
    Py_DECREF(high);
    return append_row(out, s_string, param, values);
}

/* index_builders.string_rows: the strings of every value, each text once, in order. Any
 * value it does not handle sends the whole call to the Python twin (the rows depend on all
 * the values together); the rows appended before are cut off first. */
static PyObject *
string_rows(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "a builder takes (param, found, out)");
        return NULL;
    }
    PyObject *param = args[0], *found = args[1], *out = args[2];
    if (py_string_rows == NULL || fold_text == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "yteso.store._builders is not bound");
        return NULL;
    }
    if (cut < 0 || !PyUnicode_CheckExact(param) || !PyList_CheckExact(found)
        || !PyList_CheckExact(out) || found == out)
        return PyObject_Vectorcall(py_string_rows, args, 3, NULL);
    PyObject *strings = PyList_New(0);
    if (strings == NULL)
        return NULL;
    int status = collect_strings(found, strings, 0);
    PyObject *texts = status == DONE ? distinct(strings) : NULL;
    Py_DECREF(strings);
    if (status == DONE && texts == NULL)
        return NULL;
    Py_ssize_t mark = PyList_GET_SIZE(out);
    for (Py_ssize_t i = 0; status == DONE && i < PyList_GET_SIZE(texts); i++) {
        PyObject *text = Py_NewRef(PyList_GET_ITEM(texts, i));
        status = string_row(param, text, out);
        Py_DECREF(text);
    }
    Py_XDECREF(texts);
    if (status == FAILED)
        return NULL;
    if (status == TO_PYTHON) {
        if (PyList_GET_SIZE(out) > mark
            && PyList_SetSlice(out, mark, PyList_GET_SIZE(out), NULL) < 0)
            return NULL;
        return PyObject_Vectorcall(py_string_rows, args, 3, NULL);
    }
    Py_RETURN_NONE;
}

/* ---------------------------------------------------------------- quantities */

/* An item of a Quantity for the cache key: NULL (absent) or None as None, an exact str as
 * itself; 0 for any other value (the Python twin decides). */
static int
text_or_none(PyObject **item)
{
    if (*item == NULL || *item == Py_None) {
        *item = Py_None;
        return 1;
    }
    return PyUnicode_CheckExact(*item);
}

/* The cached (canonical unit, k) of (system, code), a new reference; from the Python
 * _unit_scale on a miss. */
static PyObject *
unit_scale(PyObject *system, PyObject *code)
{
    PyObject *key = PyTuple_Pack(2, system, code);
    if (key == NULL)
        return NULL;
    PyObject *scale = get(unit_scales, key);
    if (scale != NULL) {
        Py_DECREF(key);
        return Py_NewRef(scale);
    }
    if (PyErr_Occurred()) {
        Py_DECREF(key);
        return NULL;
    }
    PyObject *pair[2] = {system, code};
    scale = PyObject_Vectorcall(py_unit_scale, pair, 2, NULL);
    if (scale == NULL) {
        Py_DECREF(key);
        return NULL;
    }
    if (PyDict_GET_SIZE(unit_scales) >= max_quantities)
        PyDict_Clear(unit_scales);
    int status = PyDict_SetItem(unit_scales, key, scale);
    Py_DECREF(key);
    if (status < 0) {
        Py_DECREF(scale);
        return NULL;
    }
    return scale;
}

/* float(Decimal(str(raw)) * Decimal(10) ** k) of a finite float or an int of at most 2**53:
 * the product is exact (17 digits at most), and float() of a Decimal parses its text, so
 * parsing the value's text with k added to its exponent gives the same double. */
static int
scaled_value(PyObject *raw, long long whole, int k, double *scaled)
{
    char text[64];
    if (PyFloat_CheckExact(raw)) {
        char *digits = PyOS_double_to_string(PyFloat_AS_DOUBLE(raw), 'r', 0, 0, NULL);
        if (digits == NULL)
            return FAILED;
        char *e = strchr(digits, 'e');
        int exponent = k;
        if (e != NULL) {
            exponent += atoi(e + 1);
            *e = '\0';
        }
        int size = PyOS_snprintf(text, sizeof(text), "%se%d", digits, exponent);
        PyMem_Free(digits);
        if (size < 0 || (size_t)size >= sizeof(text))
            return TO_PYTHON;
    } else {
        int size = PyOS_snprintf(text, sizeof(text), "%llde%d", whole, k);
        if (size < 0 || (size_t)size >= sizeof(text))
            return TO_PYTHON;
    }
    *scaled = PyOS_string_to_double(text, NULL, NULL);
    if (*scaled == -1.0 && PyErr_Occurred())
        return FAILED;
    return DONE;
}

/* One value of quantity_rows. */
static int
quantity_value(PyObject *param, PyObject *value, PyObject *out)
{
    if (!PyDict_CheckExact(value))
        return ignored(value) || PyUnicode_CheckExact(value) || PyList_CheckExact(value)
                   ? DONE
                   : TO_PYTHON;
    PyObject *raw = get(value, k_value), *system = NULL, *code = NULL;
    if (raw == NULL && PyErr_Occurred())
        return FAILED;
    if ((system = get(value, k_system)) == NULL && PyErr_Occurred())
        return FAILED;
    if ((code = get(value, k_code)) == NULL && PyErr_Occurred())
        return FAILED;
    /* ``value.get("code") or value.get("unit")`` */
    if (code == NULL || code == Py_None
        || (PyUnicode_CheckExact(code) && PyUnicode_GET_LENGTH(code) == 0)) {
        if ((code = get(value, k_unit)) == NULL && PyErr_Occurred())
            return FAILED;
    }
    if (!text_or_none(&system) || !text_or_none(&code))
        return TO_PYTHON;
    if (raw == NULL || raw == Py_None)
        return DONE; /* _decimal(None) is None */
    if (!PyFloat_CheckExact(raw) && !PyLong_CheckExact(raw))
        return TO_PYTHON; /* a text, a bool, a Decimal, ...: Python's */
    long long whole = 0;
    if (PyFloat_CheckExact(raw)) {
        if (!isfinite(PyFloat_AS_DOUBLE(raw)))
            return TO_PYTHON;
    } else {
        int overflow = 0;
        whole = PyLong_AsLongLongAndOverflow(raw, &overflow);
        if (whole == -1 && PyErr_Occurred())
            return FAILED;
        if (overflow || whole > (1LL << 53) || whole < -(1LL << 53))
            return TO_PYTHON;
    }
    PyObject *key = PyTuple_Pack(4, (PyObject *)Py_TYPE(raw), raw, system, code);
    if (key == NULL)
        return FAILED;
    PyObject *values = get(quantities, key);
    if (values != NULL) {
        Py_DECREF(key);
        return append_row(out, s_quantity, param, Py_NewRef(values));
    }
    if (PyErr_Occurred()) {
        Py_DECREF(key);
        return FAILED;
    }
    int status = TO_PYTHON;
    PyObject *scale = unit_scale(system, code);
    if (scale == NULL)
        status = FAILED;
    else if (PyTuple_CheckExact(scale) && PyTuple_GET_SIZE(scale) == 2
             && PyUnicode_CheckExact(PyTuple_GET_ITEM(scale, 0))
             && PyLong_CheckExact(PyTuple_GET_ITEM(scale, 1))) {
        long k = PyLong_AsLong(PyTuple_GET_ITEM(scale, 1));
        double number = PyFloat_CheckExact(raw) ? PyFloat_AS_DOUBLE(raw) : (double)whole;
        double scaled = number;
        if (k == -1 && PyErr_Occurred())
            status = FAILED;
        else if (k < -300 || k > 300)
            status = TO_PYTHON;
        else
            status = k == 0 ? DONE : scaled_value(raw, whole, (int)k, &scaled);
        if (status == DONE) {
            PyObject *first = PyFloat_FromDouble(number);
            PyObject *second = first ? PyFloat_FromDouble(scaled) : NULL;
            values = second ? PyTuple_Pack(5, system, code, first, PyTuple_GET_ITEM(scale, 0),
                                           second)
                            : NULL;
            Py_XDECREF(first);
            Py_XDECREF(second);
            if (values == NULL)
                status = FAILED;
            else {
                if (PyDict_GET_SIZE(quantities) >= max_quantities)
                    PyDict_Clear(quantities);
                if (PyDict_SetItem(quantities, key, values) < 0) {
                    Py_DECREF(values);
                    status = FAILED;
                } else
                    status = append_row(out, s_quantity, param, values);
            }
        }
    }
    Py_XDECREF(scale);
    Py_DECREF(key);
    return status;
}

static PyObject *
quantity_rows(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (py_unit_scale == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "yteso.store._builders is not bound");
        return NULL;
    }
    return build(args, nargs, py_quantity_rows, quantity_value);
}

static PyObject *
bind_values(PyObject *module, PyObject *args)
{
    PyObject *strings, *quantity, *scale, *cache, *scales, *names, *addresses;
    Py_ssize_t limit, fold_length, fold_limit;
    if (!PyArg_ParseTuple(args, "OOOO!O!nO!O!nn:bind_values", &strings, &quantity, &scale,
                          &PyDict_Type, &cache, &PyDict_Type, &scales, &limit, &PyTuple_Type,
                          &names, &PyTuple_Type, &addresses, &fold_length, &fold_limit))
        return NULL;
    int exact = PyDict_CheckExact(cache) && PyDict_CheckExact(scales) && limit >= 1
                && fold_length >= 0 && fold_limit >= 1
                && PyTuple_CheckExact(names) && PyTuple_CheckExact(addresses);
    for (Py_ssize_t i = 0; exact && i < PyTuple_GET_SIZE(names); i++)
        exact = PyUnicode_CheckExact(PyTuple_GET_ITEM(names, i));
    for (Py_ssize_t i = 0; exact && i < PyTuple_GET_SIZE(addresses); i++)
        exact = PyUnicode_CheckExact(PyTuple_GET_ITEM(addresses, i));
    if (!exact) {
        PyErr_SetString(PyExc_TypeError, "bind_values: exact dicts, tuples of strs, a size");
        return NULL;
    }
    set_bound(&py_string_rows, strings);
    set_bound(&py_quantity_rows, quantity);
    set_bound(&py_unit_scale, scale);
    set_bound(&quantities, cache);
    set_bound(&unit_scales, scales);
    set_bound(&name_parts, names);
    set_bound(&address_parts, addresses);
    max_quantities = limit;
    cached_length = fold_length;
    max_cached = fold_limit;
    Py_RETURN_NONE;
}

static PyObject *
bind(PyObject *module, PyObject *args)
{
    PyObject *token, *date, *reference, *span, *target, *span_cache, *target_cache;
    PyObject *fold_cache, *fold, *low, *high;
    Py_ssize_t span_limit, target_limit, length;
    if (!PyArg_ParseTuple(args, "OOOOOO!O!O!OUUnnn:bind", &token, &date, &reference, &span,
                          &target, &PyDict_Type, &span_cache, &PyDict_Type, &target_cache,
                          &PyDict_Type, &fold_cache, &fold, &low, &high, &span_limit,
                          &target_limit, &length))
        return NULL;
    if (!PyDict_CheckExact(span_cache) || !PyDict_CheckExact(target_cache)
        || !PyDict_CheckExact(fold_cache)
        || !PyUnicode_CheckExact(low) || !PyUnicode_CheckExact(high) || span_limit < 1
        || target_limit < 1 || length < 0) {
        PyErr_SetString(PyExc_TypeError, "bind: exact dicts, strs and positive sizes");
        return NULL;
    }
    set_bound(&py_token_rows, token);
    set_bound(&py_date_rows, date);
    set_bound(&py_reference_rows, reference);
    set_bound(&py_string_span, span);
    set_bound(&py_target_of, target);
    set_bound(&spans, span_cache);
    set_bound(&targets, target_cache);
    set_bound(&folded, fold_cache);
    set_bound(&fold_text, fold);
    set_bound(&lowest_text, low);
    set_bound(&highest_text, high);
    max_spans = span_limit;
    max_targets = target_limit;
    cut = length;
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"bind", bind, METH_VARARGS,
     "bind(token_rows, date_rows, reference_rows, string_span, target_of, spans, targets, "
     "folded, fold_text, lowest, highest, max_spans, max_targets, max_length): the Python "
     "twins and the caches shared with them."},
    {"token_rows", (PyCFunction)(void (*)(void))token_rows, METH_FASTCALL,
     "token_rows(param, found, out): index_builders.token_rows in C."},
    {"date_rows", (PyCFunction)(void (*)(void))date_rows, METH_FASTCALL,
     "date_rows(param, found, out): index_builders.date_rows in C."},
    {"reference_rows", (PyCFunction)(void (*)(void))reference_rows, METH_FASTCALL,
     "reference_rows(param, found, out): index_builders.reference_rows in C."},
    {"bind_values", bind_values, METH_VARARGS,
     "bind_values(string_rows, quantity_rows, unit_scale, quantities, unit_scales, "
     "max_quantities, name_parts, address_parts, cached_length, max_cached): the Python twins and caches of the string "
     "and quantity builders."},
    {"string_rows", (PyCFunction)(void (*)(void))string_rows, METH_FASTCALL,
     "string_rows(param, found, out): index_builders.string_rows in C."},
    {"quantity_rows", (PyCFunction)(void (*)(void))quantity_rows, METH_FASTCALL,
     "quantity_rows(param, found, out): index_builders.quantity_rows in C."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "yteso.store._builders",
    "C twins of yteso.store.index_builders' row builders.", -1, methods,
};

/* An interned str kept for the process's life. */
static int
intern(PyObject **slot, const char *text)
{
    *slot = PyUnicode_InternFromString(text);
    return *slot == NULL ? -1 : 0;
}

PyMODINIT_FUNC
PyInit__builders(void)
{
    if (intern(&s_token, "token") || intern(&s_date, "date")
        || intern(&s_reference, "reference") || intern(&s_true, "true")
        || intern(&s_false, "false") || intern(&s_of_type, ":of-type")
        || intern(&k_coding, "coding") || intern(&k_text, "text") || intern(&k_code, "code")
        || intern(&k_display, "display") || intern(&k_system, "system")
        || intern(&k_value, "value") || intern(&k_type, "type")
        || intern(&k_assigner, "assigner") || intern(&k_start, "start")
        || intern(&k_end, "end") || intern(&k_reference, "reference")
        || intern(&k_identifier, "identifier") || intern(&s_string, "string")
        || intern(&s_quantity, "quantity") || intern(&s_space, " ") || intern(&k_family, "family")
        || intern(&k_given, "given") || intern(&k_unit, "unit"))
        return NULL;
    return PyModule_Create(&module_def);
}
