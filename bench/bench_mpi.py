"""MPI benchmark: link quality against the synthetic answer file, batch throughput, and real-time
match latency, with two baselines in the same run.

    .venv/bin/python bench/bench_mpi.py --people 100000 --people 1000000

Data: ``yteso.synth`` people with ``duplicates`` (a share registered a second time with the
issue's noise model: name typo, no diacritics, day/month swapped, no CCCD, other phone, no BHYT,
other address line); the truth is ``duplicates-answer.csv``. Only Patients are kept (cached as
NDJSON under --cache, so a second run skips generation).

Methods:
- ``yteso``: ``link_population`` (CCCD rule + Splink model trained by EM on the data).
- ``exact``: same folded name and same birth date.
- ``splink-default``: Splink's stock comparisons (NameComparison, DateOfBirthComparison,
  ExactMatch) on the same fields, trained the quickstart way, clustered at 0.95.
Latency: a ``MatchIndex`` holding every original registration, queried with each duplicate
(and, for the decision quality of the real-time path, checked against the truth).
"""

from __future__ import annotations

import argparse
import csv
import json
import resource
import sys
import tempfile
import time
import zlib
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import orjson

from yteso.fhir.types import Json
from yteso.mpi import LinkResult, LinkSettings, MatchIndex, Thresholds, link_population
from yteso.mpi.normalize import PatientFeatures, patient_features
from yteso.synth.generator import build_population

Pair = tuple[str, str]


def synthetic_patients(people: int, seed: int, rate: float, cache: Path) -> Path:
    """Folder with Patient.ndjson and answers.csv (duplicate_id,original_id,noise)."""
    folder = cache / f"people-{people}-seed-{seed}-dup-{rate}"
    if (folder / "done").exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with (
        (folder / "Patient.ndjson").open("wb") as patients,
        (folder / "answers.csv").open("w", encoding="utf-8") as answers,
    ):
        for household in build_population(people, seed, duplicates=rate).households():
            for item in household.resources:
                if item["resourceType"] == "Patient":
                    patients.write(orjson.dumps(item) + b"\n")
            answers.writelines(household.answers)
    (folder / "done").write_text(f"{time.perf_counter() - started:.1f} s\n")
    return folder


def read_patients(folder: Path) -> Iterator[Json]:
    with (folder / "Patient.ndjson").open("rb") as lines:
        for line in lines:
            yield orjson.loads(line)


def read_truth(folder: Path) -> dict[str, str]:
    with (folder / "answers.csv").open(encoding="utf-8") as rows:
        return {row[0]: row[1] for row in csv.reader(rows)}


def ordered(a: str, b: str) -> Pair:
    return (a, b) if a < b else (b, a)


def quality(predicted: set[Pair], truth: set[Pair]) -> dict[str, float]:
    hits = len(predicted & truth)
    precision = hits / len(predicted) if predicted else 1.0
    recall = hits / len(truth) if truth else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "pairs": len(predicted)}


def cluster_pairs(groups: dict[str, list[str]]) -> set[Pair]:
    pairs: set[Pair] = set()
    for ids in groups.values():
        ids.sort()
        pairs.update((a, b) for i, a in enumerate(ids) for b in ids[i + 1 :])
    return pairs


def without_cccd(features: PatientFeatures, share: float) -> PatientFeatures:
    """Hard mode: a deterministic share of all records loses its CCCD (newborns, old
    records, clinics that never ask), so more pairs rest on the probabilistic model."""
    if zlib.crc32(features.id.encode()) < share * (1 << 32):
        return replace(features, cccd=None)
    return features


def threshold_sweep(
    features: list[PatientFeatures], result: LinkResult, truth: set[Pair]
) -> dict[str, dict[str, float]]:
    """Quality at other auto-link thresholds, re-clustering the pairs this run scored (every
    model pair at or above the review threshold is in ``links`` or ``reviews``)."""
    from yteso.mpi.linking import _cluster

    scored = [pair for pair in result.links if pair.rule == "model"] + result.reviews
    sweep = {}
    for auto_link in (0.99, 0.995, 0.999, 0.9999):
        clustered = _cluster(features, scored, Thresholds(auto_link, 0.9), result.model)
        sweep[str(auto_link)] = quality(clustered.linked_pairs(), truth)
    return sweep


def exact_baseline(features: list[PatientFeatures]) -> set[Pair]:
    groups: dict[str, list[str]] = {}
    for f in features:
        if f.name and f.birth_date:
            groups.setdefault(f"{f.name}|{f.birth_date}", []).append(f.id)
    return cluster_pairs(groups)


def splink_default_baseline(features: list[PatientFeatures], memory: str) -> set[Pair]:
    import duckdb
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    from yteso.mpi.model import features_table

    # DuckDB takes 80% of RAM by default; on a shared machine it spills to disk instead.
    connection = duckdb.connect()
    connection.execute(f"SET memory_limit = '{memory}'")
    connection.execute(f"SET temp_directory = '{tempfile.mkdtemp(prefix='splink-default-')}'")
    database = DuckDBAPI(connection)
    frame = database.register(features_table(features), table_name="people")
    settings = SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="id",
        comparisons=[
            cl.NameComparison("family"),
            cl.NameComparison("given"),
            cl.DateOfBirthComparison("birth_date", input_is_string=True),
            cl.ExactMatch("sex"),
            cl.ExactMatch("ward"),
            cl.ExactMatch("phone"),
            cl.ExactMatch("cccd"),
        ],
        # family + given name alone makes blocks of millions of pairs at 1M ("nguyen ... anh"):
        # 22 GB and counting; the birth year keeps them to the size of the other rule's.
        blocking_rules_to_generate_predictions=[
            block_on("birth_date"),
            block_on("family", "given", "substr(birth_date, 1, 4)"),
        ],
    )
    linker = Linker(frame, settings, log_level=30)
    started = time.perf_counter()

    def stage(name: str) -> None:  # a long run shows where it is and where the time went
        rss_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
        print(
            f"splink default: {name} at {time.perf_counter() - started:.0f} s, "
            f"peak RSS {rss_gb:.1f} GB",
            file=sys.stderr,
            flush=True,
        )

    linker.training.estimate_probability_two_random_records_match(
        [block_on("family", "given", "birth_date")], recall=0.7
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=2e6)
    stage("prior and u")
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("family", "given"))
    stage("EM on family + given")
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("birth_date"))
    stage("EM on birth date")
    predictions = linker.inference.predict(threshold_match_probability=0.5)
    stage("predict")
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(predictions, 0.95)
    stage("cluster")
    rows = clusters.as_duckdbpyrelation().select("id, cluster_id").fetchall()
    groups: dict[str, list[str]] = {}
    for record, cluster in rows:
        groups.setdefault(str(cluster), []).append(str(record))
    return cluster_pairs(groups)


def latency(
    features: list[PatientFeatures], truth: dict[str, str], model_path: Path, queries: int
) -> dict[str, object]:
    """Index every original registration, then match one at a time: the duplicates (unseen),
    and originals with their CCCD taken away (every candidate then goes through the model;
    none of them has a true match in the index, so any auto-link is a wrong one)."""
    from yteso.mpi.model import MatchModel

    index = MatchIndex(MatchModel.load(model_path), Thresholds())
    started = time.perf_counter()
    index.add_all(f for f in features if f.id not in truth)
    build = time.perf_counter() - started
    by_id = {f.id: f for f in features}
    duplicates = [by_id[d] for d in list(truth)[:queries]]
    duplicated = set(truth.values())
    originals = [f for f in features if f.id not in truth and f.id not in duplicated]
    strangers = [replace(f, cccd=None) for f in originals[:: max(1, len(originals) // queries)]]
    report: dict[str, object] = {"indexed": len(index), "index_build_s": build}
    for name, workload in (("duplicates", duplicates), ("no_cccd_strangers", strangers)):
        timings, right, wrong, candidates_seen = [], 0, 0, 0
        for query in workload:
            started = time.perf_counter()
            candidates = index.candidates(query)
            timings.append(time.perf_counter() - started)
            best = candidates[0] if candidates else None
            candidates_seen += len(candidates)
            if best and best.grade.value in ("certain", "probable"):
                right += best.id == truth.get(query.id)
                wrong += best.id != truth.get(query.id)
        timings.sort()
        report[name] = {
            "queries": len(timings),
            "p50_ms": 1000 * timings[len(timings) // 2],
            "p95_ms": 1000 * timings[int(len(timings) * 0.95)],
            "p99_ms": 1000 * timings[int(len(timings) * 0.99)],
            "max_ms": 1000 * timings[-1],
            "auto_linked_right": right,
            "auto_linked_wrong": wrong,
            "candidates_returned": candidates_seen,
        }
    report["max_rss_gb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
    return report


def run_yteso(
    features: list[PatientFeatures],
    truth: dict[str, str],
    parse_s: float,
    report: dict[str, object],
    args: argparse.Namespace,
) -> None:
    """``link_population`` with its threshold sweep, then real-time latency, into ``report``."""
    truth_pairs = {ordered(a, b) for a, b in truth.items()}
    with tempfile.TemporaryDirectory() as temporary:
        model_path = Path(temporary) / "model.json"
        started = time.perf_counter()
        result = link_population(features, LinkSettings(model_path=model_path))
        seconds = time.perf_counter() - started + parse_s
        report["yteso"] = {
            **quality(result.linked_pairs(), truth_pairs),
            "seconds_including_parse": seconds,
            "records_per_s": len(features) / seconds,
            "stages_s": result.seconds,
            "reviews": len(result.reviews),
            "links_by_rule": {
                rule: sum(1 for link in result.links if link.rule == rule)
                for rule in ("cccd", "model")
            },
        }
        report["auto_link_sweep"] = threshold_sweep(features, result, truth_pairs)
        print(json.dumps(report["yteso"], indent=1), file=sys.stderr)
        print(json.dumps(report["auto_link_sweep"], indent=1), file=sys.stderr)
        report["latency"] = latency(features, truth, model_path, args.queries)
        print(json.dumps(report["latency"], indent=1), file=sys.stderr)
        if args.save_model:
            args.save_model.write_text(model_path.read_text())


def run(people: int, args: argparse.Namespace) -> dict[str, object]:
    folder = synthetic_patients(people, args.seed, args.duplicates, args.cache)
    truth = read_truth(folder)
    truth_pairs = {ordered(a, b) for a, b in truth.items()}
    started = time.perf_counter()
    features = [patient_features(p) for p in read_patients(folder)]
    load_s = time.perf_counter() - started
    if args.drop_cccd:
        features = [without_cccd(f, args.drop_cccd) for f in features]
    report: dict[str, object] = {
        "drop_cccd": args.drop_cccd,
        "records_with_cccd": sum(1 for f in features if f.cccd),
        "people": people,
        "records": len(features),
        "true_pairs": len(truth_pairs),
    }
    if not args.skip_yteso:
        run_yteso(features, truth, load_s, report, args)
    started = time.perf_counter()
    report["exact"] = {
        **quality(exact_baseline(features), truth_pairs),
        "seconds": time.perf_counter() - started,
    }
    if people <= args.splink_default_max:
        print(json.dumps(report["exact"], indent=1), file=sys.stderr)
        started = time.perf_counter()
        pairs = splink_default_baseline(features, args.splink_memory)
        report["splink_default"] = {
            **quality(pairs, truth_pairs),
            "seconds": time.perf_counter() - started,
            "max_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6,
        }
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, action="append")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--duplicates", type=float, default=0.1)
    parser.add_argument("--queries", type=int, default=5000)
    parser.add_argument("--splink-default-max", type=int, default=1_000_000)
    parser.add_argument(
        "--splink-memory", default="8GB", help="DuckDB memory_limit of the Splink default run"
    )
    parser.add_argument("--cache", type=Path, default=Path("bench/out/mpi"))
    parser.add_argument("--save-model", type=Path)
    parser.add_argument(
        "--skip-yteso", action="store_true", help="the baselines only (no link_population)"
    )
    parser.add_argument(
        "--drop-cccd", type=float, default=0.0, help="share of records without CCCD"
    )
    args = parser.parse_args()
    for people in args.people or [100_000]:
        print(json.dumps(run(people, args), indent=1))


if __name__ == "__main__":
    main()
