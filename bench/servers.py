"""Daphne, Uvicorn and Granian serving Atrium, one worker process each, side by side.

Run from the project root::

    .venv/bin/python -m bench.servers                       # a short run (a few minutes)
    .venv/bin/python -m bench.servers --servers daphne,uvicorn --upload-mib 32

Daphne and Uvicorn run as production runs them (``config.serve``); Granian with its ASGI
interface without lifespan, WebSockets on, one worker, the asyncio loop. Each server is pinned
to core 0 and this process (the load) to core 1, as in ``bench.ws_load``. The same work goes to
each server in turn, one server at a time, scenario by scenario, so that the figures compared
are measured minutes apart at most:

- **idle sockets** (``bench.ws_load`` scenario c): the server's RSS before and after opening
  ``--sockets`` authenticated sockets; KiB per socket.
- **steady load** (scenario a): sockets in threads of 10, a steady ``--rate`` messages/s for
  ``--seconds``: deliveries per second, send-to-receive p50/p95/p99, the server's CPU.
- **vault upload and download** (``bench.vault_http``'s browser way: an upload session, the
  file in parts on one kept-alive connection, completed; then the download read to the end
  and hashed): MB/s and the server's peak RSS growth for each.

Every figure is printed beside its ratio to Daphne's in the same run. A server that cannot run
the application (not installed, or it fails to serve) is skipped with the reason. The WebSocket
part uses the production settings profile, SQLite (``--postgres`` for a fresh PostgreSQL
database) and the Redis layer at ``--redis-url``; the vault part the development profile with
file storage in a temporary directory. The machine's load average is printed with the figures:
on a shared machine they are only comparable within one run.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import vault_http, ws_load
from config import serve

ROOT = ws_load.ROOT
HOST = ws_load.HOST
SERVERS = ("daphne", "uvicorn", "granian")
BASELINE = "daphne"
APPLICATION = serve.APPLICATION
MIB = 1024 * 1024


def server_argv(kind: str, port: int) -> list[str]:
    """The command line of ``kind`` serving Atrium on ``port`` (loopback, no proxy)."""
    if kind in serve.SERVERS:
        return [
            ws_load.PYTHON,
            *serve.command(kind, host=HOST, port=port, proxy_headers=False, trusted_proxies=[]),
        ]
    if kind == "granian":
        return [
            ws_load.PYTHON,
            "-m",
            "granian",
            "--interface",
            "asginl",
            "--host",
            HOST,
            "--port",
            str(port),
            "--workers",
            "1",
            "--ws",
            "--loop",
            "asyncio",
            APPLICATION,
        ]
    raise ValueError(f"unknown server {kind!r}")


class BenchServer(ws_load.Server):
    """``bench.ws_load``'s server process (pinning, RSS, CPU, log) running ``kind``."""

    def __init__(self, kind: str, env: dict[str, str], log_path: Path, pin: bool):
        super().__init__(kind, APPLICATION, env, log_path, pin)
        self.kind = kind

    def argv(self) -> list[str]:
        return server_argv(self.kind, self.port)

    def pids(self) -> list[int]:
        """The server's process and its descendants: Granian serves from a child process
        of its own, so its figures are of the whole tree."""
        found = [self.process.pid]
        index = 0
        while index < len(found):
            pid = found[index]
            index += 1
            with contextlib.suppress(OSError):
                children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
                found.extend(int(child) for child in children)
        return found

    def rss_kib(self) -> int:
        return sum(vault_http._rss_kib(pid) for pid in self.pids())

    def cpu_seconds(self) -> float:
        total = 0
        for pid in self.pids():
            with contextlib.suppress(OSError):
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                total += int(fields[11]) + int(fields[12])
        return total / os.sysconf("SC_CLK_TCK")


class TreeSampler(vault_http.PeakSampler):
    """``vault_http.PeakSampler`` over a server's whole process tree."""

    def __init__(self, server: BenchServer, interval: float = 0.02):
        super().__init__(server.process.pid, interval)
        self.server = server

    def _run(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(OSError):
                self.peak = max(self.peak, self.server.rss_kib())
            time.sleep(self.interval)

    def __enter__(self):
        self.peak = self.server.rss_kib()
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.server.rss_kib())


def installed(kind: str) -> str | None:
    """Why ``kind`` cannot run here, or None."""
    module = {"daphne": "daphne", "uvicorn": "uvicorn", "granian": "granian"}[kind]
    found = subprocess.run(  # noqa: S603 - our own interpreter
        [ws_load.PYTHON, "-c", f"import {module}"], capture_output=True, check=False
    )
    return None if found.returncode == 0 else f"{module} is not installed"


SIZES = ws_load.Sizes(
    small_threads=30,
    small_members=10,
    big_members=10,
    huge_members=10,
    a_rate=50.0,
    a_seconds=10.0,
    b_repeats=1,
    c_sockets=300,
    d_rates=(10,),
    d_step_seconds=1.0,
    e_messages=1,
    open_budget=90.0,
    settle_limit=20.0,
    a_drain=30.0,
)

# (label, where in the results, higher is better)
FIGURES = [
    ("idle socket, KiB each", ("c", "kib_per_socket"), False),
    ("steady load, deliveries/s", ("a", "deliveries_per_s"), True),
    ("steady load, latency p50 ms", ("a", "latency_p50_ms"), False),
    ("steady load, latency p95 ms", ("a", "latency_p95_ms"), False),
    ("steady load, latency p99 ms", ("a", "latency_p99_ms"), False),
    ("steady load, server CPU (cores)", ("a", "server_cpu"), False),
    ("vault upload, MB/s", ("vault", "upload_mb_s"), True),
    ("vault upload, peak RSS growth MiB", ("vault", "upload_peak_growth_mib"), False),
    ("vault download, MB/s", ("vault", "download_mb_s"), True),
    ("vault download, peak RSS growth MiB", ("vault", "download_peak_growth_mib"), False),
]


def websocket_part(args, servers: list[str], cleanup: ws_load.Cleanup, pinned: bool) -> dict:
    """Scenarios c and a of ``bench.ws_load`` on each server in turn."""
    workdir = Path(tempfile.mkdtemp(prefix="atrium-servers-ws-"))
    cleanup.workdir = workdir
    db_args = argparse.Namespace(
        sqlite=not args.postgres,
        keep_db=False,
        db_name=args.db_name,
        pg_admin=args.pg_admin,
    )
    db = ws_load.Database(db_args, workdir)
    cleanup.database = db
    db.create()
    settings_env = ws_load.django_environment(db, workdir, secrets.token_urlsafe(64))
    sizes = SIZES
    sizes = ws_load.Sizes(
        **{
            **sizes.__dict__,
            "a_rate": args.rate,
            "a_seconds": args.seconds,
            "c_sockets": min(args.sockets, sizes.small_threads * sizes.small_members),
        }
    )
    plan = ws_load.prepare(db, settings_env, sizes, "ca")
    env = {
        **ws_load.clean_environ(),
        "PYTHONUNBUFFERED": "1",
        **settings_env,
        "REDIS_URL": args.redis_url,
        "ATRIUM_MESSAGE_RATE_COUNT": ws_load.ATRIUM_RATE_COUNT,
    }
    results: dict[str, dict] = {kind: {} for kind in servers}
    for scenario in "ca":
        for kind in servers:
            server = BenchServer(kind, env, workdir / f"{kind}.log", pinned)
            cleanup.servers.append(server)
            try:
                server.start()
                ws_load.say(f"{kind}: scenario {scenario}")
                client = ws_load.LoadClient("atrium", server.port, ws_load.OPEN_CONCURRENCY)
                result = asyncio.run(ws_load.SCENARIOS[scenario](client, server, plan, sizes))
                result["closed_by_server"] = client.closed_by_server
            except Exception as problem:
                ws_load.say(f"{kind}: scenario {scenario} failed: {problem!r}")
                result = {"failed": repr(problem)[:500]}
            finally:
                result["errors_logged"] = server.problems()["error_lines"]
                server.stop()
                ws_load.clean_redis(args.redis_url)
            result["machine"] = ws_load.machine_state()
            results[kind][scenario] = result
    return results


def vault_part(args, servers: list[str], pinned: bool) -> dict:
    """The vault's upload in parts and download, on each server in turn."""
    size = args.upload_mib * MIB
    (ROOT / "var").mkdir(exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="atrium-servers-vault-", dir=ROOT / "var"))
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE"}
        and not key.startswith("ATRIUM_")
    }
    env.update(
        {
            "ATRIUM_VAR_DIR": str(work / "var"),
            "ATRIUM_VAULT_MAX_BYTES": str(size + MIB),
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "LOG_LEVEL": "WARNING",
            "TMPDIR": str(work),
            "PYTHONUNBUFFERED": "1",
        }
    )
    results: dict[str, dict] = {}
    try:
        plain = work / "plain.bin"
        expected = vault_http._write_plaintext(plain, size)
        small = work / "small.bin"
        vault_http._write_plaintext(small, MIB)
        account, cookie_name, session_key = vault_http._setup(env)
        cookie = f"{cookie_name}={session_key}"
        for kind in servers:
            server = BenchServer(kind, env, work / f"{kind}.log", pinned)
            try:
                server.start()
                # Warm up: imports and first queries.
                vault_http._upload_parts(server.port, cookie, account, small, MIB)
                os.sync()
                before = server.rss_kib()
                with TreeSampler(server) as up:
                    started = time.perf_counter()
                    created = vault_http._upload_parts(server.port, cookie, account, plain, size)
                    upload_s = time.perf_counter() - started
                if created["version"]["sha256"] != expected:
                    raise RuntimeError("the stored SHA-256 differs from the file's")
                middle = server.rss_kib()
                with TreeSampler(server) as down:
                    started = time.perf_counter()
                    total, digest = vault_http._download(
                        server.port, cookie, created["version"]["id"]
                    )
                    download_s = time.perf_counter() - started
                if (total, digest) != (size, expected):
                    raise RuntimeError("the downloaded bytes differ from the uploaded ones")
                results[kind] = {
                    "upload_mb_s": round(size / upload_s / 1e6, 1),
                    "download_mb_s": round(size / download_s / 1e6, 1),
                    "upload_peak_growth_mib": round((up.peak - before) / 1024, 1),
                    "download_peak_growth_mib": round((down.peak - middle) / 1024, 1),
                    "machine": ws_load.machine_state(),
                }
            except (Exception, SystemExit) as problem:
                ws_load.say(f"{kind}: vault transfer failed: {problem!r}")
                results[kind] = {"failed": repr(problem)[:500]}
            finally:
                server.stop()
            ws_load.say(f"{kind}: vault {json.dumps(results[kind])}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return results


def figure(results: dict, kind: str, where: tuple[str, str]):
    part, name = where
    found = results.get(kind, {}).get(part, {})
    return None if "failed" in found else found.get(name)


def report(results: dict, servers: list[str], skipped: dict[str, str]) -> str:
    width = max(len(label) for label, _, _ in FIGURES)
    head = f"{'':{width}}  " + "".join(f"{kind:>22}" for kind in servers)
    lines = [head]
    for label, where, _ in FIGURES:
        base = figure(results, BASELINE, where)
        cells = []
        for kind in servers:
            value = figure(results, kind, where)
            if value is None:
                cells.append(f"{'-':>22}")
                continue
            ratio = ws_load.ratio(value, base)
            cells.append(f"{ws_load.fmt(value):>12} ({ws_load.fmt(ratio)}x)".rjust(22))
        lines.append(f"{label:{width}}  " + "".join(cells))
    lines.append("(ratio: the figure over Daphne's in this run)")
    for kind in servers:
        for part, found in results.get(kind, {}).items():
            if "failed" in found:
                lines.append(f"{kind}, {part}: failed: {found['failed']}")
    for kind, reason in skipped.items():
        lines.append(f"{kind}: skipped: {reason}")
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.servers", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--servers", default=",".join(SERVERS))
    parser.add_argument("--sockets", type=int, default=300, help="idle sockets (at most 300)")
    parser.add_argument("--rate", type=float, default=50.0, help="messages/s of the steady load")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of the steady load")
    parser.add_argument("--upload-mib", type=int, default=64, help="size of the vault file")
    parser.add_argument("--postgres", action="store_true", help="a fresh PostgreSQL database")
    parser.add_argument("--db-name", default="atrium_bench_servers")
    parser.add_argument(
        "--pg-admin", default=f"host={HOST} port=5432 user=postgres dbname=postgres"
    )
    parser.add_argument("--redis-url", default=f"redis://{HOST}:6379/13")
    parser.add_argument("--skip-websockets", action="store_true")
    parser.add_argument("--skip-vault", action="store_true")
    parser.add_argument("--json", type=Path, help="also write every figure to this JSON file")
    args = parser.parse_args(argv)
    args.servers = [kind for kind in SERVERS if kind in args.servers.split(",")]
    if BASELINE not in args.servers:
        parser.error("the figures are ratios to Daphne: keep daphne in --servers")
    if "127.0.0.1" not in args.redis_url and "localhost" not in args.redis_url:
        parser.error("only loopback addresses")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    cleanup = ws_load.Cleanup()
    atexit.register(cleanup.run)
    signal.signal(signal.SIGTERM, ws_load.on_sigterm)
    ws_load.raise_nofile()
    pinned = ws_load.pin_client()
    skipped = {kind: why for kind in args.servers if (why := installed(kind))}
    servers = [kind for kind in args.servers if kind not in skipped]
    started = time.monotonic()
    load_before = Path("/proc/loadavg").read_text().split()[:3]
    results: dict[str, dict] = {kind: {} for kind in servers}
    try:
        if not args.skip_vault:
            for kind, found in vault_part(args, servers, pinned).items():
                results[kind]["vault"] = found
        if not args.skip_websockets:
            ws_load.redis_ready(args.redis_url)
            cleanup.redis_url = args.redis_url
            for kind, found in websocket_part(args, servers, cleanup, pinned).items():
                results[kind].update(found)
    except KeyboardInterrupt:
        ws_load.say("interrupted; cleaning up")
        return 130
    finally:
        with contextlib.suppress(Exception):
            cleanup.run()
    load_after = Path("/proc/loadavg").read_text().split()[:3]
    code = ws_load.code_state()
    print(
        f"\nbench.servers: {args.sockets} idle sockets, {args.rate:g} msg/s for "
        f"{args.seconds:g} s, a {args.upload_mib} MiB vault file; took "
        f"{time.monotonic() - started:.0f} s; load average {' '.join(load_before)} before, "
        f"{' '.join(load_after)} after; code at {code.get('commit')}\n"
    )
    print(report(results, servers, skipped))
    if args.json:
        args.json.write_text(json.dumps({"results": results, "skipped": skipped}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
