"""FHIRPath evaluations per second: yteso vs fhirpathpy (and fhirpath.js when Node is there).

    .venv/bin/python bench/bench_fhirpath.py [--resources 20000] [--rounds 3] [--js DIR]

Every engine compiles each expression once, then evaluates it over the same generated
resources (Vietnamese patients, LOINC observations, 10-entry bundles) in the same run; the
best round counts, in CPU time (the machine is shared), with the rounds of the two Python
engines interleaved. ``--js DIR`` runs the HL7 JavaScript engine from ``DIR/node_modules``
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


def best_rate(run: Callable[[], Any], evaluations: int, rounds: int) -> float:
    """Evaluations per CPU-second of the best round (CPU time: the machine is shared)."""
    best = float("inf")
    for _ in range(rounds):
        start = time.process_time()
        run()
        best = min(best, time.process_time() - start)
    return evaluations / best


def _over(engine: Callable[..., Any], items: list[dict[str, Any]]) -> Callable[[], Any]:
    return lambda: [engine(r) for r in items]


def measure_python(data: dict[str, list[dict[str, Any]]], rounds: int) -> list[dict[str, Any]]:
    """Rounds alternate between the two engines so that both see the same load and caches."""
    rows = []
    for kind, expression in EXPRESSIONS:
        items = data[kind]
        ours = yteso_compile(expression)
        theirs = fhirpathpy_compile(expression, models["r4"])
        agree = sum(len(ours(r)) == len(theirs(r)) for r in items[:500])
        rates = {"yteso": 0.0, "fhirpathpy": 0.0}
        for _ in range(rounds):
            for name, engine in (("yteso", ours), ("fhirpathpy", theirs)):
                rate = best_rate(_over(engine, items), len(items), 1)
                rates[name] = max(rates[name], rate)
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
  const items = job.data[kind];
  const fn = fhirpath.compile(expression, r4);
  let best = Infinity;
  for (let round = 0; round < job.rounds; round++) {
    const start = process.cpuUsage();  // CPU time, as for the Python engines
    for (const r of items) fn(r);
    const used = process.cpuUsage(start);
    best = Math.min(best, (used.user + used.system) / 1e6);
  }
  out.push({expression, rate: items.length / best});
}
console.log(JSON.stringify(out));
"""


def measure_js(data: dict[str, list[dict[str, Any]]], rounds: int, js_dir: Path) -> list[float]:
    with tempfile.TemporaryDirectory() as tmp:
        job, runner = Path(tmp) / "job.json", Path(tmp) / "runner.js"
        job.write_text(json.dumps({"expressions": EXPRESSIONS, "data": data, "rounds": rounds}))
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
        invariants = best_rate(_over(check_invariants, items), len(items), rounds)
        structural = best_rate(_over(validate, items), len(items), rounds)
        print(f"{1e6 / invariants:14.1f} {1e6 / structural:12.1f}  {kind}")


NARRATIVE = {"status": "generated", "div": '<div xmlns="http://www.w3.org/1999/xhtml">x</div>'}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resources", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--js", type=Path, help="directory with node_modules/fhirpath")
    args = parser.parse_args()
    data = resources(args.resources)
    rows = measure_python(data, args.rounds)
    js = measure_js(data, args.rounds, args.js) if args.js else [None] * len(rows)
    print(
        f"{'evaluations/s':>14} {'fhirpathpy':>11} {'fhirpath.js':>11} {'x py':>6} {'x js':>6}"
        f" {'µs':>6}  agree  expression"
    )
    for row, js_rate in zip(rows, js, strict=True):
        ratio_js = f"{row['yteso'] / js_rate:6.2f}" if js_rate else "     -"
        js_text = f"{js_rate:11,.0f}" if js_rate else "          -"
        print(
            f"{row['yteso']:14,.0f} {row['fhirpathpy']:11,.0f} {js_text} "
            f"{row['yteso'] / row['fhirpathpy']:6.1f} {ratio_js} {1e6 / row['yteso']:6.2f}  "
            f"{row['agree']}  {row['expression']}"
        )
    measure_invariants(data, args.rounds)


if __name__ == "__main__":
    main()
