"""Timing probes side by side, shared by the page benchmarks (``bench.status_pages``,
``bench.metrics``, ``bench.large_firm``): their common options and verdict, and every probe
once per round, interleaved, so that a noisy moment of the machine falls on all of them
alike; wall time and the process's own CPU time (the database's work is not in it: on a
shared machine wall time mostly measures waiting for a core); the first probe is the
baseline every figure is divided by."""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol, TypeVar

from bench.django_setup import say


class Probe(Protocol):
    name: str


P = TypeVar("P", bound=Probe)


def add_timing_options(
    parser: argparse.ArgumentParser, *, requests: int, warmup: int, target_ms: float
) -> None:
    """The options every page benchmark takes: how many timed requests, the warm-up, the
    database, the p95 target and whether to reuse a previous run's data."""
    parser.add_argument("--requests", type=int, default=requests, help="timed, per probe")
    parser.add_argument("--warmup", type=int, default=warmup)
    parser.add_argument("--db-url", default=None)
    parser.add_argument("--target-ms", type=float, default=target_ms, help="p95 server time")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="with --db-url: use the data a previous run with --reuse left (seeded if none)",
    )


def verdict(*, constant: bool, met: bool, target_ms: float, database: str) -> int:
    """Print whether the query counts held and every probe met the target, with the machine's
    load (figures from a busy machine are read as ratios); the exit status."""
    loadavg = Path("/proc/loadavg")
    load = " ".join(loadavg.read_text().split()[:3]) if loadavg.exists() else "unknown"
    say(
        f"\nqueries constant: {'yes' if constant else 'NO'}; "
        f"p95 ≤ {target_ms:g} ms on every probe: {'yes' if met else 'NO'}"
    )
    say(f"database: {database}; load average {load}")
    return 0 if constant and met else 1


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def timed_rounds(
    probes: Sequence[P],
    run: Callable[[P], object],
    *,
    warmup: int,
    requests: int,
    prepare: Callable[[P], object] | None = None,
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """``run`` each probe ``warmup + requests`` times, interleaved; the wall and CPU
    milliseconds of the timed ones, by probe name. ``prepare``, when given, runs before
    each run of a probe, untimed (what the measured request comes after)."""
    times: dict[str, list[float]] = {probe.name: [] for probe in probes}
    cpu: dict[str, list[float]] = {probe.name: [] for probe in probes}
    for round_ in range(warmup + requests):
        for probe in probes:
            if prepare is not None:
                prepare(probe)
            started, started_cpu = time.perf_counter(), time.process_time()
            run(probe)
            if round_ >= warmup:
                times[probe.name].append((time.perf_counter() - started) * 1000)
                cpu[probe.name].append((time.process_time() - started_cpu) * 1000)
    return times, cpu


def report(
    probes: Sequence[Probe],
    times: dict[str, list[float]],
    cpu: dict[str, list[float]],
    *,
    target_ms: float,
) -> bool:
    """Print each probe's p50, p95 and max, and both as ratios to the baseline (the first
    probe); whether every other probe's p95 is within ``target_ms``."""
    base = percentile(times[probes[0].name], 0.95)
    base_cpu = statistics.median(cpu[probes[0].name])
    say(
        f"  {'':<40} {'p50':>7} {'p95':>7} {'max':>7}  p95 / baseline"
        f"  {'CPU p50':>7} {'CPU p95':>7}  CPU p50 / baseline"
    )
    met = True
    for probe in probes:
        samples = times[probe.name]
        p95 = percentile(samples, 0.95)
        if probe is not probes[0]:
            met &= p95 <= target_ms
        own = cpu[probe.name]
        say(
            f"  {probe.name:<40} {statistics.median(samples):>7.1f} {p95:>7.1f} "
            f"{max(samples):>7.1f}  {p95 / base:>14.2f}"
            f"  {statistics.median(own):>7.1f} {percentile(own, 0.95):>7.1f}"
            f"  {statistics.median(own) / base_cpu:>18.2f}"
        )
    return met
