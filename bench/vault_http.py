"""Vault uploads and downloads through HTTP, against the crypto-only pipeline.

Starts one Daphne process (the project's ASGI application, development profile, SQLite and
file-system storage in a temporary directory), signs a client user in, then for a file of
``--size-mib`` MiB (1,024 by default):

- **crypto-only pipeline**, in this process: the file read in 1 MiB pieces, sealed by
  ``vault.crypto.Sealer`` and hashed with SHA-256, output discarded (what an upload costs
  before HTTP, parsing and storage);
- **upload**: the browser's way, an upload session (``POST /api/v1/vault/uploads``), the file
  in parts (``PUT …?offset=N``, each read from disk while the one before is sent, one
  kept-alive connection) and ``…/complete``, timed from opening the session to the
  completed document. (A single multipart request of
  that size is not measured: Daphne queues a whole request body in memory, which is why the
  browser sends parts; ``--single`` adds it anyway, to show that cost.)
- **download**: ``GET /api/v1/vault/versions/ID/download`` read to the end and hashed.

It prints MB/s for each, the upload as a ratio to the crypto-only pipeline, and the server's
resident memory: its RSS before, and the peak during the upload and during the download
(sampled every 20 ms from ``/proc/PID/status``), as growth over the RSS before.

    .venv/bin/python -m bench.vault_http                 # 1 GiB
    .venv/bin/python -m bench.vault_http --size-mib 256 --repeat 3
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MIB = 1024 * 1024
PIECE = MIB


def _rss_kib(pid: int, field: str = "VmRSS") -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


class PeakSampler:
    """Samples a process's RSS every ``interval`` seconds in a thread; ``peak`` in KiB."""

    def __init__(self, pid: int, interval: float = 0.02):
        self.pid = pid
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, _rss_kib(self.pid))
            time.sleep(self.interval)

    def __enter__(self):
        self.peak = _rss_kib(self.pid)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _rss_kib(self.pid))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _write_plaintext(path: Path, size: int) -> str:
    digest = hashlib.sha256()
    block = os.urandom(PIECE)
    with open(path, "wb") as out:
        written = 0
        counter = 0
        while written < size:
            # Vary every piece (cheaply) so no layer can profit from repetition.
            piece = counter.to_bytes(8, "big") + block[8:]
            piece = piece[: size - written]
            out.write(piece)
            digest.update(piece)
            written += len(piece)
            counter += 1
    return digest.hexdigest()


def crypto_pipeline(path: Path) -> float:
    from vault import crypto

    sealer = crypto.Sealer(crypto.new_key(), "ver_" + "a" * 24)
    digest = hashlib.sha256()
    start = time.perf_counter()
    with open(path, "rb") as source:
        while piece := source.read(PIECE):
            digest.update(piece)
            sealer.feed(piece)
    sealer.finish()
    return time.perf_counter() - start


def _setup(env: dict) -> tuple[str, str, str]:
    """Migrate, create an account and a client user with a session; returns
    (account id, session cookie name, session key)."""
    script = """
import django, json
django.setup()
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from accounts.services.client_accounts import client_account_create, membership_add
from accounts.services.users import user_create
account = client_account_create(actor=None, name="Bench")
user = user_create(email="bench@example.test", name="Bench User", password="bench-password-1")
membership_add(actor=None, account=account, user=user)
session = SessionStore()
session[SESSION_KEY] = str(user.pk)
session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
session[HASH_SESSION_KEY] = user.get_session_auth_hash()
session.create()
print(json.dumps([account.public_id, settings.SESSION_COOKIE_NAME, session.session_key]))
"""
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=env,
        check=True,
    )
    out = (
        subprocess.run(  # noqa: S603 - our own interpreter and script
            [sys.executable, "-c", script],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    return tuple(json.loads(out))


def _upload_single(port: int, cookie: str, account: str, path: Path, size: int) -> dict:
    boundary = "bench" + secrets.token_hex(8)
    csrf = secrets.token_hex(16)
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="account"\r\n\r\n{account}\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
        f'filename="bench.bin"\r\nContent-Type: application/octet-stream\r\n\r\n'
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    connection.putrequest("POST", "/api/v1/vault/documents")
    connection.putheader("Content-Type", f"multipart/form-data; boundary={boundary}")
    connection.putheader("Content-Length", str(len(head) + size + len(tail)))
    connection.putheader("Cookie", f"{cookie}; csrftoken={csrf}")
    connection.putheader("X-CSRFToken", csrf)
    connection.putheader("Origin", f"http://127.0.0.1:{port}")
    connection.putheader("Referer", f"http://127.0.0.1:{port}/")
    connection.endheaders()
    connection.send(head)
    with open(path, "rb") as source:
        while piece := source.read(PIECE):
            connection.send(piece)
    connection.send(tail)
    response = connection.getresponse()
    body = response.read()
    connection.close()
    if response.status != 201:
        raise SystemExit(f"upload failed: {response.status} {body[:300]!r}")
    return json.loads(body)


def _upload_parts(port: int, cookie: str, account: str, path: Path, size: int) -> dict:
    """The browser's way: open an upload session, PUT the parts in order on one kept-alive
    connection, complete."""
    csrf = secrets.token_hex(16)
    headers = {
        "Cookie": f"{cookie}; csrftoken={csrf}",
        "X-CSRFToken": csrf,
        "Origin": f"http://127.0.0.1:{port}",
        "Referer": f"http://127.0.0.1:{port}/",
    }
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)

    def call(method: str, url: str, body: bytes = b"", content_type: str = "application/json"):
        connection.request(
            method, url, body=body, headers={**headers, "Content-Type": content_type}
        )
        response = connection.getresponse()
        data = response.read()
        if response.status not in (200, 201):
            raise SystemExit(f"{method} {url} failed: {response.status} {data[:300]!r}")
        return json.loads(data)

    opened = call(
        "POST",
        "/api/v1/vault/uploads",
        json.dumps({"account": account, "filename": "bench.bin", "size": size}).encode(),
    )
    part_size = opened["part_size"]
    offset = 0
    # The next part is read from disk while the server takes the current one, as a browser
    # reads a file's next slice while it sends.
    with open(path, "rb") as source, ThreadPoolExecutor(max_workers=1) as reader:
        following = reader.submit(source.read, part_size)
        while True:
            part = following.result()
            following = reader.submit(source.read, part_size)
            call(
                "PUT",
                f"/api/v1/vault/uploads/{opened['id']}?offset={offset}",
                part,
                "application/octet-stream",
            )
            offset += len(part)
            if offset >= size:
                break
    created = call("POST", f"/api/v1/vault/uploads/{opened['id']}/complete")
    connection.close()
    return created


def _upload_bare(port: int, path: Path, size: int, part_size: int) -> str:
    """The same parts, the same way, to the bare server (``bench/bare_upload.py``); returns
    the SHA-256 it computed."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    name = secrets.token_hex(8)
    offset = 0
    answer: dict = {}
    with open(path, "rb") as source, ThreadPoolExecutor(max_workers=1) as reader:
        following = reader.submit(source.read, part_size)
        while True:
            part = following.result()
            following = reader.submit(source.read, part_size)
            final = int(offset + len(part) >= size)
            connection.request(
                "PUT",
                f"/upload/{name}?offset={offset}&final={final}",
                body=part,
                headers={"Content-Type": "application/octet-stream"},
            )
            response = connection.getresponse()
            answer = json.loads(response.read())
            offset += len(part)
            if final:
                break
    connection.close()
    return answer["sha256"]


def _start_daphne(app: str, env: dict, pin: list, log: Path) -> tuple[int, subprocess.Popen]:
    port = _free_port()
    server = subprocess.Popen(  # noqa: S603 - our own interpreter
        [*pin, sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), app],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(log, "wb"),  # noqa: SIM115 - lives as long as the server
    )
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return port, server
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"the server for {app} did not start")


def _download(port: int, cookie: str, version: str) -> tuple[int, str]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    connection.request(
        "GET", f"/api/v1/vault/versions/{version}/download", headers={"Cookie": cookie}
    )
    response = connection.getresponse()
    if response.status != 200:
        raise SystemExit(f"download failed: {response.status} {response.read()[:300]!r}")
    digest = hashlib.sha256()
    total = 0
    while piece := response.read(PIECE):
        digest.update(piece)
        total += len(piece)
    connection.close()
    return total, digest.hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--repeat", type=int, default=1, help="uploads and downloads per run")
    parser.add_argument("--json", help="write every figure to this file")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument(
        "--single", action="store_true", help="also upload the file in one multipart request"
    )
    args = parser.parse_args()
    size = args.size_mib * MIB

    (ROOT / "var").mkdir(exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="atrium-vault-bench-", dir=ROOT / "var"))
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL"} and not key.startswith("ATRIUM_")
    }
    env.update(
        {
            "ATRIUM_VAR_DIR": str(work / "var"),
            "ATRIUM_VAULT_MAX_BYTES": str(size + MIB),
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "LOG_LEVEL": "WARNING",
            "TMPDIR": str(work),
        }
    )
    os.environ.update({k: env[k] for k in ("ATRIUM_VAR_DIR", "DJANGO_SETTINGS_MODULE")})
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from vault.sessions import PART_BYTES

    server = bare = None
    try:
        plain = work / "plain.bin"
        print(f"writing {args.size_mib} MiB of plaintext …", flush=True)
        expected = _write_plaintext(plain, size)
        account, cookie_name, session_key = _setup(env)
        cookie = f"{cookie_name}={session_key}"
        pin = ["taskset", "-c", "0"] if shutil.which("taskset") else []
        port, server = _start_daphne("config.asgi:application", env, pin, work / "server.log")
        (work / "bare").mkdir()
        bare_env = {**env, "BARE_SPOOL_DIR": str(work / "bare")}
        bare_port, bare = _start_daphne(
            "bench.bare_upload:application", bare_env, pin, work / "bare.log"
        )
        if pin:
            os.sched_setaffinity(0, {1})

        # Warm the server up (imports, first queries) with a small upload.
        small = work / "small.bin"
        _write_plaintext(small, MIB)
        _upload_parts(port, cookie, account, small, MIB)
        _upload_single(port, cookie, account, small, MIB)
        _upload_bare(bare_port, small, MIB, PART_BYTES)

        figures: dict = {"size_mib": args.size_mib, "runs": []}
        # Every measurement starts with nothing waiting to be written back: otherwise the
        # gigabytes the runs before it wrote reach the disk during it, and it is throttled
        # (the same code loses a fifth from one run to the next on this machine).
        os.sync()
        crypto_times = [crypto_pipeline(plain) for _ in range(max(2, args.repeat))]
        figures["crypto_pipeline_mb_s"] = size / min(crypto_times) / 1e6
        for _ in range(args.repeat):
            os.sync()
            rss_before = _rss_kib(server.pid)
            with PeakSampler(server.pid) as up:
                start = time.perf_counter()
                created = _upload_parts(port, cookie, account, plain, size)
                upload_s = time.perf_counter() - start
            if created["version"]["sha256"] != expected:
                raise SystemExit("the stored SHA-256 differs from the file's")
            os.sync()
            start = time.perf_counter()
            if _upload_bare(bare_port, plain, size, PART_BYTES) != expected:
                raise SystemExit("the bare server's SHA-256 differs from the file's")
            bare_s = time.perf_counter() - start
            for stale in (work / "bare").iterdir():
                stale.unlink()
            rss_mid = _rss_kib(server.pid)
            with PeakSampler(server.pid) as down:
                start = time.perf_counter()
                total, digest = _download(port, cookie, created["version"]["id"])
                download_s = time.perf_counter() - start
            if total != size or digest != expected:
                raise SystemExit("the downloaded bytes differ from the uploaded ones")
            figures["runs"].append(
                {
                    "upload_mb_s": size / upload_s / 1e6,
                    "bare_upload_mb_s": size / bare_s / 1e6,
                    "download_mb_s": size / download_s / 1e6,
                    "rss_before_mib": rss_before / 1024,
                    "upload_peak_growth_mib": (up.peak - rss_before) / 1024,
                    "download_peak_growth_mib": (down.peak - rss_mid) / 1024,
                }
            )
        if args.single:
            rss_before = _rss_kib(server.pid)
            with PeakSampler(server.pid) as single:
                start = time.perf_counter()
                _upload_single(port, cookie, account, plain, size)
                figures["single_request_mb_s"] = size / (time.perf_counter() - start) / 1e6
            figures["single_request_peak_growth_mib"] = (single.peak - rss_before) / 1024
        best_up = max(r["upload_mb_s"] for r in figures["runs"])
        best_down = max(r["download_mb_s"] for r in figures["runs"])
        figures["upload_mb_s"] = best_up
        figures["download_mb_s"] = best_down
        figures["upload_to_pipeline"] = best_up / figures["crypto_pipeline_mb_s"]
        best_bare = max(r["bare_upload_mb_s"] for r in figures["runs"])
        figures["bare_upload_mb_s"] = best_bare
        figures["bare_to_pipeline"] = best_bare / figures["crypto_pipeline_mb_s"]
        figures["upload_to_bare"] = best_up / best_bare
        figures["upload_peak_growth_mib"] = max(
            r["upload_peak_growth_mib"] for r in figures["runs"]
        )
        figures["download_peak_growth_mib"] = max(
            r["download_peak_growth_mib"] for r in figures["runs"]
        )

        print(f"\nfile: {args.size_mib} MiB, {args.repeat} run(s); best of the runs")
        print(
            f"  crypto-only pipeline (seal + SHA-256) {figures['crypto_pipeline_mb_s']:8.0f} MB/s"
        )
        print(
            f"  upload through HTTP                    {best_up:8.0f} MB/s"
            f"   {figures['upload_to_pipeline']:.2f}x the pipeline"
        )
        print(
            f"  bare Daphne upload (no Django)         {best_bare:8.0f} MB/s"
            f"   {figures['bare_to_pipeline']:.2f}x the pipeline;"
            f" Atrium {figures['upload_to_bare']:.2f}x of it"
        )
        print(f"  download through HTTP                  {best_down:8.0f} MB/s")
        rss_before_mib = figures["runs"][0]["rss_before_mib"]
        print(f"  server RSS before                      {rss_before_mib:8.1f} MiB")
        print(
            f"  peak RSS growth during upload          {figures['upload_peak_growth_mib']:8.1f} MiB"
        )
        down_growth = figures["download_peak_growth_mib"]
        print(f"  peak RSS growth during download        {down_growth:8.1f} MiB")
        if args.single:
            print(
                f"  one multipart request (not the browser's way) "
                f"{figures['single_request_mb_s']:8.0f} MB/s, peak RSS growth "
                f"{figures['single_request_peak_growth_mib']:.0f} MiB"
            )
        if args.json:
            Path(args.json).write_text(json.dumps(figures, indent=2))
    finally:
        for process in (server, bare):
            if process is not None:
                process.terminate()
                try:
                    process.wait(10)
                except subprocess.TimeoutExpired:
                    process.kill()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
