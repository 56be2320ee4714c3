"""The structure walk's C verdict never says "certainly valid" where the Python walk reports.

Differential: ``_structure.certainly_valid`` (through ``verdict.certainly_valid_function``)
against ``yteso.fhir.validation.validate`` (the Python walk, called directly) on all 100,000
lines ``bench/bench_load.py`` generates, every resource of the Synthea samples
(../shared/data/synthea), the HL7 validator suite's inputs (../shared/suites/fhir-validator),
seeded mutations of bench and Synthea resources, and hand-made edge cases. Wherever the Python
walk appends any issue, the twin must answer False; where it appends none, the twin may decline
(False), and the tests count and bound how often it does on valid data.
"""

from __future__ import annotations

import copy
import random
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.conftest import IN_CI, REPO, shared_path
from tests.fhirpath.test_invariants_differential import validator_suite_inputs
from yteso import native
from yteso.fhir.types import Json
from yteso.fhir.validation import validate
from yteso.fhir.validation.primitives import primitive_check, simple_kind
from yteso.fhir.validation.verdict import certainly_valid_function

BENCH_LINES = 100_000
MUTANTS_PER_BASE = 40
Verdict = Callable[[object], bool]


@pytest.fixture(scope="module")
def verdict() -> Verdict:
    function = certainly_valid_function()
    if function is None:
        message = "the C twin is not available (YTESO_PURE=1, or a stale or absent build)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return function


def _judge(verdict: Verdict, resources: list[Any]) -> tuple[int, int, Counter[str]]:
    """Asserts the rule on each; returns (valid, flagged, declined valid ones per type)."""
    valid = flagged = 0
    declined: Counter[str] = Counter()
    for resource in resources:
        issues = validate(resource)
        said = verdict(resource)
        assert type(said) is bool
        if issues:
            flagged += 1
            assert not said, (issues, resource)
        else:
            valid += 1
            if not said:
                declined[str(resource.get("resourceType"))] += 1
    return valid, flagged, declined


def _bench_resources(total: int = BENCH_LINES) -> list[Json]:
    """``bench_load.generate``'s lines, in memory, as orjson parses them."""
    sys.path.insert(0, str(REPO / "bench"))
    try:
        import bench_load
    finally:
        sys.path.remove(str(REPO / "bench"))
    rng = random.Random(7)
    found: list[Json] = []
    n = 0
    while len(found) < total:
        subject, enc = f"Patient/pat-{n}", f"Encounter/enc-{n}"
        found.append(bench_load.patient(rng, n))
        found.append(bench_load.encounter(rng, n, subject))
        found += [bench_load.observation(rng, n * 5 + k, subject, enc) for k in range(5)]
        found.append(bench_load.condition(rng, n, subject, enc))
        n += 1
    return [orjson.loads(orjson.dumps(resource)) for resource in found[:total]]


def _synthea_resources() -> list[Json]:
    """Every resource of every Synthea file: bundles, their entries, NDJSON lines."""
    root = Path(shared_path("data", "synthea"))
    found: list[Json] = []
    for path in sorted(root.rglob("*.ndjson")):
        found += [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]
    for path in sorted(root.rglob("*.json")):
        document = orjson.loads(path.read_bytes())
        if isinstance(document, dict):
            found.append(document)
            for entry in document.get("entry", []):
                if isinstance(entry, dict) and isinstance(entry.get("resource"), dict):
                    found.append(entry["resource"])
    return found


def _validator_suite() -> list[Json]:
    """The suite's inputs, each followed by its Bundle entries' resources."""
    found: list[Json] = []
    for document in validator_suite_inputs():
        found.append(document)
        for entry in document.get("entry", []) if type(document.get("entry")) is list else []:
            if isinstance(entry, dict) and isinstance(entry.get("resource"), dict):
                found.append(entry["resource"])
    return found


def test_bench_lines(verdict: Verdict) -> None:
    valid, flagged, declined = _judge(verdict, _bench_resources())
    print(f"bench: {valid} valid, {flagged} flagged, declined {dict(declined)}")
    assert valid == BENCH_LINES and not declined  # the whole point: the walk never runs there


def test_synthea_files(verdict: Verdict) -> None:
    resources = _synthea_resources()
    valid, flagged, declined = _judge(verdict, resources)
    print(f"Synthea: {valid} valid, {flagged} flagged, declined {dict(declined)}")
    # declined: the bundles themselves and resources the twin leaves to the walk
    assert sum(declined.values()) - declined["Bundle"] < valid // 10


def test_validator_suite_inputs(verdict: Verdict) -> None:
    resources = _validator_suite()
    valid, flagged, declined = _judge(verdict, resources)
    print(f"validator suite: {valid} valid, {flagged} flagged, declined {dict(declined)}")
    assert flagged > 20


# --- seeded mutations ------------------------------------------------------------------------

_WRONG_VALUES: list[Any] = [
    123,
    -1,
    0,
    2**31,
    -(2**31) - 1,
    1.5,
    True,
    False,
    None,
    "",
    " ",
    "text",
    "a\fb",
    "a\vb",
    "x" * 65,
    "2024-13-01",
    "2023-02-29",
    "2024-02-30T10:00:00",
    "Đ",
    {},
    {"id": "x"},
    [],
    [None],
    [[]],
    [{}],
    {"unknown": 1},
    {"value": "x"},
    "bogus-code",
    "not a uri",
    "Patient/",
    "#",
]
_EXTENSION_SHAPES: list[Any] = [
    [{"url": "http://example.org/x"}],  # neither value nor extensions
    [{"url": "http://example.org/x", "valueString": "a", "extension": [{"url": "b"}]}],
    [{"url": "http://example.org/x", "valueString": "a", "valueBoolean": True}],
    [{"valueString": "no url"}],
    [{"url": "http://hl7.org/fhir/StructureDefinition/patient-birthPlace", "valueString": "x"}],
    [{"url": "http://hl7.org/fhir/StructureDefinition/data-absent-reason", "valueCode": "bad"}],
    [{"url": "http://example.org/x|1.0", "valueString": "a"}],
    [{"url": "http://example.org/x", "valueString": ""}],
    [{"url": "http://example.org/x", "valueUnknown": "a"}],
    [{"url": "http://example.org/x", "extension": []}],
    [{"url": "http://example.org/x", "valueString": "ok"}],
    [],
    {"url": "http://example.org/x", "valueString": "a"},
]
_PRIMITIVE_EXTENSIONS: list[Any] = [
    {"extension": [{"url": "http://example.org/x", "valueString": "a"}]},
    {"id": "a"},
    {},
    {"extension": [{"url": "http://example.org/x"}]},
    [{"id": "a"}],
    [None],
    "text",
]
_CONTAINED: list[Any] = [
    [{"resourceType": "Patient", "id": "c1", "contained": [{"resourceType": "Patient"}]}],
    [{"resourceType": "Patient", "id": "c1", "meta": {"versionId": "1"}}],
    [{"resourceType": "Patient", "id": "c1"}],
    [{"resourceType": "Nothing", "id": "c1"}],
    [{"id": "c1"}],
    {"resourceType": "Patient", "id": "c1"},
]
_BAD_REFERENCES_AND_CODES: list[Any] = [
    "Patient",
    "Nothing/1",
    "patient/1",
    "Organization/1",  # not a target of Observation.subject, Encounter.subject...
    "Device/1",
    "Patient/" + "a" * 65,
    "Patient/a b",
    "Patient/1?x",
    "Patient?identifier=1",
    "Nothing?x=1",
    "http://example.org/fhir/Organization/1",
    "http://example.org/fhir/Nothing/1",
    "urn:uuid:1",
    "#x",
    "#",
    "Patient/1/_history",
    "Patient/1/_history/2",
    "Bệnh/1",
    "http://hl7.org/fhir/administrative-gender",  # a complete core code system
    "http://hl7.org/fhir/ValueSet/administrative-gender",  # a ValueSet, not a CodeSystem
    "bogus",
    1,
    [],
    {},
]
_CHOICE_SUFFIXES = ("String", "Boolean", "Quantity", "DateTime", "Period", "CodeableConcept")


def _nodes(value: Any, found: list[tuple[Any, Any]]) -> None:
    """Every (container, key or index) of the tree, depth first."""
    if isinstance(value, dict):
        for key, item in value.items():
            found.append((value, key))
            _nodes(item, found)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.append((value, index))
            _nodes(item, found)


def _dicts(value: Any) -> Iterator[dict[str, Any]]:
    if isinstance(value, dict):
        yield value
        for item in value.values():
            yield from _dicts(item)
    elif isinstance(value, list):
        for item in value:
            yield from _dicts(item)


def _pick(rng: random.Random, options: list[Any]) -> Any:
    """A fresh copy: a shared one, changed by a later mutation, would change every mutant."""
    return copy.deepcopy(rng.choice(options))


def _mutate(resource: Json, rng: random.Random) -> None:
    """One seeded change somewhere in the tree (in place)."""
    nodes: list[tuple[Any, Any]] = []
    _nodes(resource, nodes)
    holders = list(_dicts(resource))
    container, key = rng.choice(nodes)
    holder = rng.choice(holders)
    kind = rng.randrange(11)
    if kind == 0:  # wrong JSON type or bad primitive, anywhere
        container[key] = _pick(rng, _WRONG_VALUES)
    elif kind == 1:  # a missing element (required or not)
        if isinstance(container, dict) and key != "resourceType":
            del container[key]
        elif isinstance(container, list):
            container.pop(key)
    elif kind == 2:  # an unknown key
        holder[rng.choice(["unknownElement", "_unknown", "Value", "valueX", "fhir_comments"])] = 1
    elif kind == 3:  # an empty array or object
        container[key] = rng.choice([[], {}])
    elif kind == 4:  # a null inside an array, or as a value
        if isinstance(container, list):
            container.insert(rng.randrange(len(container) + 1), None)
        else:
            container[key] = None
    elif kind == 5:  # two types of one choice
        for name in list(holder):
            for suffix in _CHOICE_SUFFIXES:
                if name.endswith(suffix) and name != suffix:
                    holder[name[: -len(suffix)] + rng.choice(_CHOICE_SUFFIXES)] = "x"
                    return
        holder["valueString"], holder["valueBoolean"] = "x", True
    elif kind == 6:  # a code outside its required value set
        for name in ("status", "gender", "use", "code", "system", "type", "intent", "unit"):
            if name in holder:
                holder[name] = rng.choice(["bogus-code", "FINAL", "urn:bad", "http://x.org"])
                return
        container[key] = "bogus-code"
    elif kind == 7:  # a primitive extension, with or without its value
        names = [name for name, item in holder.items() if isinstance(item, str | bool | int)]
        name = rng.choice(names) if names else "id"
        holder["_" + name] = _pick(rng, _PRIMITIVE_EXTENSIONS)
        if rng.random() < 0.5:
            holder.pop(name, None)
    elif kind == 8:  # extensions of odd shapes
        holder[rng.choice(["extension", "modifierExtension"])] = _pick(rng, _EXTENSION_SHAPES)
    elif kind == 9:  # contained resources, nested or not
        resource["contained"] = _pick(rng, _CONTAINED)
    else:  # a reference or coding of a bad shape
        key = rng.choice(["reference", "reference", "system", "code", "subject", "coding"])
        holder[key] = _pick(rng, _BAD_REFERENCES_AND_CODES)


def _mutants(bases: list[Json], seed: int) -> list[Json]:
    rng = random.Random(seed)
    found = []
    for base in bases:
        for _ in range(MUTANTS_PER_BASE):
            mutant = orjson.loads(orjson.dumps(base))
            for _ in range(rng.choice([1, 1, 2, 3])):
                _mutate(mutant, rng)
            found.append(mutant)
    return found


def test_mutated_bench_resources(verdict: Verdict) -> None:
    bases = _bench_resources(800)
    _judge(verdict, bases)  # the twin's memory of valid objects warm, as in a load
    mutants = _mutants(bases, seed=15)
    valid, flagged, declined = _judge(verdict, mutants)
    print(f"bench mutants: {valid} valid, {flagged} flagged, declined {sum(declined.values())}")
    assert flagged > 10_000
    assert _judge(verdict, mutants)[:2] == (valid, flagged)  # the twin's memories warm


def test_mutated_synthea_resources(verdict: Verdict) -> None:
    rng = random.Random(15)
    resources = [r for r in _synthea_resources() if r.get("resourceType") != "Bundle"]
    by_type: dict[str, list[Json]] = {}
    for resource in resources:
        by_type.setdefault(str(resource.get("resourceType")), []).append(resource)
    bases = [r for group in by_type.values() for r in rng.sample(group, min(len(group), 12))]
    valid, flagged, declined = _judge(verdict, _mutants(bases, seed=16))
    print(f"Synthea mutants: {valid} valid, {flagged} flagged, declined {sum(declined.values())}")
    assert flagged > 5_000


# --- hand-made edge cases ---------------------------------------------------------------------


class _Dict(dict[str, Any]):
    pass


class _List(list[Any]):
    pass


class _Str(str):
    pass


PATIENT: Json = {
    "resourceType": "Patient",
    "id": "p-1",
    "name": [{"family": "Đặng", "given": ["Thị", "Đào"], "text": "Đặng Thị Đào"}],
    "gender": "female",
    "birthDate": "1990-02-28",
    "address": [{"city": "Hà Nội", "line": ["Số 1 phố Huế"]}],
    "maritalStatus": {"coding": [{"system": "http://x.org/ms", "code": "M"}]},
    "multipleBirthInteger": 2,
}


def _with(**changes: Any) -> Json:
    return {**orjson.loads(orjson.dumps(PATIENT)), **changes}


EDGE_CASES: list[tuple[str, Any]] = [
    ("valid Vietnamese", _with()),
    ("not a dict", [PATIENT]),
    ("None", None),
    ("dict subclass", _Dict(PATIENT)),
    ("nested dict subclass", _with(maritalStatus=_Dict({"text": "x"}))),
    ("list subclass", _with(name=_List([{"family": "A"}]))),
    ("str subclass value", _with(gender=_Str("female"))),
    ("str subclass resourceType", _with(resourceType=_Str("Patient"))),
    ("non-str key", {**PATIENT, 1: "x"}),
    ("non-str nested key", _with(maritalStatus={"text": "x", 2: "y"})),
    ("unknown type", _with(resourceType="Patientt")),
    ("no type", {k: v for k, v in PATIENT.items() if k != "resourceType"}),
    ("resourceType nested", _with(maritalStatus={"text": "x", "resourceType": "Patient"})),
    ("non-ASCII id", _with(id="bệnh-nhân")),
    ("Đ in id", _with(id="Đ1")),
    ("id of 64", _with(id="a" * 64)),
    ("id of 65", _with(id="a" * 65)),
    ("empty id", _with(id="")),
    ("empty string", _with(name=[{"family": ""}])),
    ("huge string", _with(name=[{"family": "đ" * (1024 * 1024)}])),
    ("too huge string", _with(name=[{"family": "đ" * (1024 * 1024 + 1)}])),
    ("vertical tab", _with(name=[{"family": "a\vb"}])),
    ("form feed", _with(name=[{"family": "a\fb"}])),
    ("null value", _with(gender=None)),
    ("null in array", _with(name=[{"given": ["a", None]}])),
    (
        "null in array with _given",
        _with(name=[{"given": ["a", None], "_given": [None, {"id": "x"}]}]),
    ),
    ("nested array", _with(name=[[{"family": "A"}]])),
    ("array for single", _with(gender=["female"])),
    ("single for array", _with(name={"family": "A"})),
    ("empty array", _with(name=[])),
    ("empty object", _with(maritalStatus={})),
    ("only id", _with(maritalStatus={"id": "x"})),
    ("bool for integer", _with(multipleBirthInteger=True)),
    ("float for integer", _with(multipleBirthInteger=2.0)),
    ("integer too big", _with(multipleBirthInteger=2**31)),
    ("integer at max", _with(multipleBirthInteger=2**31 - 1)),
    ("integer at min", _with(multipleBirthInteger=-(2**31))),
    ("integer huge", _with(multipleBirthInteger=2**80)),
    ("Decimal for integer", _with(multipleBirthInteger=Decimal(2))),
    ("two choices", _with(multipleBirthBoolean=True)),
    ("bad code", _with(gender="femme")),
    ("bad date", _with(birthDate="1990-02-30")),
    ("leap day", _with(birthDate="2000-02-29")),
    ("year only", _with(birthDate="1990")),
    (
        "primitive extension",
        _with(_birthDate={"extension": [{"url": "http://x.org/e", "valueString": "a"}]}),
    ),
    ("extension without value", _with(extension=[{"url": "http://x.org/e"}])),
    ("unknown extension", _with(extension=[{"url": "http://x.org/e", "valueString": "a"}])),
    (
        "VN Core extension",
        _with(
            extension=[
                {"url": "http://fhir.hl7.org.vn/core/StructureDefinition/ward", "valueString": "a"}
            ]
        ),
    ),
    (
        "unknown core extension context",
        _with(
            extension=[
                {
                    "url": "http://hl7.org/fhir/StructureDefinition/data-absent-reason",
                    "valueCode": "unknown",
                }
            ]
        ),
    ),
    ("contained", _with(contained=[{"resourceType": "Patient", "id": "c"}])),
    ("bad reference", _with(managingOrganization={"reference": "Patient/p"})),
    ("relative reference", _with(managingOrganization={"reference": "Organization/o"})),
    ("bad coding system", _with(maritalStatus={"coding": [{"system": "x", "code": "M"}]})),
    ("Bundle", {"resourceType": "Bundle", "type": "collection"}),
    (
        "Observation with Decimal",
        {
            "resourceType": "Observation",
            "status": "final",
            "code": {"text": "x"},
            "valueQuantity": {"value": Decimal("1.50")},
        },
    ),
    (
        "Observation with float",
        {
            "resourceType": "Observation",
            "status": "final",
            "code": {"text": "x"},
            "valueQuantity": {"value": 1.5, "unit": "mg"},
        },
    ),
]


@pytest.mark.parametrize(("name", "resource"), EDGE_CASES, ids=[name for name, _ in EDGE_CASES])
def test_edge_cases(verdict: Verdict, name: str, resource: Any) -> None:
    try:
        issues = validate(resource)
    except (TypeError, IndexError, AttributeError):  # the Python walk's own limits
        assert not verdict(resource)
        return
    said = verdict(resource)
    if issues:
        assert not said, issues
    # where the twin is meant to answer for itself, it does
    if name in ("valid Vietnamese", "id of 64", "integer at max", "integer at min", "leap day"):
        assert not issues and said
    if name in ("huge string", "year only", "VN Core extension", "relative reference"):
        assert not issues and said
    if name in ("Observation with float",):
        assert not issues and said


# --- the primitive checks the twin makes itself -----------------------------------------------

_SIMPLE_TYPES = (
    "string", "markdown", "id", "uri", "url", "code", "boolean", "decimal", "integer",
    "positiveInt", "unsignedInt", "date", "dateTime", "instant",
)  # fmt: skip
_CALENDAR_TYPES = ("date", "dateTime", "instant")
_SEEDS = [
    "2024-05-01", "2024-05-01T08:00:00+07:00", "2024-02-29T23:59:60.123Z", "2023-02-29",
    "1900-12-31T00:00:00-14:00", "2024-05-01T08:00:00+14:00", "2024", "2024-05", "final",
    "http://loinc.org", "a b", "Patient-1.x", "Đức", "urn:uuid:1",
]  # fmt: skip
_ALPHABET = "0123456789-:T.Z+ \t\n\r\v\faĐđ/#"


def _texts(rng: random.Random, count: int) -> Iterator[object]:
    yield from (
        "", " ", "a", "a" * 64, "a" * 65, "x" * (1024 * 1024), "x" * (1024 * 1024 + 1),
        "0000-01-01", "2024-00-01", "2024-13-01", "2024-01-00", "2024-01-32", "2024-04-31",
        "1900-02-29", "2000-02-29", "2024-05-01T24:00:00Z", "2024-05-01T08:00:00.Z",
        "2024-05-01T08:00:00+14:01", "2024-05-01T08:00:00+07", "a  b", " a", "a ", "a\u00a0b",
    )  # fmt: skip
    yield from (None, True, False, 0, 1, -1, 2**31 - 1, 2**31, -(2**31), -(2**31) - 1, 2**70)
    yield from (1.5, 0.0, Decimal("1.5"), [], {}, _Str("a"))
    for _ in range(count):
        text = list(rng.choice(_SEEDS))
        for _ in range(rng.randrange(4)):
            at = rng.randrange(len(text) + 1)
            change = rng.randrange(3)
            if change == 0 and at < len(text):
                text[at] = rng.choice(_ALPHABET)
            elif change == 1:
                text.insert(at, rng.choice(_ALPHABET))
            elif text and at < len(text):
                del text[at]
        yield "".join(text)


@pytest.mark.parametrize("type_name", _SIMPLE_TYPES)
def test_simple_kinds_are_the_checks(verdict: Verdict, type_name: str) -> None:
    """Each primitive check the twin makes itself gives the Python check's verdict; it may
    leave a value to the check (calendar shapes it does not know, a Decimal), never more."""
    twin = native.c_extension("yteso.fhir.validation._structure")
    assert twin is not None
    check = primitive_check(type_name)
    kind = simple_kind(check)
    assert kind != 0
    agreed = 0
    for value in _texts(random.Random(type_name), 20_000):
        valid = check(value) is None
        said = twin.simple_valid(kind, value)
        assert valid or not said, value  # never valid where the check finds a problem
        if valid and not said:  # left to the check: calendar shapes it does not know, Decimal
            assert type_name in _CALENDAR_TYPES or type(value) is Decimal, value
        agreed += said
    assert agreed >= 2  # booleans: True and False
