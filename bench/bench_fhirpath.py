"""FHIRPath evaluations per second: yteso vs fhirpathpy (and fhirpath.js when Node is there).

    .venv/bin/python bench/bench_fhirpath.py [--resources 20000] [--rounds 3] [--js DIR]
        [--mode fresh|resident] [--chunk 200]

Every engine compiles each expression once, then evaluates it over the same generated
resources (Vietnamese patients, LOINC observations, 10-entry bundles) in the same run, with
the rounds of the engines interleaved. ``fresh`` (default): each chunk of resources is parsed
from JSON just before an engine evaluates it, as every caller does (the store, the loader, the
view runner), and the best time of each chunk over the rounds counts; ``resident``: the data is
parsed once up front and each round is a pass over all of it in CPU time, which for a fast
engine measures memory latency more than code. A hand-written Python function per expression,
checked to give our results, is the practical limit of any Python engine.
``--js DIR`` runs the HL7 JavaScript engine from ``DIR/node_modules``
(``npm install fhirpath`` there; nothing is committed). Results agree across engines on counts
(checked). Targets (issue 3): >= 20x fhirpathpy, faster than fhirpath.js, and a typical
search-parameter expression under 5 microseconds.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
from fhirpathpy import compile as fhirpathpy_compile
from fhirpathpy.models import models

from yteso.fhirpath import compile as yteso_compile

CCCD = "http://fhir.hl7.org.vn/core/sid/cccd"
EXPRESSIONS: list[tuple[str, str]] = [
    ("Patient", "Patient.name.where(use='official').given.first()"),
    ("Observation", "Observation.code.coding.where(system='http://loinc.org').code"),
    ("Observation", "Observation.value.ofType(Quantity).value > 100"),
    (
        "Patient",
        f"Patient.identifier.where(system='{CCCD}').value.exists() "
        "and Patient.birthDate < @1970-01-01",
    ),
    ("Bundle", "Bundle.entry.resource.ofType(Observation).count()"),
    ("Patient", "Patient.birthDate"),  # a typical search-parameter expression
    ("Observation", "Observation.subject"),
]
FAMILIES = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng"]
GIVEN = ["An", "Bình", "Chi", "Dũng", "Giang", "Hà", "Hải", "Lan", "Minh", "Thảo", "Văn", "Thị"]
LOINC = [("8480-6", "mm[Hg]", 90, 180), ("8867-4", "/min", 50, 130), ("29463-7", "kg", 3, 95)]


def patient(rng: random.Random, index: int) -> dict[str, Any]:
    identifiers = [{"system": "http://fhir.hl7.org.vn/core/sid/bhyt", "value": f"DN{index:013d}"}]
    if rng.random() < 0.8:
        identifiers.insert(0, {"system": CCCD, "value": f"{rng.randrange(10**11, 10**12)}"})
    family = rng.choice(FAMILIES)
    names = [{"use": "official", "family": family, "given": rng.sample(GIVEN, 2)}]
    if rng.random() < 0.3:
        names.insert(0, {"use": "usual", "given": [rng.choice(GIVEN)]})
    return {
        "resourceType": "Patient",
        "id": f"p{index}",
        "identifier": identifiers,
        "active": True,
        "name": names,
        "gender": rng.choice(["male", "female"]),
        "birthDate": f"{rng.randrange(1930, 2024)}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}",  # noqa: E501
        "address": [{"city": "Hà Nội", "country": "VN"}],
    }


def observation(rng: random.Random, index: int) -> dict[str, Any]:
    code, unit, low, high = rng.choice(LOINC)
    return {
        "resourceType": "Observation",
        "id": f"o{index}",
        "status": "final",
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                        "code": "vital-signs",
                    }
                ]
            }
        ],
        "code": {
            "coding": [
                {"system": "http://loinc.org", "code": code},
                {"system": "http://snomed.info/sct", "code": "271649006"},
            ]
        },
        "subject": {"reference": f"Patient/p{rng.randrange(10**6)}"},
        "effectiveDateTime": "2024-05-01T08:30:00+07:00",
        "valueQuantity": {
            "value": round(rng.uniform(low, high), 1),
            "unit": unit,
            "system": "http://unitsofmeasure.org",
            "code": unit,
        },
    }


def bundle(rng: random.Random, index: int) -> dict[str, Any]:
    entries = [
        {"resource": observation(rng, index * 10 + i) if i % 3 else patient(rng, index * 10 + i)}
        for i in range(10)
    ]
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}


def resources(count: int, seed: int = 7) -> dict[str, list[dict[str, Any]]]:
    rng = random.Random(seed)
    return {
        "Patient": [patient(rng, i) for i in range(count)],
        "Observation": [observation(rng, i) for i in range(count)],
        "Bundle": [bundle(rng, i) for i in range(max(count // 10, 1))],
    }


def hand_written(kind_expression: str) -> Callable[[dict[str, Any]], list[Any]]:
    """Plain Python written for one expression and these data (no FHIRPath semantics: no types,
    no primitive extensions, full dates only): the practical limit of any Python engine."""

    def official_given(r: dict[str, Any]) -> list[Any]:
        for name in r.get("name", ()):
            if name.get("use") == "official":
                for given in name.get("given", ()):
                    return [given]
        return []

    def loinc_codes(r: dict[str, Any]) -> list[Any]:
        codings = r.get("code", {}).get("coding", ())
        return [c["code"] for c in codings if c.get("system") == "http://loinc.org" and "code" in c]

    def over_100(r: dict[str, Any]) -> list[Any]:
        value = r.get("valueQuantity", {}).get("value")
        return [] if value is None else [value > 100]

    def cccd_and_old(r: dict[str, Any]) -> list[Any]:
        if not any(i.get("system") == CCCD and "value" in i for i in r.get("identifier", ())):
            return [False]
        born = r.get("birthDate")
        return [] if born is None else [born < "1970-01-01"]

    def observations(r: dict[str, Any]) -> list[Any]:
        count = 0
        for entry in r.get("entry", ()):
            resource = entry.get("resource")
            if resource is not None and resource.get("resourceType") == "Observation":
                count += 1
        return [count]

    def birth_date(r: dict[str, Any]) -> list[Any]:
        return [r["birthDate"]] if "birthDate" in r else []

    def subject(r: dict[str, Any]) -> list[Any]:
        return [r["subject"]] if "subject" in r else []

    functions = [official_given, loinc_codes, over_100, cccd_and_old, observations]
    functions += [birth_date, subject]
    return dict(zip((e for _, e in EXPRESSIONS), functions, strict=True))[kind_expression]


Engine = Callable[[dict[str, Any]], Any]
ENTRIES = {"Patient": 1, "Observation": 1, "Bundle": 10}  # resources per item


def time_fresh(engine: Engine, encoded: list[bytes], chunk: int) -> list[float]:
    """CPU seconds per chunk (the thread's: the machine is shared). Each chunk is parsed just
    before the engine evaluates it, as the store, the loader and the view runner do, so the
    data is in the CPU caches as in real use."""
    times = []
    for start in range(0, len(encoded), chunk):
        items = [orjson.loads(b) for b in encoded[start : start + chunk]]
        begin = time.thread_time()
        for r in items:
            engine(r)
        times.append(time.thread_time() - begin)
    return times


def time_resident(engine: Engine, items: list[dict[str, Any]]) -> float:
    """CPU seconds of one pass over data parsed long before (cold in the caches)."""
    begin = time.process_time()
    for r in items:
        engine(r)
    return time.process_time() - begin


def measure_python(
    data: dict[str, list[dict[str, Any]]], rounds: int, mode: str, chunk: int
) -> list[dict[str, Any]]:
    """Rounds alternate between the engines so that all see the same machine load. ``fresh``:
    the best time of each chunk over the rounds, summed (a preempted chunk does not count);
    ``resident``: the best whole round."""
    rows = []
    for kind, expression in EXPRESSIONS:
        items = data[kind]
        encoded = [orjson.dumps(r) for r in items]
        engines: dict[str, Any] = {
            "yteso": yteso_compile(expression),
            "fhirpathpy": fhirpathpy_compile(expression, models["r4"]),
            "hand": hand_written(expression),
        }
        results = {name: [engine(r) for r in items[:500]] for name, engine in engines.items()}
        agree = sum(
            len(a) == len(b) == len(c)
            for a, b, c in zip(*(results[name] for name in engines), strict=True)
        )
        assert results["yteso"] == results["hand"], f"hand-written code disagrees: {expression}"
        best: dict[str, Any] = {name: None for name in engines}
        for _ in range(rounds):
            for name, engine in engines.items():
                if mode == "fresh":
                    # chunks of about ``chunk`` resources: a bundle holds ten
                    times = time_fresh(engine, encoded, max(1, chunk // ENTRIES[kind]))
                    old = best[name] or times
                    best[name] = [min(a, b) for a, b in zip(old, times, strict=True)]
                else:
                    elapsed = time_resident(engine, items)
                    best[name] = min(best[name] or elapsed, elapsed)
        rates = {
            name: len(items) / (sum(value) if mode == "fresh" else value)
            for name, value in best.items()
        }
        rows.append(
            {
                "expression": expression,
                "resources": len(items),
                **rates,
                "agree": f"{agree}/{min(len(items), 500)}",
            }
        )
    return rows


JS_RUNNER = """
const fhirpath = require(process.argv[2] + '/node_modules/fhirpath');
const r4 = require(process.argv[2] + '/node_modules/fhirpath/fhir-context/r4');
const fs = require('fs');
const job = JSON.parse(fs.readFileSync(process.argv[3]));
const out = [];
for (const [kind, expression] of job.expressions) {
  const texts = job.data[kind].map((r) => JSON.stringify(r));
  const fn = fhirpath.compile(expression, r4);
  let total;
  if (job.mode === 'fresh') {  // per chunk: parse, then time; best of each chunk over rounds
    const best = [];
    for (let round = 0; round < job.rounds; round++) {
      for (let start = 0, k = 0; start < texts.length; start += job.chunk, k++) {
        const items = texts.slice(start, start + job.chunk).map((t) => JSON.parse(t));
        const begin = process.cpuUsage();  // CPU time, as for the Python engines
        for (const r of items) fn(r);
        const used = process.cpuUsage(begin);
        const took = (used.user + used.system) / 1e6;
        best[k] = best[k] === undefined ? took : Math.min(best[k], took);
      }
    }
    total = best.reduce((a, b) => a + b, 0);
  } else {  // resident: CPU time of the best whole round
    const items = texts.map((t) => JSON.parse(t));
    total = Infinity;
    for (let round = 0; round < job.rounds; round++) {
      const start = process.cpuUsage();
      for (const r of items) fn(r);
      const used = process.cpuUsage(start);
      total = Math.min(total, (used.user + used.system) / 1e6);
    }
  }
  out.push({expression, rate: texts.length / total});
}
console.log(JSON.stringify(out));
"""


def measure_js(
    data: dict[str, list[dict[str, Any]]], rounds: int, js_dir: Path, mode: str, chunk: int
) -> list[float]:
    with tempfile.TemporaryDirectory() as tmp:
        job, runner = Path(tmp) / "job.json", Path(tmp) / "runner.js"
        job.write_text(
            json.dumps(
                {
                    "expressions": EXPRESSIONS,
                    "data": data,
                    "rounds": rounds,
                    "mode": mode,
                    "chunk": chunk,
                }
            )
        )
        runner.write_text(JS_RUNNER)
        output = subprocess.run(
            ["node", str(runner), str(js_dir.resolve()), str(job)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    return [row["rate"] for row in json.loads(output)]


def measure_invariants(data: dict[str, list[dict[str, Any]]], rounds: int) -> None:
    """µs per resource of check_invariants vs the structural validator (same run)."""
    from yteso.fhir.validation import validate
    from yteso.fhirpath.invariants import check_invariants

    print(f"\n{'invariants µs':>14} {'validate µs':>12}  resource")
    for kind in ("Patient", "Observation"):
        items = [dict(r, text=NARRATIVE) for r in data[kind][:2000]]
        invariants = min(time_resident(check_invariants, items) for _ in range(rounds))
        structural = min(time_resident(validate, items) for _ in range(rounds))
        per = 1e6 / len(items)
        print(f"{invariants * per:14.1f} {structural * per:12.1f}  {kind}")


NARRATIVE = {"status": "generated", "div": '<div xmlns="http://www.w3.org/1999/xhtml">x</div>'}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resources", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--js", type=Path, help="directory with node_modules/fhirpath")
    parser.add_argument(
        "--mode",
        choices=("fresh", "resident"),
        default="fresh",
        help="fresh: each chunk parsed just before it is evaluated (real use); resident: all "
        "data parsed first, evaluated in whole passes (memory-bound for fast engines)",
    )
    parser.add_argument("--chunk", type=int, default=200, help="resources per chunk (fresh)")
    args = parser.parse_args()
    data = resources(args.resources)
    rows = measure_python(data, args.rounds, args.mode, args.chunk)
    js = (
        measure_js(data, args.rounds, args.js, args.mode, args.chunk)
        if args.js
        else [None] * len(rows)
    )
    print(f"mode {args.mode}, {args.resources:,} resources per type, best of {args.rounds}")
    print(
        f"{'evaluations/s':>14} {'fhirpathpy':>11} {'fhirpath.js':>11} {'hand':>11} {'x py':>6}"
        f" {'x js':>6} {'/hand':>6} {'µs':>6}  agree  expression"
    )
    for row, js_rate in zip(rows, js, strict=True):
        ratio_js = f"{row['yteso'] / js_rate:6.2f}" if js_rate else "     -"
        js_text = f"{js_rate:11,.0f}" if js_rate else "          -"
        print(
            f"{row['yteso']:14,.0f} {row['fhirpathpy']:11,.0f} {js_text} {row['hand']:11,.0f} "
            f"{row['yteso'] / row['fhirpathpy']:6.1f} {ratio_js} {row['yteso'] / row['hand']:6.2f}"
            f" {1e6 / row['yteso']:6.2f}  {row['agree']}  {row['expression']}"
        )
    measure_invariants(data, args.rounds)


if __name__ == "__main__":
    main()
