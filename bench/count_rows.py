"""Search index rows per resource over bench_load.py's data, with and without shared rows.

    .venv/bin/python bench/count_rows.py [--patients 1000]

Counts, not timings: ``extract_index_rows`` per resource type (1 Patient, 1 Encounter,
5 Observations, 1 Condition per patient, as bench_load generates them), once as stored now and
once with every parameter storing its own rows (``shared_rows.unshared``, as before sharing).
"""

from __future__ import annotations

import argparse
import random
from collections import Counter

from bench_load import condition, encounter, observation, patient

from yteso.fhir.types import Json
from yteso.store import extract_index_rows
from yteso.store.shared_rows import unshared


def population(patients: int) -> list[Json]:
    rng = random.Random(7)
    resources: list[Json] = []
    for n in range(patients):
        subject, enc = f"Patient/pat-{n}", f"Encounter/enc-{n}"
        resources += [patient(rng, n), encounter(rng, n, subject)]
        resources += [observation(rng, n * 5 + k, subject, enc) for k in range(5)]
        resources.append(condition(rng, n, subject, enc))
    return resources


def per_type(resources: list[Json]) -> str:
    rows: Counter[str] = Counter()
    kinds: Counter[str] = Counter()
    for resource in resources:
        rows[resource["resourceType"]] += len(extract_index_rows(resource))
        kinds[resource["resourceType"]] += 1
    parts = [f"{name} {rows[name] / kinds[name]:.2f}" for name in sorted(kinds)]
    return f"{sum(rows.values()) / len(resources):.2f} per resource ({', '.join(parts)})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=1000)
    resources = population(parser.parse_args().patients)
    with unshared():
        print(f"every parameter its own rows: {per_type(resources)}")
    print(f"shared rows:                  {per_type(resources)}")


if __name__ == "__main__":
    main()
