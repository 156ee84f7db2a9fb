"""Vault encryption throughput against raw AES-256-GCM, in one process.

Run from the project root::

    .venv/bin/python -m bench.vault_crypto                    # 1 GiB per measurement
    .venv/bin/python -m bench.vault_crypto --quick            # 64 MiB, a smoke run
    .venv/bin/python -m bench.vault_crypto --size-mib 256 --repeat 7 --json vault.json

What it measures, each over the same N MiB of plaintext (``--size-mib``):

- the baselines: ``cryptography``'s ``AESGCM.encrypt`` and ``AESGCM.decrypt`` in 1 MiB calls
  on bytes already in memory, and ``AESGCM.encrypt`` plus SHA-256 of the plaintext;
- the vault's encrypt path: ``Sealer.feed`` in 64 KiB pieces (Django's default upload chunk)
  and in 1 MiB pieces (what ``vault.uploads`` asks for), and ``seal_stream`` in 64 KiB pieces;
- the vault's decrypt path: ``open_stream`` reading a stored file through ``file.read`` (a
  real file in a temporary directory, ``--dir``, so read from the page cache after it was
  written) and reading from memory (``io.BytesIO``);
- the upload pipeline without I/O: SHA-256 of the plaintext and ``Sealer.feed``, piece by
  piece, as ``vault.uploads`` does.

The plaintext is a pool of random bytes (16 MiB at most) cut into pieces once and fed round
and round, so no measurement generates data and nothing ever holds N MiB in memory. The
stored file for the decrypt runs is written piece by piece before they start; the in-memory
decrypt run opens a stored file of the pool's size again and again.

Every measurement runs ``--repeat`` times, interleaved with the others, so that a noisy
neighbour slows all cases alike; the best and the median of each are printed, in MB/s
(10^6 bytes) of plaintext, with the ratio to the raw AES-256-GCM baseline of the same
direction (best to best, median to median). The target is a ratio of at least 0.80 for
every vault encrypt and decrypt case. The "cpu" figures divide by the process's CPU time
instead (best run), which other processes do not inflate as they do the wall clock: on a
busy machine they are the steadier comparison of what each path costs. ``open_stream``
reads large chunks on a helper thread, so its wall-clock figures gain from a free second
core and its CPU figures count both threads: check the load average printed first.

Peak resident memory growth comes from one more, untimed run of each case: ``VmHWM`` after
it minus ``VmRSS`` before it (``/proc/self/status``), with the high-water mark reset and the
allocator's free memory handed back to the system first, so that it shows what the case
needs. It must not depend on ``--size-mib``.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import gc
import hashlib
import io
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cryptography
from cryptography.hazmat.backends.openssl import backend
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from vault import crypto

MiB = 1024 * 1024
KiB = 1024
POOL_MIB = 16
VERSION = "ver_benchmarkbenchmarkbenchm"  # the shape of a real version id
TARGET_RATIO = 0.80


# --- memory --------------------------------------------------------------------------------


def _status_kib(field_name: str) -> int | None:
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field_name + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def _trim() -> None:
    """Hand the allocator's free memory back to the system (glibc), so that a run's peak
    shows the memory it needs rather than what earlier runs left free for it to reuse."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).malloc_trim(0)


def _reset_peak() -> bool:
    """Reset VmHWM to the current RSS (Linux 4.0 and later); False if not allowed."""
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
        return True
    except OSError:
        return False


# --- plaintext -----------------------------------------------------------------------------


class Plaintext:
    """``size`` bytes of plaintext as pieces of a given size, cut from a pool of random bytes
    once, so that feeding them costs nothing but the loop."""

    def __init__(self, size_mib: int) -> None:
        self.size = size_mib * MiB
        # The pool's size divides the plaintext's, so that whole stored pools add up to it.
        pool_mib = max(m for m in range(1, min(POOL_MIB, size_mib) + 1) if size_mib % m == 0)
        pool = os.urandom(pool_mib * MiB)
        self.cut = {
            piece: [pool[i : i + piece] for i in range(0, len(pool), piece)]
            for piece in (64 * KiB, MiB)
        }
        self.pool = pool

    def pieces(self, piece: int) -> Iterator[bytes]:
        cut = self.cut[piece]
        for i in range(self.size // piece):
            yield cut[i % len(cut)]

    def sha256(self) -> str:
        digest = hashlib.sha256()
        for piece in self.pieces(MiB):
            digest.update(piece)
        return digest.hexdigest()


def stored_size(plain_bytes: int, chunk_bytes: int = crypto.DEFAULT_CHUNK_BYTES) -> int:
    chunks = max(1, -(-plain_bytes // chunk_bytes))
    return len(crypto.header(VERSION, chunk_bytes)) + plain_bytes + chunks * crypto.TAG_BYTES


# --- the cases -----------------------------------------------------------------------------


@dataclass
class Case:
    name: str
    run: Callable[[], None]
    baseline: str | None = None  # name of the case this one is compared with
    target: bool = False  # held to TARGET_RATIO of its baseline
    also: str | None = None  # a second baseline, shown for information
    seconds: list[float] = field(default_factory=list)
    cpu_seconds: list[float] = field(default_factory=list)
    peak_growth_kib: list[int] = field(default_factory=list)


def build_cases(plain: Plaintext, key: bytes, stored_path: Path) -> list[Case]:
    aead = AESGCM(key)
    # The vault's associated data is the header and 9 bytes; the baseline gets as much.
    aad = crypto.header(VERSION) + bytes(9)
    mib_pieces = plain.cut[MiB]
    sealed_pool = [aead.encrypt(i.to_bytes(12, "big"), p, aad) for i, p in enumerate(mib_pieces)]
    stored_pool = b"".join(crypto.seal_stream([plain.pool], key, VERSION))
    expected = stored_size(plain.size)

    def raw_encrypt() -> None:
        for i, piece in enumerate(plain.pieces(MiB)):
            aead.encrypt(i.to_bytes(12, "big"), piece, aad)

    def raw_decrypt() -> None:
        count = len(sealed_pool)
        for i in range(plain.size // MiB):
            aead.decrypt((i % count).to_bytes(12, "big"), sealed_pool[i % count], aad)

    def raw_encrypt_sha256() -> None:
        digest = hashlib.sha256()
        for i, piece in enumerate(plain.pieces(MiB)):
            digest.update(piece)
            aead.encrypt(i.to_bytes(12, "big"), piece, aad)
        digest.digest()

    def sealer(piece: int) -> Callable[[], None]:
        def run() -> None:
            sealer = crypto.Sealer(key, VERSION)
            total = 0
            for data in plain.pieces(piece):
                total += len(sealer.feed(data))
            total += len(sealer.finish())
            assert total == expected, (total, expected)

        return run

    def seal_stream_64k() -> None:
        total = sum(len(part) for part in crypto.seal_stream(plain.pieces(64 * KiB), key, VERSION))
        assert total == expected, (total, expected)

    def pipeline(piece: int) -> Callable[[], None]:
        def run() -> None:
            digest = hashlib.sha256()
            sealer = crypto.Sealer(key, VERSION)
            for data in plain.pieces(piece):
                digest.update(data)
                sealer.feed(data)
            sealer.finish()
            digest.digest()

        return run

    def open_file() -> None:
        total = 0
        with open(stored_path, "rb") as stored:
            for data in crypto.open_stream(stored.read, key, VERSION):
                total += len(data)
        assert total == plain.size, (total, plain.size)

    def open_memory() -> None:
        total = 0
        for _ in range(plain.size // len(plain.pool)):
            for data in crypto.open_stream(io.BytesIO(stored_pool).read, key, VERSION):
                total += len(data)
        assert total == plain.size, (total, plain.size)

    enc, dec = "raw AES-256-GCM encrypt, 1 MiB calls", "raw AES-256-GCM decrypt, 1 MiB calls"
    enc_sha = "raw AES-256-GCM encrypt + SHA-256"
    return [
        Case(enc, raw_encrypt),
        Case(dec, raw_decrypt),
        Case(enc_sha, raw_encrypt_sha256, baseline=enc),
        Case("Sealer.feed, 64 KiB pieces", sealer(64 * KiB), baseline=enc, target=True),
        Case("Sealer.feed, 1 MiB pieces", sealer(MiB), baseline=enc, target=True),
        Case("seal_stream, 64 KiB pieces", seal_stream_64k, baseline=enc, target=True),
        Case("open_stream, file on disk", open_file, baseline=dec, target=True),
        Case("open_stream, memory (BytesIO)", open_memory, baseline=dec, target=True),
        Case("pipeline SHA-256 + Sealer, 64 KiB", pipeline(64 * KiB), baseline=enc, also=enc_sha),
        Case("pipeline SHA-256 + Sealer, 1 MiB", pipeline(MiB), baseline=enc, also=enc_sha),
    ]


def write_stored(plain: Plaintext, key: bytes, path: Path) -> None:
    """Write the stored file piece by piece and check it decrypts to the plaintext."""
    with open(path, "wb") as stored:
        for part in crypto.seal_stream(plain.pieces(MiB), key, VERSION):
            stored.write(part)
    assert path.stat().st_size == stored_size(plain.size)
    digest = hashlib.sha256()
    with open(path, "rb") as stored:
        for data in crypto.open_stream(stored.read, key, VERSION):
            digest.update(data)
    assert digest.hexdigest() == plain.sha256(), "the stored file does not decrypt to its input"


def measure(case: Case) -> None:
    gc.collect()
    start, cpu_start = time.perf_counter(), time.process_time()
    case.run()
    case.seconds.append(time.perf_counter() - start)
    case.cpu_seconds.append(time.process_time() - cpu_start)


def measure_memory(case: Case) -> None:
    """One more run, untimed: how far the resident set grows above where it started, with
    the allocator's free memory handed back first (which would slow a timed run)."""
    gc.collect()
    _trim()
    if not _reset_peak():
        return
    before = _status_kib("VmRSS")
    case.run()
    peak = _status_kib("VmHWM")
    if before is not None and peak is not None:
        case.peak_growth_kib.append(max(0, peak - before))


# --- report --------------------------------------------------------------------------------


def figures(cases: list[Case], size: int) -> list[dict]:
    by_name = {case.name: case for case in cases}

    def rate(case: Case, pick: Callable[[list[float]], float]) -> float:
        return size / pick(case.seconds) / 1e6

    def cpu_rate(case: Case) -> float:
        return size / min(case.cpu_seconds) / 1e6

    rows = []
    for case in cases:
        row: dict = {
            "case": case.name,
            "best_mb_s": round(rate(case, min), 1),
            "median_mb_s": round(rate(case, statistics.median), 1),
            "runs_mb_s": [round(size / s / 1e6, 1) for s in case.seconds],
            "best_cpu_mb_s": round(cpu_rate(case), 1),
            "peak_rss_growth_mib": (
                round(case.peak_growth_kib[0] / 1024, 1) if case.peak_growth_kib else None
            ),
        }
        for key, base_name in (("vs", case.baseline), ("also_vs", case.also)):
            if base_name is None:
                continue
            base = by_name[base_name]
            row[key] = {
                "baseline": base_name,
                "best_ratio": round(rate(case, min) / rate(base, min), 3),
                "median_ratio": round(
                    rate(case, statistics.median) / rate(base, statistics.median), 3
                ),
                "cpu_ratio": round(cpu_rate(case) / cpu_rate(base), 3),
            }
        if case.target:
            row["target_met"] = row["vs"]["best_ratio"] >= TARGET_RATIO
        rows.append(row)
    return rows


def print_report(rows: list[dict], args: argparse.Namespace, peak_resettable: bool) -> None:
    print(
        f"\n{args.size_mib} MiB per run, best and median of {args.repeat} runs; ratio = MB/s "
        "over MB/s of the raw baseline in the same direction; cpu = by process CPU time"
    )
    head = (
        f"{'case':<36} {'best MB/s':>9} {'median':>7} {'cpu':>6} {'ratio best':>10} "
        f"{'median':>6} {'cpu':>6} {'peak RSS +MiB':>13}"
    )
    print(head + "  target")
    print("-" * (len(head) + 22))
    for row in rows:
        ratio = row.get("vs")
        best = f"{ratio['best_ratio']:.3f}" if ratio else "baseline"
        median = f"{ratio['median_ratio']:.3f}" if ratio else ""
        cpu = f"{ratio['cpu_ratio']:.3f}" if ratio else ""
        growth = row["peak_rss_growth_mib"]
        target = ""
        if "target_met" in row:
            target = f"{'met' if row['target_met'] else 'NOT MET'} (>= {TARGET_RATIO:.2f})"
        print(
            f"{row['case']:<36} {row['best_mb_s']:>9.0f} {row['median_mb_s']:>7.0f} "
            f"{row['best_cpu_mb_s']:>6.0f} {best:>10} {median:>6} {cpu:>6} "
            f"{'' if growth is None else growth:>13}  {target}"
        )
        if "also_vs" in row:
            also = row["also_vs"]
            print(
                f"{'  against ' + also['baseline']:<61} {also['best_ratio']:>10.3f} "
                f"{also['median_ratio']:>6.3f} {also['cpu_ratio']:>6.3f}"
            )
    if not peak_resettable:
        print("(peak RSS growth not shown: this kernel does not let the high-water mark reset)")


def environment() -> dict:
    cpu = ""
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as info:
        cpu = next((line.split(":", 1)[1].strip() for line in info if "model name" in line), "")
    return {
        "python": sys.version.split()[0],
        "cryptography": cryptography.__version__,
        "openssl": backend.openssl_version_text(),
        "platform": platform.platform(),
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg() if hasattr(os, "getloadavg") else None,
        "vault_crypto": crypto.__file__,
    }


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.vault_crypto",
        description="Vault encryption and decryption throughput against raw AES-256-GCM.",
    )
    parser.add_argument(
        "--size-mib", type=int, default=None, help="plaintext per run in MiB (default 1024)"
    )
    parser.add_argument("--repeat", type=int, default=None, help="runs per case (default 5)")
    parser.add_argument("--quick", action="store_true", help="64 MiB and 3 runs: a smoke run")
    parser.add_argument(
        "--dir", type=Path, default=None, help="where to write the stored file (default: TMPDIR)"
    )
    parser.add_argument("--json", type=Path, help="also write every figure to this JSON file")
    args = parser.parse_args(argv)
    if args.size_mib is None:
        args.size_mib = 64 if args.quick else 1024
    if args.repeat is None:
        args.repeat = 3 if args.quick else 5
    if args.size_mib < 1 or args.repeat < 1:
        parser.error("--size-mib and --repeat must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    env = environment()
    print(
        f"Python {env['python']}, cryptography {env['cryptography']}, {env['openssl']}, "
        f"{env['cpus']} CPUs ({env['cpu']}), load average {env['load_average']}\n"
        f"measuring {env['vault_crypto']}"
    )
    plain = Plaintext(args.size_mib)
    key = crypto.new_key()
    with tempfile.TemporaryDirectory(dir=args.dir, prefix="vault-bench-") as workdir:
        stored_path = Path(workdir) / "stored.vault"
        print(f"writing and checking the stored file ({stored_size(plain.size) / MiB:.0f} MiB)")
        write_stored(plain, key, stored_path)
        cases = build_cases(plain, key, stored_path)
        peak_resettable = _reset_peak()
        for rep in range(args.repeat):
            print(f"run {rep + 1} of {args.repeat}", flush=True)
            for case in cases:
                measure(case)
        if peak_resettable:
            print("memory, one more run per case", flush=True)
            for case in cases:
                measure_memory(case)
    rows = figures(cases, plain.size)
    print_report(rows, args, peak_resettable)
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "size_mib": args.size_mib,
                    "repeat": args.repeat,
                    "target_ratio": TARGET_RATIO,
                    "environment": env,
                    "results": rows,
                },
                indent=2,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
