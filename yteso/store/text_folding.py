"""Case- and accent-insensitive text for string search (https://hl7.org/fhir/R4/search.html#string).

``nguyen`` must find ``Nguyễn`` and ``dang`` must find ``Đặng``: Unicode decomposition strips the
tone and vowel marks, but ``đ`` (U+0111) has no decomposition, so it is mapped to ``d`` by hand.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final

MAX_INDEXED_LENGTH: Final = 200  # longer strings are indexed by their first characters
# Codes, displays and names repeat across resources: fold each short string once. A plain
# dict rather than ``lru_cache``: hot callers probe ``FOLDED.get`` inline (no call layer).
_CACHED_LENGTH: Final = 64
_MAX_CACHED: Final = 16384
FOLDED: Final[dict[str, str]] = {}

_MARKS: Final = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]+")
# Letters without a decomposition, folded by hand: a chain of str.replace, not str.translate
# (a dict-table translate of non-ASCII text costs ~45 ns a character; each replace ~0.1 µs).
_EXTRA: Final = (("đ", "d"), ("Đ", "d"), ("ð", "d"), ("ø", "o"), ("Ø", "o"), ("ł", "l"), ("Ł", "l"))


def fold_text(text: str) -> str:
    """Lower-case, without diacritics, with runs of whitespace collapsed to one space."""
    folded = FOLDED.get(text)
    if folded is not None:
        return folded
    folded = _fold(text)
    if len(text) <= _CACHED_LENGTH:
        if len(FOLDED) >= _MAX_CACHED:
            FOLDED.clear()  # a cheap bound: real data refills the hot entries at once
        FOLDED[text] = folded
    return folded


def fold_words(text: str) -> str:
    """:func:`fold_text` of long text that seldom repeats as a whole (``_content``) but whose
    words do: folded word by word through the cache. The same result: folding maps each
    character on its own (never to or from whitespace) and then splits on whitespace."""
    if text.isascii():
        return " ".join(text.lower().split())
    cached = FOLDED.get
    words = []
    for word in text.split():
        folded = cached(word)
        if folded is None:  # an ASCII word (ids, dates, numbers) seldom repeats: not cached
            folded = word.lower() if word.isascii() else fold_text(word)
        if folded:  # a word of marks only folds to nothing
            words.append(folded)
    return " ".join(words)


def fold_parts(strings: list[str]) -> str:
    """:func:`fold_text` of the strings joined by spaces (``_content``): an ASCII whole folded
    at once, otherwise string by string through the cache (codes, displays and names repeat
    across resources; a resource's non-ASCII text seldom does as a whole). The same result:
    folding never makes or removes whitespace inside a string, and empty parts drop out."""
    for text in strings:
        if not text.isascii():
            break  # most resources here hold Vietnamese text, often in their first strings
    else:  # all ASCII: folded at once (joining first only to test that cost ~6k instructions)
        return " ".join(" ".join(strings).lower().split())
    parts = []
    for text in strings:
        # FOLDED.get inline: mypyc's dict primitive (a bound ``get`` was a Python-level call)
        folded = FOLDED.get(text)
        if folded is None:
            # short ASCII strings are remembered too: codes, units and statuses repeat in
            # every resource (a probe costs a fifth of their lower/split/join)
            folded = _fold(text)
            if len(text) <= _CACHED_LENGTH:
                if len(FOLDED) >= _MAX_CACHED:
                    FOLDED.clear()
                FOLDED[text] = folded
        if folded:
            parts.append(folded)
    return " ".join(parts)


def _fold(text: str) -> str:
    if text.isascii():
        return " ".join(text.lower().split())
    for letter, plain in _EXTRA:
        if letter in text:
            text = text.replace(letter, plain)
    decomposed = unicodedata.normalize("NFD", text)
    return " ".join(_MARKS.sub("", decomposed).casefold().split())


# The code points whose fold the C twin of ``_content`` reads from :func:`fold_table`: Latin
# letters (Vietnamese among them), the combining marks, and the Unicode spaces.
_TABLE_RANGES: Final = (
    (0x80, 0x250),
    (0x300, 0x370),
    (0x1E00, 0x1F00),
    (0x2000, 0x2030),
    (0x205F, 0x2060),
    (0x3000, 0x3001),
)
TABLE_NOT_FOLDED: Final = 0xFF  # the string goes through _fold
TABLE_SPACE: Final = 0xFE  # where str.split() splits


def fold_table() -> bytes:
    """Each code point's fold by :func:`_fold`'s own steps, for the C twin of ``_content``
    (``yteso/store/_text.c``): four bytes a code point, up to the last of ``_TABLE_RANGES``:
    the fold's length and its ASCII letters (a tone mark: length 0), ``TABLE_SPACE`` for
    whitespace, or ``TABLE_NOT_FOLDED`` (a fold that is not ASCII, or any code point outside
    the ranges). Folding a string whose every character has an entry is folding each on its
    own, because ``_fold`` works character by character (each replacement, decomposition
    and case folding), except NFD's reordering of combining marks: an entry is refused to
    a character that decomposes with a combining mark ``_MARKS`` keeps, so every reordered
    mark is then removed. Built from the running Python's Unicode data, like ``_fold``."""
    size = _TABLE_RANGES[-1][1]
    table = bytearray([TABLE_NOT_FOLDED]) * (size * 4)
    for first, last in _TABLE_RANGES:
        for code in range(first, last):
            entry = _table_entry(chr(code))
            table[code * 4 : code * 4 + len(entry)] = entry
    return bytes(table)


def _table_entry(char: str) -> bytes:
    for letter, plain in _EXTRA:
        char = char.replace(letter, plain)
    decomposed = unicodedata.normalize("NFD", char)
    if any(unicodedata.combining(c) and not _MARKS.fullmatch(c) for c in decomposed):
        return bytes([TABLE_NOT_FOLDED])  # a kept mark: NFD may reorder it past its neighbours
    folded = _MARKS.sub("", decomposed).casefold()
    if folded and folded.isspace():
        return bytes([TABLE_SPACE])
    if not folded.isascii() or len(folded) > 3 or any(c.isspace() for c in folded):
        return bytes([TABLE_NOT_FOLDED])
    return bytes([len(folded)]) + folded.encode("ascii")


def like_escape(text: str) -> str:
    """Escape ``%``, ``_`` and ``\\`` so a bound LIKE pattern matches them literally."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
