"""Entry points: ``generate`` writes NDJSON files, ``iter_resources`` yields the resources."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from yteso.fhir.types import Json
from yteso.synth.duplicates import ANSWER_FILE, ANSWER_HEADER
from yteso.synth.population import DEFAULT_AS_OF, Population
from yteso.synth.writer import NdjsonWriter

#: ``progress(done, total)``: people generated so far, of ``total``.
Progress = Callable[[int, int | None], None]
PROGRESS_EVERY = 1000


@dataclass(frozen=True)
class SynthReport:
    people: int
    seed: int
    out_dir: Path
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    duplicates: int = 0

    @property
    def resources(self) -> int:
        return sum(self.counts.values())

    @property
    def resources_per_second(self) -> float:
        return self.resources / self.seconds if self.seconds else 0.0

    def __str__(self) -> str:
        kinds = ", ".join(f"{name} {count:,}" for name, count in sorted(self.counts.items()))
        twins = f" ({self.duplicates:,} duplicate registrations)" if self.duplicates else ""
        return (
            f"{self.people:,} people{twins} (seed {self.seed}) -> {self.resources:,} resources in "
            f"{self.seconds:.1f} s ({self.resources_per_second:,.0f}/s) under {self.out_dir}: "
            f"{kinds}"
        )


def build_population(
    people: int, seed: int, *, as_of: date = DEFAULT_AS_OF, duplicates: float = 0.0
) -> Population:
    if people < 0:
        raise ValueError("people must be >= 0")
    return Population(people, seed, as_of=as_of, duplicates=duplicates)


def iter_resources(
    people: int, seed: int, *, duplicates: float = 0.0, as_of: date = DEFAULT_AS_OF
) -> Iterator[Json]:
    """Facilities first, then each household's resources; same arguments, same resources."""
    population = build_population(people, seed, as_of=as_of, duplicates=duplicates)
    yield from population.facility_resources()
    for household in population.households():
        yield from household.resources


def generate(
    people: int,
    seed: int,
    out_dir: Path,
    *,
    duplicates: float = 0.0,
    progress: Progress | None = None,
    as_of: date = DEFAULT_AS_OF,
) -> SynthReport:
    """Write ``people`` synthetic people and their records as NDJSON under ``out_dir``.

    ``duplicates`` (0..1): share of people registered a second time with noise; the truth goes
    to ``duplicates-answer.csv`` (not NDJSON, so ``yteso load DIR`` leaves it alone)."""
    started = time.perf_counter()
    population = build_population(people, seed, as_of=as_of, duplicates=duplicates)
    out = Path(out_dir)
    done = twins = 0
    with NdjsonWriter(out) as writer, ExitStack() as stack:
        answers = None
        if duplicates:
            answers = stack.enter_context((out / ANSWER_FILE).open("w", encoding="utf-8"))
            answers.write(ANSWER_HEADER)
        for resource in population.facility_resources():
            writer.write(resource)
        for household in population.households():
            for resource in household.resources:
                writer.write(resource)
            if answers is not None and household.answers:
                answers.writelines(household.answers)
                twins += len(household.answers)
            before, done = done, done + len(household.members)
            if progress and done // PROGRESS_EVERY != before // PROGRESS_EVERY:
                progress(done, people)
    if progress:
        progress(done, people)
    counts = dict(sorted(writer.counts.items()))
    return SynthReport(people, seed, out, counts, time.perf_counter() - started, twins)
