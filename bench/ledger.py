"""The evidence ledger's three costs that grow with use:

(a) **append**: a request-like transaction (update a user's row, insert a session row) with
    and without ``evidence.append`` inside it, from ``--writers`` threads (4), each with its
    own database connection, at ``--rate`` transactions per second in all (10), each
    transaction choosing at random whether it appends; p50 and p99 of each kind, the p99
    difference (the append's cost) and the ratio;
(b) **bundle export** of subjects with about ten entries each, among ``--entries`` entries;
(c) **verify_ledger** over all of them.

The big ledger is not appended entry by entry: ``build_ledger`` computes the entries, their
leaf hashes, the stored subtrees and the head in Python, exactly as appends would, and writes
them in bulk (COPY on PostgreSQL), then signs one checkpoint. Then (a) appends on top of it,
and (b) and (c) run on the result.

    .venv/bin/python -m bench.ledger --db-url postgres://postgres@127.0.0.1:5432/atrium_bench_ledger
    .venv/bin/python -m bench.ledger --entries 20000 --seconds 10        # a quicker run
    .venv/bin/python -m bench.ledger --quick                             # a smoke run

``--db-url`` names a PostgreSQL database that the benchmark drops and creates afresh (the
server's ``postgres`` database is used to do so); without it, a SQLite file in a temporary
directory. Targets (PostgreSQL): append p99 overhead <= 1 ms, export < 200 ms with
1,000,000 entries, verify_ledger < 60 s with 1,000,000 entries.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import random
import secrets
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

BATCH = 10_000
ENTRY_COLUMNS = (
    "index, at, actor_pk, kind, subject, content_sha256, leaf_hash, subject_prev, canonical"
)


def say(text: str) -> None:
    print(text, flush=True)


def _recreate_postgres_database(db_url: str) -> None:
    import psycopg

    parts = urlsplit(db_url)
    name = parts.path.lstrip("/")
    if not name.replace("_", "").isalnum():
        raise SystemExit(f"--db-url: the database name {name!r} must be letters, digits and _")
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


def setup(db_url: str | None, workdir: Path, *, reuse: bool = False) -> None:
    for key in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL", "REDIS_URL", "DEBUG", "LOG_LEVEL"):
        os.environ.pop(key, None)
    if db_url and not reuse:
        _recreate_postgres_database(db_url)
    if db_url:
        # The benchmark's own signing key, the same for every run on this database, so that a
        # run with --reuse verifies the checkpoints an earlier run signed.
        seed = hashlib.sha256(b"atrium ledger benchmark " + db_url.encode()).digest()
        os.environ["ATRIUM_EVIDENCE_KEY"] = base64.b64encode(seed).decode()
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DATABASE_URL": db_url or f"sqlite:///{workdir / 'bench.sqlite3'}",
            "ATRIUM_VAR_DIR": str(workdir / "var"),
            "DEBUG": "false",
            "LOG_LEVEL": "WARNING",
            # Pool room for the writers.
            "ATRIUM_DB_POOL_MAX": "12",
        }
    )
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)


# --- building a big ledger in bulk -------------------------------------------------------------


def subject_of(n: int, subjects: int) -> str:
    return f"apr_bench{n % subjects:015d}"


def build_ledger(
    count: int,
    *,
    subjects: int,
    seed: int = 7,
    mutate: Callable[[dict], None] | None = None,
    checkpoint: bool = True,
) -> None:
    """Write ``count`` entries about ``subjects`` subjects (in a random order) into an empty
    ledger, with their subtrees and head, as appends would have: same canonical text, same
    hashes. ``mutate`` may change each entry's body before it is hashed (to build a ledger
    that is consistent in every way but one). Signs one checkpoint at the end."""
    from django.db import connection, transaction

    from evidence import checkpoints, tree
    from evidence.ledger import format_at
    from evidence.models import ZERO_HASH, Entry, Head, Node
    from evidence.verify import canonical_json, leaf_hash

    if Head.objects.filter(size__gt=0).exists() or Entry.objects.exists():
        raise RuntimeError("build_ledger writes into an empty ledger only")
    rng = random.Random(seed)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    frontier: list[bytes] = []
    last_by_subject: dict[str, bytes] = {}
    previous = ZERO_HASH
    at = start
    from accounts.models import User

    person, _ = User.objects.get_or_create(
        email="bench@example.test", defaults={"name": "Bench Person"}
    )
    actor = {"id": person.public_id, "name": person.name, "email": person.email}
    postgres = connection.vendor == "postgresql"
    for batch_start in range(0, count, BATCH):
        entries, nodes = [], []
        for index in range(batch_start, min(batch_start + BATCH, count)):
            subject = subject_of(rng.randrange(subjects), subjects)
            at = start + timedelta(milliseconds=index * 3)
            before = last_by_subject.get(subject)
            body = {
                "v": 1,
                "index": index,
                "at": format_at(at),
                "actor": actor,
                "kind": "approval.decided",
                "subject": subject,
                "payload": {
                    "verdict": "approve",
                    "versions": [{"id": f"ver_{index:024d}", "sha256": f"{index:064x}"}],
                    "ip": "203.0.113.7",
                },
                "content_sha256": None,
                "prev": previous.hex(),
                "subject_prev": before.hex() if before is not None else None,
            }
            if mutate is not None:
                mutate(body)
            data = canonical_json(body)
            leaf = leaf_hash(data)
            named = bytes.fromhex(body["subject_prev"]) if body["subject_prev"] else None
            entries.append(
                (index, at, person.pk, body["kind"], subject, "", leaf, named, data.decode())
            )
            nodes.extend(tree.frontier_append(index, frontier, leaf))
            last_by_subject[subject] = leaf
            previous = leaf
        with transaction.atomic():
            if postgres:
                with connection.cursor() as wrapper:
                    cursor = wrapper.cursor
                    with cursor.copy(f"COPY evidence_entry ({ENTRY_COLUMNS}) FROM STDIN") as copy:
                        for row in entries:
                            copy.write_row(row)
                    with cursor.copy(
                        "COPY evidence_node (level, position, hash) FROM STDIN"
                    ) as copy:
                        for row in nodes:
                            copy.write_row(row)
            else:
                Entry.objects.bulk_create(
                    [
                        Entry(
                            index=i,
                            at=a,
                            actor_pk=p,
                            kind=k,
                            subject=s,
                            content_sha256=c,
                            leaf_hash=h,
                            subject_prev=b,
                            canonical=t,
                        )
                        for i, a, p, k, s, c, h, b, t in entries
                    ],
                    batch_size=500,
                )
                Node.objects.bulk_create(
                    [Node(level=lv, position=ps, hash=h) for lv, ps, h in nodes], batch_size=500
                )
    Head.objects.update_or_create(
        pk=Head.ONLY,
        defaults={
            "size": count,
            "frontier": b"".join(frontier),
            "last_leaf": previous,
            "last_at": at if count else None,
            "checkpoint_due_at": None,
        },
    )
    if postgres:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE evidence_entry")
            cursor.execute("ANALYZE evidence_node")
    if checkpoint and count:
        checkpoints.checkpoint_make()


# --- (a) append inside a request-like transaction ----------------------------------------------


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def measure_appends(writers: int, rate: float, seconds: float, seed: int = 11) -> dict:
    from django.contrib.sessions.models import Session
    from django.db import connection, transaction
    from django.utils import timezone

    import evidence
    from accounts.models import User

    people = [
        User.objects.get_or_create(
            email=f"writer{n}@example.test", defaults={"name": f"Writer {n}"}
        )[0]
        for n in range(writers)
    ]
    durations: dict[str, list[float]] = {"with": [], "without": []}
    failures: list[BaseException] = []
    lock = threading.Lock()
    start = threading.Barrier(writers)

    def write(number: int) -> None:
        rng = random.Random(seed + number)
        person = people[number]
        per_writer = rate / writers
        try:
            start.wait()
            ends = time.monotonic() + seconds
            next_at = time.monotonic() + rng.expovariate(per_writer)
            n = 0
            while True:
                pause = next_at - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
                if time.monotonic() >= ends:
                    break
                kind = "with" if rng.random() < 0.5 else "without"
                began = time.perf_counter()
                with transaction.atomic():
                    User.objects.filter(pk=person.pk).update(last_login=timezone.now())
                    Session.objects.create(
                        session_key=secrets.token_hex(16),
                        session_data="bench",
                        expire_date=timezone.now() + timedelta(days=1),
                    )
                    if kind == "with":
                        evidence.append(
                            actor=person,
                            kind="document.viewed",
                            subject=f"doc_bench{number:03d}{n % 50:03d}",
                            payload={
                                "version": "ver_bench",
                                "ip": "203.0.113.7",
                                "user_agent": "bench/1.0",
                            },
                            content_sha256="ab" * 32,
                        )
                elapsed = time.perf_counter() - began
                with lock:
                    durations[kind].append(elapsed * 1000)
                n += 1
                next_at += rng.expovariate(per_writer)
        except BaseException as error:  # reported below
            failures.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]
    result = {"writers": writers, "rate": rate, "seconds": seconds}
    for kind, values in durations.items():
        result[kind] = {
            "count": len(values),
            "p50_ms": statistics.median(values) if values else None,
            "p99_ms": _percentile(values, 0.99) if values else None,
        }
    if durations["with"] and durations["without"]:
        result["overhead_p50_ms"] = result["with"]["p50_ms"] - result["without"]["p50_ms"]
        result["overhead_p99_ms"] = result["with"]["p99_ms"] - result["without"]["p99_ms"]
        result["ratio_p50"] = result["with"]["p50_ms"] / result["without"]["p50_ms"]
        result["ratio_p99"] = result["with"]["p99_ms"] / result["without"]["p99_ms"]
    return result


# --- (b) bundle export, (c) verify_ledger -------------------------------------------------------


def measure_exports(subjects: int, repeat: int, seed: int = 13) -> dict:
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    from evidence.bundles import bundle_export
    from evidence.models import Checkpoint

    rng = random.Random(seed)
    checkpoints_before = Checkpoint.objects.count()
    times, sizes, queries = [], [], []
    for _ in range(repeat):
        subject = subject_of(rng.randrange(subjects), subjects)
        reset_queries()
        with CaptureQueriesContext(connection) as captured:
            began = time.perf_counter()
            bundle = bundle_export(subject=subject, title="bench", documents=[])
            times.append((time.perf_counter() - began) * 1000)
        sizes.append(len(bundle["entries"]))
        queries.append(len(captured))
    return {
        "exports": repeat,
        "entries_per_bundle_median": statistics.median(sizes),
        "p50_ms": statistics.median(times),
        "max_ms": max(times),
        "first_ms": times[0],
        "queries_max": max(queries),
        "checkpoints_signed": Checkpoint.objects.count() - checkpoints_before,
    }


def measure_verify() -> dict:
    """verify_ledger in one process, then with one process per core (what the command
    does by default), on the same ledger in the same run."""
    from evidence import audit

    workers = os.cpu_count() or 1
    timings = {}
    for count in sorted({1, workers}):
        began = time.perf_counter()
        summary = audit.verify_ledger(workers=count)
        timings[count] = time.perf_counter() - began
    return {
        "entries": summary.entries,
        "subjects": summary.subjects,
        "checkpoints": summary.checkpoints,
        "workers": workers,
        "seconds_one_process": timings[1],
        "seconds": timings[workers],
        "ratio": timings[workers] / timings[1],
    }


def report(figures: dict) -> list[str]:
    lines = [f"database: {figures['database']}, {figures['entries']} entries built in bulk"]
    if "append" in figures:
        appends = figures["append"]
        without, with_append = appends["without"], appends["with"]
        lines += [
            f"(a) {appends['writers']} writers, {appends['rate']:g} transactions/s, "
            f"{appends['seconds']:g} s:",
            f"    without append: p50 {without['p50_ms']:.2f} ms, p99 {without['p99_ms']:.2f} ms "
            f"({without['count']} transactions)",
            f"    with append:    p50 {with_append['p50_ms']:.2f} ms, "
            f"p99 {with_append['p99_ms']:.2f} ms ({with_append['count']} transactions)",
            f"    the append costs p50 {appends['overhead_p50_ms']:+.2f} ms, "
            f"p99 {appends['overhead_p99_ms']:+.2f} ms "
            f"(ratio p50 {appends['ratio_p50']:.2f}, p99 {appends['ratio_p99']:.2f})",
        ]
    if "export" in figures:
        exports = figures["export"]
        lines.append(
            f"(b) {exports['exports']} bundle exports of "
            f"~{exports['entries_per_bundle_median']:g} entries: first {exports['first_ms']:.1f} "
            f"ms ({exports['checkpoints_signed']} checkpoint signed), p50 "
            f"{exports['p50_ms']:.1f} ms, max {exports['max_ms']:.1f} ms, "
            f"{exports['queries_max']} queries at most"
        )
    if "verify" in figures:
        verified = figures["verify"]
        lines.append(
            f"(c) verify_ledger: {verified['entries']} entries, {verified['subjects']} "
            f"subjects, {verified['checkpoints']} checkpoints in {verified['seconds']:.2f} s "
            f"with {verified['workers']} processes, {verified['seconds_one_process']:.2f} s "
            f"in one (ratio {verified['ratio']:.2f})"
        )
    load = os.getloadavg()
    lines.append(f"load average at the end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db-url", help="a PostgreSQL database to drop and create afresh")
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--per-subject", type=int, default=10, help="entries per subject, about")
    parser.add_argument("--writers", type=int, default=4)
    parser.add_argument(
        "--rate", type=float, default=10.0, help="transactions per second, all writers"
    )
    parser.add_argument("--seconds", type=float, default=60.0, help="of appends, (a)")
    parser.add_argument("--exports", type=int, default=20, help="bundles exported, (b)")
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="with --db-url: keep the database and the ledger an earlier run built",
    )
    parser.add_argument("--parts", default="abc", help="which of (a), (b), (c) to run")
    parser.add_argument("--json", type=Path, help="also write every figure to this JSON file")
    args = parser.parse_args(argv)
    if args.quick:
        args.entries, args.seconds, args.exports = 3000, 3.0, 3
    subjects = max(1, args.entries // args.per_subject)
    workdir = Path(tempfile.mkdtemp(prefix="atrium-ledger-bench-"))
    try:
        setup(args.db_url, workdir, reuse=args.reuse and bool(args.db_url))
        from django.db import connection

        from evidence.models import Head

        built = Head.objects.filter(size__gt=0).values_list("size", flat=True).first()
        figures: dict = {"database": connection.vendor, "entries": built or args.entries}
        if built:
            subjects = max(1, built // args.per_subject)
            say(f"reusing the ledger of {built} entries")
        else:
            began = time.perf_counter()
            build_ledger(args.entries, subjects=subjects)
            figures["build_seconds"] = time.perf_counter() - began
            say(f"built {args.entries} entries in {figures['build_seconds']:.1f} s")
        if "a" in args.parts:
            figures["append"] = measure_appends(args.writers, args.rate, args.seconds)
        if "b" in args.parts:
            figures["export"] = measure_exports(subjects, args.exports)
        if "c" in args.parts:
            figures["verify"] = measure_verify()
        for line in report(figures):
            say(line)
        if args.json:
            args.json.write_text(json.dumps(figures, indent=2))
        return 0
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
