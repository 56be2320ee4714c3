"""``htmlChecks()``: the R4 narrative rules txt-1 and txt-2 on an xhtml ``div``.

https://hl7.org/fhir/R4/narrative.html#xhtml: the narrative is a ``div`` in the XHTML namespace
holding only the basic formatting elements and attributes of HTML 4.0 (chapters 7-11 and 15),
``<a>`` (name or href), images and inline styles: no scripts, forms, frames, objects, head or
body, no event attributes (``onclick``). R4 publishes both txt-1 (the element and attribute
rules) and txt-2 (some non-whitespace content) as ``htmlChecks()``, so the function checks both.
The element and attribute lists are the HL7 Java validator's (``XhtmlValidator``).
"""

from __future__ import annotations

from html.parser import HTMLParser

XHTML_NAMESPACE = "http://www.w3.org/1999/xhtml"
ALLOWED_ELEMENTS = frozenset(
    "p br div h1 h2 h3 h4 h5 h6 a span b em i strong small big tt dfn q var abbr acronym cite "
    "blockquote hr address bdo kbd sub sup ul ol li dl dt dd pre table caption colgroup col "
    "thead tr tfoot tbody th td code samp img map area".split()
)
ALLOWED_ATTRIBUTES = frozenset(
    "title style class id lang xml:lang dir accesskey tabindex "
    "span width align valign char charoff abbr axis headers scope rowspan colspan".split()
)
# attributes allowed on one element only, as ``element.attribute``
ALLOWED_ELEMENT_ATTRIBUTES = frozenset(
    "a.href a.name a.charset a.type a.hreflang a.rel a.rev a.shape a.coords img.src img.border "
    "img.alt img.longdesc img.height img.width img.usemap img.ismap map.name area.shape "
    "area.coords area.href area.nohref area.alt blockquote.cite q.cite table.summary "
    "table.width table.border table.frame table.rules table.cellspacing table.cellpadding "
    "pre.space td.nowrap".split()
)
_BLOCKS = frozenset({"div", "blockquote", "table", "ol", "ul", "p"})  # not inside a <p>
_VOID = frozenset({"br", "hr", "img", "col", "area"})


class _NarrativeCheck(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.safe = True
        self.content = False  # txt-2: some text or an image
        self.roots = 0
        self.open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if not self.open:
            self.roots += 1
            self.safe &= tag == "div" and ("xmlns", XHTML_NAMESPACE) in attrs and self.roots == 1
        self.safe &= tag in ALLOWED_ELEMENTS and all(_allowed(tag, *attr) for attr in attrs)
        self.safe &= not ("p" in self.open and tag in _BLOCKS)
        self.safe &= not ("a" in self.open and tag == "a")
        self.content |= tag == "img"
        if tag not in _VOID:
            self.open.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in _VOID:
            self.open.pop()

    def handle_endtag(self, tag: str) -> None:
        if tag in _VOID:
            return
        if not self.open or self.open[-1] != tag:
            self.safe = False  # not well-formed XML
            return
        self.open.pop()

    def handle_data(self, data: str) -> None:
        if not self.open:
            self.safe &= not data.strip()  # text outside the div
        self.content |= bool(data.strip())

    def handle_decl(self, decl: str) -> None:
        self.safe = False  # a DOCTYPE

    def handle_pi(self, data: str) -> None:
        self.safe = False


def _allowed(tag: str, name: str, value: str | None) -> bool:
    if (value or "").strip().lower().startswith(("javascript:", "vbscript:")):
        return False
    return (
        name.startswith("xmlns")
        or name in ALLOWED_ATTRIBUTES
        or f"{tag}.{name}" in ALLOWED_ELEMENT_ATTRIBUTES
    )


def html_checks_pass(text: str) -> bool:
    """Whether ``text`` is a narrative ``div`` that txt-1 and txt-2 accept."""
    checker = _NarrativeCheck()
    checker.feed(text)
    checker.close()
    return checker.safe and checker.content and checker.roots == 1 and not checker.open
