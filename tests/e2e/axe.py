"""axe-core, the accessibility engine the audit runs in each page, from the npm registry.

Pinned to one version and checked against the sha512 the registry publishes for it (its
``dist.integrity``, copied here when the pin was chosen, and compared with what the registry
says now when it is asked). The tarball is kept outside the repository, in
``$ATRIUM_TEST_CACHE`` (default ``~/.cache/atrium-test``), so a run without the network
works once one run had it; checked again on every use.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import tarfile
import urllib.request
from pathlib import Path

VERSION = "4.14.1"
INTEGRITY = (
    "sha512-"
    "FHfa+lmNjQZfJz1q8wKqIDwC6DExcHt/pkjNQb09a3NPjCKg2rhu5qb2S4r76ASyFNNtuFooJpZe37OgudVGtQ=="
)
REGISTRY = os.environ.get("ATRIUM_NPM_REGISTRY", "https://registry.npmjs.org").rstrip("/")
TIMEOUT_SECONDS = 30


class Unavailable(Exception):
    """axe-core could not be fetched (no network, registry down): the audit cannot run."""


class Tampered(Exception):
    """What was fetched or cached is not the pinned, published axe-core."""


def cache_dir() -> Path:
    return Path(os.environ.get("ATRIUM_TEST_CACHE") or Path.home() / ".cache" / "atrium-test")


def integrity_of(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def _get(url: str) -> bytes:
    if not url.startswith("https://") and not url.startswith("http://127.0.0.1"):
        raise Unavailable(f"refusing a non-HTTPS registry address {url}")
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310
            return response.read()
    except OSError as error:
        raise Unavailable(f"{url}: {error}") from error


def _fetch_tarball() -> bytes:
    metadata = json.loads(_get(f"{REGISTRY}/axe-core/{VERSION}"))
    published = metadata.get("dist", {}).get("integrity")
    if published != INTEGRITY:
        raise Tampered(
            f"the registry publishes {published} for axe-core {VERSION}, pinned {INTEGRITY}"
        )
    tarball = _get(metadata["dist"]["tarball"])
    if integrity_of(tarball) != published:
        raise Tampered(f"axe-core {VERSION}'s tarball does not match its dist.integrity")
    return tarball


def source() -> str:
    """axe.min.js of the pinned version: from the cache, or fetched, checked and cached.

    Raises ``Unavailable`` when it is neither cached nor fetchable, ``Tampered`` when a
    tarball does not match the pinned integrity."""
    cached = cache_dir() / f"axe-core-{VERSION}.tgz"
    tarball = cached.read_bytes() if cached.is_file() else b""
    if integrity_of(tarball) != INTEGRITY:
        tarball = _fetch_tarball()
        cached.parent.mkdir(parents=True, exist_ok=True)
        partial = cached.with_suffix(".part")
        partial.write_bytes(tarball)
        partial.replace(cached)
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as archive:
        member = archive.extractfile("package/axe.min.js")
        if member is None:
            raise Tampered("axe-core's tarball has no package/axe.min.js")
        return member.read().decode()
