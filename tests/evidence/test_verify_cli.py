"""The verifier as a client's lawyer runs it: one file copied alone into an empty folder,
Python in isolated mode, the bundle, the firm's public key and the documents on the command
line; its exit codes; and its imports (the standard library and ``cryptography`` only)."""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import evidence.verify
from evidence.verify import main, sha256_of_file
from tests.evidence.bundles import COPY, DESIGN, b64, genuine

VERIFY_PY = Path(evidence.verify.__file__)
WORKTREE = VERIFY_PY.parent.parent


@pytest.fixture(scope="module")
def made():
    return genuine()


@pytest.fixture
def folder(tmp_path, made):
    """An empty folder holding only verify.py, the bundle and the two documents."""
    folder = tmp_path / "evidence-of-apr_home"
    folder.mkdir()
    shutil.copy(VERIFY_PY, folder / "verify.py")
    (folder / "bundle.json").write_text(json.dumps(made[0], indent=2, ensure_ascii=False))
    (folder / "design.pdf").write_bytes(DESIGN)
    (folder / "copy.txt").write_bytes(COPY)
    return folder


def run(folder: Path, *args: str, stdin: bytes = b"", module: bool = False):
    # Isolated mode (-I: no environment, no user site, not even the current folder on the
    # path) for the copied file; the module form runs from the project like any other.
    command = [sys.executable, *(["-m", "evidence.verify"] if module else ["-I", "verify.py"])]
    return subprocess.run(  # noqa: S603 (our own interpreter and file)
        [*command, *args],
        cwd=WORKTREE if module else folder,
        input=stdin,
        capture_output=True,
        timeout=60,
        check=False,
    )


def test_the_genuine_bundle_verifies_with_the_file_alone_in_an_empty_folder(folder, made):
    key = b64(made[1])
    done = run(
        folder,
        "bundle.json",
        "--public-key",
        key,
        "--document",
        "design.pdf",
        "--document",
        "copy.txt",
    )
    assert done.returncode == 0, done.stderr.decode()
    out = done.stdout.decode()
    assert out.startswith("VERIFIED: evidence for apr_home")
    assert "homepage-design-v2.pdf, 1950 bytes" in out and ": matches design.pdf" in out
    assert ": matches copy.txt" in out
    assert done.stderr == b""
    assert sorted(p.name for p in folder.iterdir()) == [
        "bundle.json",
        "copy.txt",
        "design.pdf",
        "verify.py",
    ]


def test_the_bundle_can_come_from_stdin(folder, made):
    done = run(
        folder, "-", "--public-key", b64(made[1]), stdin=(folder / "bundle.json").read_bytes()
    )
    assert done.returncode == 0, done.stderr.decode()
    assert b"VERIFIED" in done.stdout


def test_it_runs_as_a_module_of_the_project(folder, made):
    done = run(folder, str(folder / "bundle.json"), "--public-key", b64(made[1]), module=True)
    assert done.returncode == 0, done.stderr.decode()
    assert b"VERIFIED" in done.stdout


def test_a_document_that_does_not_match_fails_with_exit_1(folder, made):
    (folder / "design.pdf").write_bytes(DESIGN + b"\n")
    done = run(folder, "bundle.json", "--public-key", b64(made[1]), "--document", "design.pdf")
    assert done.returncode == 1
    assert done.stderr.decode() == "FAILED: design.pdf matches no document in this bundle\n"
    assert done.stdout == b""


def test_an_altered_bundle_fails_with_exit_1(folder, made):
    bundle = json.loads((folder / "bundle.json").read_text())
    bundle["title"] = "Approval of something else"
    (folder / "bundle.json").write_text(json.dumps(bundle))
    done = run(folder, "bundle.json", "--public-key", b64(made[1]))
    assert done.returncode == 1
    assert done.stderr.decode() == "FAILED: the bundle was altered after export\n"


# The remaining exit codes, in process (the file's behaviour does not depend on where it is).


def test_a_file_that_is_not_json_fails_with_exit_1(folder, made, capsys):
    (folder / "bundle.json").write_text("<html>")
    assert main([str(folder / "bundle.json"), "--public-key", b64(made[1])]) == 1
    assert capsys.readouterr().err == "FAILED: the bundle is not valid JSON\n"


def test_the_wrong_key_fails_with_exit_1_naming_both_fingerprints(folder, capsys):
    assert main([str(folder / "bundle.json"), "--public-key", b64(bytes(32))]) == 1
    err = capsys.readouterr().err
    assert err.startswith("FAILED: the bundle is signed with key ")
    assert (
        "not the given key 66687aadf862bd776c8fc18b8e9f8e20089714856ee233b3902a591d0d5f2925" in err
    )


@pytest.mark.parametrize(
    ("key", "error"),
    [
        ("not base64!", "error: the public key is not valid base64"),
        (b64(bytes(31)), "error: the public key is 31 bytes, not 32"),
        (b64(bytes(32)).rstrip("="), "error: the public key is not valid base64"),
    ],
)
def test_a_bad_key_is_a_usage_error(folder, capsys, key, error):
    assert main([str(folder / "bundle.json"), "--public-key", key]) == 2
    assert capsys.readouterr().err.startswith(error)


def test_an_unreadable_bundle_or_document_is_a_usage_error(folder, made, capsys):
    key = b64(made[1])
    assert main([str(folder / "missing.json"), "--public-key", key]) == 2
    assert "error: cannot read " in capsys.readouterr().err
    bundle = str(folder / "bundle.json")
    assert main([bundle, "--public-key", key, "--document", str(folder / "nothing.pdf")]) == 2
    assert "nothing.pdf: No such file or directory" in capsys.readouterr().err
    assert main([bundle, "--public-key", key, "--document", str(folder)]) == 2


def test_missing_arguments_are_a_usage_error(folder, capsys):
    with pytest.raises(SystemExit) as exited:
        main([str(folder / "bundle.json")])
    assert exited.value.code == 2
    assert "--public-key" in capsys.readouterr().err


def test_big_documents_are_hashed_in_pieces(tmp_path):
    import hashlib

    data = bytes(range(256)) * (10 * 4096 + 7)  # 10 MiB and a bit: several reads
    (tmp_path / "big.bin").write_bytes(data)
    assert sha256_of_file(str(tmp_path / "big.bin")) == hashlib.sha256(data).hexdigest()


def test_a_big_document_matches_through_the_command(tmp_path, capsys):
    from tests.evidence.bundles import Ledger, document, sha256_hex

    data = b"\x00\x01" * (3 << 20)
    (tmp_path / "video.mp4").write_bytes(data)
    ledger = Ledger()
    ledger.append("document.downloaded", "ver_video", {}, content_sha256=sha256_hex(data))
    bundle = ledger.bundle("ver_video", documents=[document("ver_video", "V", "v.mp4", data)])
    (tmp_path / "b.json").write_text(json.dumps(bundle))
    code = main(
        [
            str(tmp_path / "b.json"),
            "--public-key",
            b64(ledger.public_key),
            "--document",
            str(tmp_path / "video.mp4"),
        ]
    )
    assert code == 0
    assert "6291456 bytes" in capsys.readouterr().out


def test_the_file_imports_only_the_standard_library_and_cryptography():
    tree = ast.parse(VERIFY_PY.read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add((node.module or "").split(".")[0])
    assert imported - sys.stdlib_module_names == {"cryptography"}
    assert "__future__" in imported


def test_nothing_but_the_standard_library_and_cryptography_is_loaded(folder):
    probe = (
        "import sys; sys.path.insert(0, '.'); before = set(sys.modules); import verify; "
        "print(' '.join(sorted({m.split('.')[0] for m in set(sys.modules) - before})))"
    )
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-I", "-c", probe], cwd=folder, capture_output=True, check=True
    )
    loaded = set(done.stdout.decode().split()) - sys.stdlib_module_names
    # cryptography's compiled bindings load as the top-level _openssl and _cffi_backend.
    assert loaded <= {"verify", "cryptography", "_openssl", "_cffi_backend"}, loaded
    assert {"verify", "cryptography"} <= loaded


def test_a_bundle_nested_too_deeply_fails_with_exit_1(folder, made, capsys, monkeypatch):
    deep = '{"format": ' + "[" * 100_000 + "]" * 100_000 + "}"
    (folder / "bundle.json").write_text(deep)
    assert main([str(folder / "bundle.json"), "--public-key", b64(made[1])]) == 1
    assert capsys.readouterr().err == "FAILED: the bundle is not valid JSON\n"
    # Shallow enough for the JSON reader, too deep for a check that walks it.
    (folder / "bundle.json").write_text(json.dumps(made[0]))

    def too_deep(*args, **kwargs):
        raise RecursionError

    monkeypatch.setattr(evidence.verify, "verify_bundle", too_deep)
    assert main([str(folder / "bundle.json"), "--public-key", b64(made[1])]) == 1
    assert "FAILED: the bundle nests values too deeply" in capsys.readouterr().err
