"""bundler.kit.sources and `bundler fetch-source`: table lookups, hash checks, a local server."""

from __future__ import annotations

import hashlib
import http.server
import importlib.util
import json
import threading
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from types import ModuleType

import pytest
from click.testing import CliRunner

from bundler.cli import main
from bundler.errors import BadAnswer, BadInput, HashMismatch, IndexUnavailable
from bundler.kit import sources
from bundler.policy.tables import load_json
from tests.hostileindex import HostileIndex

REPO = Path(__file__).resolve().parents[3]


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A directory served over HTTP on 127.0.0.1 (an ephemeral port): (dir, base URL)."""
    root = tmp_path / "www"
    root.mkdir()
    handler = partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield root, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _tarball(path: Path, payload: bytes) -> str:
    path.write_bytes(payload)
    return hashlib.sha256(payload).hexdigest()


# -- the table ---------------------------------------------------------------------------------


def test_resolve_known_python_prefers_tgz_and_uses_table_hash() -> None:
    chosen = sources.resolve("python", "3.6.10")
    row = load_json("sources.json")["python"]["3.6.10"]["Python-3.6.10.tgz"]
    assert chosen.filename == "Python-3.6.10.tgz"
    assert chosen.sha256 == row["sha256"]
    assert chosen.url == "https://www.python.org/ftp/python/3.6.10/Python-3.6.10.tgz"
    assert chosen.origin == "table"


def test_resolve_picks_the_archive_the_user_has() -> None:
    chosen = sources.resolve("python", "3.6.10", filename="Python-3.6.10.tar.xz")
    assert chosen.filename == "Python-3.6.10.tar.xz"
    assert chosen.sha256 != sources.resolve("python", "3.6.10").sha256


def test_supplement_rows_are_merged_into_the_generated_table() -> None:
    extra = json.loads((REPO / "bundler/data/sources_extra.json").read_text())
    table = load_json("sources.json")
    for project, versions in extra.items():
        if project.startswith("_") or project == "url_templates":
            continue
        for version, files in versions.items():
            for name, row in files.items():
                assert row["_source"], f"{name} has no _source"
                assert table[project][version][name]["sha256"] == row["sha256"]
    assert sources.resolve("openssl", "1.1.1w").filename == "openssl-1.1.1w.tar.gz"
    assert sources.resolve("zlib", "1.3.1").url == "https://zlib.net/fossils/zlib-1.3.1.tar.gz"


def test_unknown_version_without_sha256_is_refused() -> None:
    with pytest.raises(BadInput, match="--sha256"):
        sources.resolve("openssl", "1.1.1zz")


def test_user_sha256_disagreeing_with_table_is_refused() -> None:
    with pytest.raises(HashMismatch, match="disagrees"):
        sources.resolve("python", "3.6.10", sha256="0" * 64)


def test_unknown_version_with_sha256_uses_upstream_template() -> None:
    chosen = sources.resolve("zlib", "1.2.99", sha256="A" * 64)
    assert chosen.url == "https://zlib.net/fossils/zlib-1.2.99.tar.gz"
    assert chosen.sha256 == "a" * 64
    assert chosen.origin == "user-sha256"


def test_malformed_sha256_and_unknown_project_are_user_errors() -> None:
    with pytest.raises(BadInput, match="64 hex"):
        sources.resolve("zlib", "1.2.99", sha256="xyz")
    with pytest.raises(BadInput, match="unknown project"):
        sources.resolve("perl", "5.0")


# -- downloads and local files -------------------------------------------------------------------


def test_download_from_local_server_is_stored_and_indexed(
    served: tuple[Path, str], tmp_path: Path
) -> None:
    www, base = served
    sha = _tarball(www / "zlib-9.9.tar.gz", b"zlib source " * 1000)
    chosen = sources.resolve("zlib", "9.9", sha256=sha, url=f"{base}/zlib-9.9.tar.gz")
    out = sources.fetch(chosen, tmp_path / "sources")
    assert out.read_bytes() == (www / "zlib-9.9.tar.gz").read_bytes()
    [record] = sources.read_index(tmp_path / "sources")
    assert record["sha256"] == sha and record["size"] == 12000 and record["version"] == "9.9"
    assert sorted(p.name for p in (tmp_path / "sources").iterdir()) == [
        "index.json",
        "zlib-9.9.tar.gz",
    ]


def test_download_with_wrong_hash_stores_nothing(served: tuple[Path, str], tmp_path: Path) -> None:
    """The table's real Python-3.6.10.tgz hash against a tampered file on a local 'mirror'."""
    www, base = served
    _tarball(www / "Python-3.6.10.tgz", b"not the real CPython tarball")
    chosen = sources.resolve("python", "3.6.10")
    with pytest.raises(HashMismatch, match=r"Python-3\.6\.10\.tgz.*does not match"):
        sources.fetch(chosen, tmp_path / "sources", mirror=base)
    assert list((tmp_path / "sources").iterdir()) == []


def test_http_error_is_index_unavailable(served: tuple[Path, str], tmp_path: Path) -> None:
    _, base = served
    chosen = sources.resolve("zlib", "9.9", sha256="1" * 64, url=f"{base}/missing.tar.gz")
    with pytest.raises(IndexUnavailable, match="HTTP 404"):
        sources.fetch(chosen, tmp_path / "sources")
    assert list((tmp_path / "sources").iterdir()) == []


def test_from_file_checked_like_a_download(tmp_path: Path) -> None:
    have = tmp_path / "openssl-1.1.1w.tar.gz"
    _tarball(have, b"a tarball with the right name but the wrong bytes")
    chosen = sources.resolve("openssl", "1.1.1w", filename=have.name)
    with pytest.raises(HashMismatch, match=str(have)):
        sources.fetch(chosen, tmp_path / "sources", from_file=have)
    assert not (tmp_path / "sources" / have.name).exists()


# -- the command -------------------------------------------------------------------------------


def test_cli_fetch_source_from_file_and_rejects_tampered(tmp_path: Path) -> None:
    good = tmp_path / "readline-9.0.tar.gz"
    sha = _tarball(good, b"readline 9.0 source")
    runner = CliRunner()
    out = tmp_path / "sources"
    ok = runner.invoke(
        main,
        ["fetch-source", "readline", "9.0", "--from", str(good), "--sha256", sha, "-o", str(out)],
    )
    assert ok.exit_code == 0, ok.output
    assert (out / "readline-9.0.tar.gz").read_bytes() == b"readline 9.0 source"
    bad = tmp_path / "elsewhere" / "readline-9.0.tar.gz"
    bad.parent.mkdir()
    _tarball(bad, b"readline 9.0 source, tampered")
    (out / "readline-9.0.tar.gz").unlink()
    refused = runner.invoke(
        main,
        ["fetch-source", "readline", "9.0", "--from", str(bad), "--sha256", sha, "-o", str(out)],
    )
    assert refused.exit_code == 2
    assert "does not match" in refused.output
    assert not (out / "readline-9.0.tar.gz").exists()


def test_cli_unknown_version_without_sha256_exits_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["fetch-source", "python", "3.6.99", "-o", str(tmp_path)])
    assert result.exit_code == 2
    assert "not in the shipped source table" in result.output


# -- the generator -------------------------------------------------------------------------------


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen", REPO / "scripts/gen_source_table.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_generator_reads_pyenv_lines_and_refuses_conflicting_supplement(tmp_path: Path) -> None:
    gen = _generator()
    defs = tmp_path / "defs"
    defs.mkdir()
    sha = "ab" * 32
    (defs / "3.6.10").write_text(
        f'install_package "openssl-1.1.1w" "https://o.example/openssl-1.1.1w.tar.gz#{sha}"\n'
        f'install_package "Python-3.6.10" "https://p.example/Python-3.6.10.tgz#{sha}"\n'
    )
    (defs / "3.6-dev").write_text(f'install_package "Python-3.6-dev" "https://x/y.tgz#{sha}"\n')
    table = gen.collect(defs)
    assert table["python"] == {
        "3.6.10": {
            "Python-3.6.10.tgz": {"url": "https://p.example/Python-3.6.10.tgz", "sha256": sha}
        }
    }
    extra = tmp_path / "extra.json"
    row = {"url": "https://o.example/openssl-1.1.1w.tar.gz", "sha256": "cd" * 32, "_source": "x"}
    extra.write_text(json.dumps({"openssl": {"1.1.1w": {"openssl-1.1.1w.tar.gz": row}}}))
    with pytest.raises(SystemExit, match="disagrees"):
        gen.merge_extra(table, extra)


def test_mirror_with_its_own_file_name_is_checked_against_the_table(
    served: tuple[Path, str], tmp_path: Path
) -> None:
    """A Debian-style name (python3.6_3.6.10.orig.tar.gz) maps to the table's .tgz row."""
    www, base = served
    _tarball(www / "python3.6_3.6.10.orig.tar.gz", b"not CPython")
    chosen = sources.resolve("python", "3.6.10", url=f"{base}/python3.6_3.6.10.orig.tar.gz")
    assert chosen.filename == "Python-3.6.10.tgz"
    assert chosen.sha256 == sources.resolve("python", "3.6.10").sha256
    with pytest.raises(HashMismatch):
        sources.fetch(chosen, tmp_path / "sources")


@pytest.mark.network
def test_table_hash_matches_debians_copy_of_the_upstream_tarball(tmp_path: Path) -> None:
    """Real bytes: Debian ships CPython 3.11.2's upstream .tgz as its orig tarball (26 MB).

    The pyenv-derived table's sha256 for Python-3.11.2.tgz must accept it (and only it).
    """
    url = "http://deb.debian.org/debian/pool/main/p/python3.11/python3.11_3.11.2.orig.tar.gz"
    result = CliRunner().invoke(
        main, ["fetch-source", "python", "3.11.2", "--url", url, "-o", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    stored = tmp_path / "Python-3.11.2.tgz"
    table = load_json("sources.json")["python"]["3.11.2"]["Python-3.11.2.tgz"]["sha256"]
    assert hashlib.sha256(stored.read_bytes()).hexdigest() == table
    [record] = sources.read_index(tmp_path)
    assert record["url"] == url and record["origin"] == "table"


@pytest.mark.parametrize(
    ("project", "version", "name", "expected"),
    [
        ("python", "3.6.15", "fake-Python-3.6.15.tgz", "Python-3.6.15.tgz or Python-3.6.15.tar.xz"),
        ("python", "3.6.15", "Python-3.6.14.tgz", "Python-3.6.15.tgz or Python-3.6.15.tar.xz"),
        ("python", "3.6.99", "python.tgz", "Python-3.6.99.tgz or Python-3.6.99.tar.gz"),
    ],
)
def test_from_a_renamed_file_says_the_name_is_not_upstreams(
    tmp_path: Path, project: str, version: str, name: str, expected: str
) -> None:
    renamed = tmp_path / name
    sha = _tarball(renamed, b"whatever it holds")
    out = tmp_path / "sources"
    args = ["fetch-source", project, version, "--from", str(renamed), "--sha256", sha, "-o", out]
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert result.exit_code == 2
    assert result.stderr.startswith(
        f"bundler: error: --from {name}: not the upstream file name of {project} {version} "
        f"(expected {expected}"
    ), result.stderr
    assert "give its --sha256" not in result.stderr
    assert not (tmp_path / "sources").exists()


def test_download_goes_through_the_transport_redirects_to_file_are_refused(
    tmp_path: Path,
) -> None:
    """fetch-source uses the fetch's transport: a redirect to file:///etc/passwd is refused
    (the old plain `requests` call would have raised a traceback), nothing is stored."""
    with HostileIndex(tmp_path / "hostile", mode="redirect-to-file") as hostile:
        url = f"{hostile.base}/files/{hostile.wheel.name}"
        chosen = sources.resolve("zlib", "9.9", sha256="1" * 64, url=url)
        with pytest.raises(BadAnswer, match=r"refused to follow 'file:///etc/passwd'"):
            sources.fetch(chosen, tmp_path / "sources")
    assert list((tmp_path / "sources").iterdir()) == []
