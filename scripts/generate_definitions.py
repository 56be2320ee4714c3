#!/usr/bin/env python3
"""Turn the official FHIR R4 (4.0.1) definitions into the compact data files the code loads.

Reads ``../shared/fhir-r4/`` (StructureDefinition snapshots, value sets, code systems, search
parameters, the patient CompartmentDefinition) and writes deterministic gzip'd JSON (sorted keys,
no timestamps) into ``yteso/fhir/definitions/data/``. Re-running it gives byte-identical files;
``tests/fhir/test_definitions.py`` checks that the committed files match.

    .venv/bin/python scripts/generate_definitions.py [--source DIR] [--out DIR]

Spec: https://hl7.org/fhir/R4/structuredefinition.html, https://hl7.org/fhir/R4/valueset.html,
https://hl7.org/fhir/R4/searchparameter.html, https://hl7.org/fhir/R4/compartmentdefinition.html
"""

from __future__ import annotations

import argparse
import gzip
import json
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DEFAULT_SOURCE = REPO.parent / "shared" / "fhir-r4"
DEFAULT_OUT = REPO / "yteso" / "fhir" / "definitions" / "data"
FHIR_TYPE_EXT = "http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type"
REGEX_EXT = "http://hl7.org/fhir/StructureDefinition/regex"
SD_PREFIX = "http://hl7.org/fhir/StructureDefinition/"
Json = dict[str, Any]


def read_bundle(path: Path) -> list[Json]:
    with path.open(encoding="utf-8") as handle:
        return [entry["resource"] for entry in json.load(handle)["entry"]]


def write_gzip_json(path: Path, data: object) -> None:
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    # mtime=0 and no file name in the header: byte-identical output on every run.
    path.write_bytes(gzip.compress(text.encode("utf-8"), compresslevel=9, mtime=0))


# --- StructureDefinitions -------------------------------------------------------------------


class ConstraintTable:
    """Interns invariants: ``ele-1`` alone appears on thousands of elements."""

    def __init__(self) -> None:
        self.rows: list[Json] = []
        self.index: dict[str, int] = {}

    def add(self, constraint: Json) -> int:
        row = {
            key: constraint[key]
            for key in ("key", "severity", "human", "expression", "source")
            if key in constraint
        }
        marker = json.dumps(row, sort_keys=True)
        if marker not in self.index:
            self.index[marker] = len(self.rows)
            self.rows.append(row)
        return self.index[marker]


def element_type_code(type_entry: Json) -> str:
    """The FHIR type of an element; System.* codes carry the FHIR type in an extension."""
    for ext in type_entry.get("extension", []):
        if ext.get("url") == FHIR_TYPE_EXT:
            return str(ext["valueUrl"])
    return str(type_entry["code"])


def element_record(element: Json, type_kind: str, constraints: ConstraintTable) -> Json:
    path = element["path"]
    record: Json = {"path": path, "min": element.get("min", 0), "max": element.get("max", "*")}
    types = []
    for entry in element.get("type", []):
        code = element_type_code(entry)
        # R4 snapshots type Resource.id as System.String/string; the spec (and JSON schema) say id.
        if type_kind == "resource" and path.count(".") == 1 and path.endswith(".id"):
            code = "id"
        item: Json = {"code": code}
        if entry["code"].startswith("http://hl7.org/fhirpath/"):
            item["system"] = entry["code"].rsplit("/", 1)[1]
        for key in ("targetProfile", "profile"):
            if key in entry:
                item[key] = entry[key]
        types.append(item)
    if types:
        record["types"] = types
    if "contentReference" in element:
        record["contentReference"] = element["contentReference"]
    if element.get("isSummary"):
        record["summary"] = True
    if element.get("isModifier"):
        record["modifier"] = True
    binding = element.get("binding")
    if binding and "valueSet" in binding:
        record["binding"] = {"strength": binding["strength"], "valueSet": binding["valueSet"]}
    if element.get("constraint"):
        record["constraints"] = [constraints.add(c) for c in element["constraint"]]
    return record


def primitive_details(snapshot: list[Json]) -> Json:
    """Regex and FHIRPath system type from a primitive's ``value`` element."""
    for element in snapshot:
        if element["path"].endswith(".value"):
            for entry in element.get("type", []):
                details: Json = {"system_type": entry["code"].rsplit("/", 1)[1]}
                for ext in entry.get("extension", []):
                    if ext.get("url") == REGEX_EXT:
                        details["regex"] = ext["valueString"]
                return details
    return {}


def type_record(definition: Json, constraints: ConstraintTable) -> Json:
    snapshot = definition["snapshot"]["element"]
    base = definition.get("baseDefinition", "")
    record: Json = {
        "name": definition["id"],
        "type": definition["type"],
        "url": definition["url"],
        "kind": definition["kind"],
        "abstract": bool(definition.get("abstract", False)),
        "derivation": definition.get("derivation", "specialization"),
        "base": base.removeprefix(SD_PREFIX) if base else None,
        "constraints": [constraints.add(c) for c in snapshot[0].get("constraint", [])],
        "elements": [element_record(e, definition["kind"], constraints) for e in snapshot[1:]],
    }
    if definition["kind"] == "primitive-type":
        record.update(primitive_details(snapshot))
    return record


def build_types(source: Path) -> Json:
    constraints = ConstraintTable()
    types: Json = {}
    for name in ("profiles-types.json", "profiles-resources.json"):
        for resource in read_bundle(source / name):
            if resource["resourceType"] == "StructureDefinition" and "snapshot" in resource:
                types[resource["id"]] = type_record(resource, constraints)
    return {"types": types, "constraints": constraints.rows}


def required_value_sets(types: Json) -> set[str]:
    urls = set()
    for definition in types.values():
        for element in definition["elements"]:
            binding = element.get("binding")
            if binding and binding["strength"] == "required":
                urls.add(binding["valueSet"].split("|")[0])
    return urls


# --- Value sets -------------------------------------------------------------------------------


class NotEnumerable(Exception):
    """The value set cannot be expanded from the local definitions (filters, external systems)."""


def flatten_concepts(concepts: list[Json]) -> list[str]:
    codes: list[str] = []
    for concept in concepts:
        codes.append(concept["code"])
        codes.extend(flatten_concepts(concept.get("concept", [])))
    return codes


class Terminology:
    def __init__(self, resources: list[Json]) -> None:
        self.code_systems = {r["url"]: r for r in resources if r["resourceType"] == "CodeSystem"}
        self.value_sets = {r["url"]: r for r in resources if r["resourceType"] == "ValueSet"}

    def system_codes(self, system: str) -> set[str]:
        code_system = self.code_systems.get(system)
        if code_system is None or code_system.get("content") != "complete":
            raise NotEnumerable(system)
        return set(flatten_concepts(code_system.get("concept", [])))

    def component_codes(self, part: Json, depth: int) -> dict[str, set[str]]:
        """Codes of one compose.include / exclude entry, by system."""
        if part.get("filter"):
            raise NotEnumerable("filter")
        found: dict[str, set[str]] = {}
        system = part.get("system")
        if system is not None:
            if "concept" in part:
                found[system] = {c["code"] for c in part["concept"]}
            else:
                found[system] = self.system_codes(system)
        for url in part.get("valueSet", []):
            nested = self.expand(url.split("|")[0], depth + 1)
            for nested_system, codes in nested.items():
                if system is None or nested_system == system:
                    found.setdefault(nested_system, set()).update(codes)
        return found

    def expand(self, url: str, depth: int = 0) -> dict[str, set[str]]:
        value_set = self.value_sets.get(url)
        if value_set is None or depth > 10:
            raise NotEnumerable(url)
        compose = value_set.get("compose", {})
        result: dict[str, set[str]] = {}
        for include in compose.get("include", []):
            for system, codes in self.component_codes(include, depth).items():
                result.setdefault(system, set()).update(codes)
        for exclude in compose.get("exclude", []):
            for system, codes in self.component_codes(exclude, depth).items():
                result.get(system, set()).difference_update(codes)
        return result


def read_terminology(source: Path) -> Terminology:
    resources: list[Json] = []
    for name in ("valuesets.json", "v3-codesystems.json", "v2-tables.json"):
        resources.extend(read_bundle(source / name))
    return Terminology(resources)


def build_terminology_urls(terminology: Terminology) -> Json:
    """Canonical URLs of every core CodeSystem and ValueSet (e.g. to catch a ValueSet URL used
    as ``Coding.system``)."""
    return {
        "code_systems": sorted(terminology.code_systems),
        "value_sets": sorted(terminology.value_sets),
    }


def build_code_systems(terminology: Terminology) -> Json:
    """Codes of every complete core CodeSystem (FHIR, v2, v3) and whether they are
    case-sensitive, to reject a code its system does not define."""
    out: Json = {}
    for url, code_system in sorted(terminology.code_systems.items()):
        codes = flatten_concepts(code_system.get("concept", []))
        if code_system.get("content") == "complete" and codes:
            out[url] = {
                "caseSensitive": code_system.get("caseSensitive") is True,
                "codes": sorted(set(codes)),
            }
    return out


def build_value_sets(terminology: Terminology, urls: set[str]) -> Json:
    out: Json = {}
    for url in sorted(urls):
        try:
            expanded = terminology.expand(url)
        except NotEnumerable:
            out[url] = None  # recorded as known but not enumerable
            continue
        out[url] = {system: sorted(codes) for system, codes in expanded.items()}
    return out


# --- Search parameters and compartment ---------------------------------------------------------


def split_union(expression: str) -> list[str]:
    """Split a FHIRPath expression on top-level ``|`` (outside parentheses and quotes)."""
    parts: list[str] = []
    depth, start, quote = 0, 0, ""
    for index, char in enumerate(expression):
        if quote:
            if char == quote:
                quote = ""
        elif char in "'`":
            quote = char
        elif char in "([":
            depth += 1
        elif char in ")]":
            depth -= 1
        elif char == "|" and depth == 0:
            parts.append(expression[start:index].strip())
            start = index + 1
    parts.append(expression[start:].strip())
    return [part for part in parts if part]


def root_name(part: str) -> str:
    name = part.lstrip("( ")
    for index, char in enumerate(name):
        if not (char.isalnum() or char == "_"):
            return name[:index]
    return name


def expressions_per_base(expression: str, bases: list[str]) -> dict[str, str]:
    """The union parts that apply to each base type (parts rooted elsewhere apply to all)."""
    parts = split_union(expression)
    out: dict[str, str] = {}
    for base in bases:
        mine = [p for p in parts if root_name(p) == base or root_name(p) not in bases]
        out[base] = " | ".join(mine) if mine else expression
    return out


def search_parameter_record(resource: Json) -> Json:
    record: Json = {
        key: resource[key]
        for key in (
            "url",
            "code",
            "name",
            "base",
            "type",
            "expression",
            "target",
            "multipleOr",
            "multipleAnd",
            "comparator",
            "modifier",
            "xpathUsage",
        )
        if key in resource
    }
    if "expression" in resource:
        record["expressions"] = expressions_per_base(resource["expression"], resource["base"])
    if "component" in resource:
        record["component"] = [
            {"definition": c["definition"], "expression": c["expression"]}
            for c in resource["component"]
        ]
    return record


def build_search_parameters(source: Path) -> list[Json]:
    records = [
        search_parameter_record(r)
        for r in read_bundle(source / "search-parameters.json")
        if r["resourceType"] == "SearchParameter"
    ]
    return sorted(records, key=lambda r: r["url"])


def build_patient_compartment(source: Path) -> Json:
    with (source / "compartmentdefinition-patient.json").open(encoding="utf-8") as handle:
        definition = json.load(handle)
    return {item["code"]: item.get("param", []) for item in definition["resource"]}


# --- Extension definitions ------------------------------------------------------------------


def extension_value_types(elements: list[Json], prefix: str) -> list[str] | None:
    """Allowed ``value[x]`` type codes of the extension (or slice) ``prefix`` by element id;
    None when the value is prohibited (a complex extension)."""
    for element in elements:
        if element["id"] == f"{prefix}.value[x]":
            if element.get("max") == "0":
                return None
            return sorted({element_type_code(t) for t in element.get("type", [])})
    return None


def extension_record(definition: Json) -> Json:
    """Value types, contexts, cardinality and sub-extensions of one extension definition."""
    elements = definition["snapshot"]["element"]
    root = elements[0]
    record: Json = {
        "contexts": sorted(c["expression"] for c in definition.get("context", [])),
        "max": root.get("max", "*"),
        "modifier": bool(root.get("isModifier", False)),
        "types": extension_value_types(elements, "Extension"),
    }
    parts: Json = {}
    for element in elements:
        slice_name = element.get("sliceName")
        if element["path"] != "Extension.extension" or not slice_name:
            continue
        prefix = element["id"]  # ``Extension.extension:ombCategory``
        urls = [e.get("fixedUri") for e in elements if e["id"] == f"{prefix}.url"]
        parts[urls[0] if urls and urls[0] else slice_name] = {
            "max": element.get("max", "*"),
            "types": extension_value_types(elements, prefix),
        }
    if parts:
        record["extensions"] = parts
    return record


def build_extensions(source: Path) -> Json:
    """The core extensions of ``extension-definitions.json`` by canonical URL."""
    return {
        definition["url"]: extension_record(definition)
        for definition in read_bundle(source / "extension-definitions.json")
        if definition["resourceType"] == "StructureDefinition"
        and definition.get("type") == "Extension"
        and "snapshot" in definition
    }


def generate(source: Path, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    types = build_types(source)
    terminology = read_terminology(source)
    files = {
        "types.json.gz": types,
        "value_sets.json.gz": build_value_sets(terminology, required_value_sets(types["types"])),
        "terminology_urls.json.gz": build_terminology_urls(terminology),
        "code_systems.json.gz": build_code_systems(terminology),
        "search_parameters.json.gz": build_search_parameters(source),
        "compartment_patient.json.gz": build_patient_compartment(source),
        "extensions.json.gz": build_extensions(source),
    }
    written = []
    for name, data in files.items():
        write_gzip_json(out / name, data)
        written.append(out / name)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    for path in generate(args.source, args.out):
        print(f"{path}: {path.stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
