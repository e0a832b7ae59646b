"""The python_build role alone (a minimal playbook without site.yml or its group_vars).

With python_build_enabled false it only checks the given interpreter: fast, nothing built.
The refusal of an interpreter that lacks a required module must name the remedy that applies
to an interpreter used as it is (issue #18): python_build_required_modules, not
python_build_force (which only rebuilds what the role builds).
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import pytest

from tests.e2e.playbookrun import PlayResult, run_playbook, write_inventory

pytestmark = pytest.mark.e2e

PYTHON = "/usr/bin/python3"  # Debian's, with ssl and zlib


def _play(tmp_path: Path, modules: list[str]) -> PlayResult:
    extra = {
        "python_build_enabled": False,
        "python_build_interpreter": PYTHON,
        "python_build_required_modules": modules,
    }
    inventory = write_inventory(tmp_path / "hosts.ini", PYTHON)
    return run_playbook(inventory, extra, tmp_path / "run", roles=["python_build"], timeout=300)


def test_python_build_alone_accepts_an_interpreter_with_the_modules(tmp_path: Path) -> None:
    result = _play(tmp_path, ["ssl", "zlib"])
    assert result.rc == 0, result.describe()
    assert result.stats()["changed"] == 0


def test_missing_module_of_a_given_interpreter_names_the_module_list(tmp_path: Path) -> None:
    result = _play(tmp_path, ["ssl", "airgap_kit_no_such_module"])
    assert result.rc != 0
    (failure,) = result.failures()
    assert f"{PYTHON} cannot import airgap_kit_no_such_module" in failure, failure
    assert "python_build is false" in failure
    assert """-e '{"python_build_required_modules": ["ssl"]}'""" in failure, failure
    assert "python_build_force" not in failure


def _installed_build(tmp_path: Path) -> dict[str, object]:
    """A prefix whose bin/pythonX.Y is Debian's python3, as if this role had built it."""
    version = subprocess.run(
        [PYTHON, "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    short = ".".join(version.split(".")[:2])
    prefix = tmp_path / "prefix"
    (prefix / "bin").mkdir(parents=True)
    (prefix / "bin" / f"python{short}").symlink_to(PYTHON)
    (prefix / "lib" / f"python{short}").mkdir(parents=True)
    kit = tmp_path / "kit"
    (kit / "sources").mkdir(parents=True)
    (kit / "sources" / f"Python-{version}.tgz").write_bytes(b"")  # found, never unpacked
    return {
        "python_build_version": version,
        "python_build_prefix": str(prefix),
        "python_build_kit_dir": str(kit),
        "python_build_required_modules": ["ssl"],
        "python_build_user": "",
    }


def _record(version: str, prefix: str) -> str:
    """The completion record's contract (roles/python_build/vars/main.yml): "VERSION DIGEST",
    DIGEST = sha256 of the JSON list [version, LDFLAGS, CPPFLAGS, configure argv...] (here: no
    shared library, no OpenSSL build, no extra arguments)."""
    argv = ["./configure", f"--prefix={prefix}", "--with-ensurepip=install"]
    digest = hashlib.sha256(json.dumps([version, "", "", *argv]).encode()).hexdigest()
    return f"{version} {digest}\n"


@pytest.mark.parametrize("state", ["recorded", "unrecorded", "other_options"])
def test_an_installed_build_counts_only_with_its_completion_record(
    tmp_path: Path, state: str
) -> None:
    """--check: a Python built by this role with these options is left alone; one without the
    record (make altinstall interrupted) or built with other options would be built again."""
    extra = _installed_build(tmp_path)
    version, prefix = str(extra["python_build_version"]), str(extra["python_build_prefix"])
    record = {"recorded": _record(version, prefix), "unrecorded": None}.get(
        state, _record(version, prefix + "-elsewhere")
    )
    if record is not None:
        short = ".".join(version.split(".")[:2])
        (Path(prefix) / "lib" / f"python{short}" / "airgap-kit-build.txt").write_text(record)
    inventory = write_inventory(tmp_path / "hosts.ini", PYTHON)
    result = run_playbook(
        inventory, extra, tmp_path / "run", roles=["python_build"], check=True, timeout=300
    )
    assert result.rc == 0, result.describe()
    would_build = "Report that CPython would be built." in result.changed_tasks()
    assert would_build == (state != "recorded"), result.describe()
    assert result.stats()["changed"] == (0 if state == "recorded" else 1), result.changed_tasks()


FAKE_CONFIGURE = """#!/bin/sh
# A stand-in for CPython's configure: the role's steps (unpack, configure, make, make
# altinstall, markers) without a 3-minute build. `make altinstall` links Debian's python3.
for arg in "$@"; do case "$arg" in --prefix=*) prefix=${arg#--prefix=} ;; esac; done
printf 'all:\\n\\techo built > built.txt\\nclean:\\n\\trm -f built.txt\\n' > Makefile
printf 'altinstall:\\n\\tmkdir -p %s/bin\\n\\tln -sf %s %s/bin/python%s\\n' \\
    "$prefix" "$PYTHON" "$prefix" "$SHORT" >> Makefile
"""


def _fake_source(kit: Path, version: str) -> None:
    """sources/Python-VERSION.tgz holding only FAKE_CONFIGURE (see there)."""
    import io
    import tarfile

    short = ".".join(version.split(".")[:2])
    script = FAKE_CONFIGURE.replace("$PYTHON", PYTHON).replace("$SHORT", short).encode()
    tarball = kit / "sources" / f"Python-{version}.tgz"
    with tarfile.open(tarball, "w:gz") as tar:
        info = tarfile.TarInfo(f"Python-{version}/configure")
        info.size, info.mode = len(script), 0o755
        tar.addfile(info, io.BytesIO(script))


def test_force_clears_a_leftover_build_tree_and_records_the_build(tmp_path: Path) -> None:
    """A tree left by an earlier run, even one whose markers match, is not trusted with
    python_build_force: it is removed, unpacked, configured and compiled again."""
    extra = _installed_build(tmp_path)
    version, prefix = str(extra["python_build_version"]), str(extra["python_build_prefix"])
    _fake_source(tmp_path / "kit", version)
    workdir = tmp_path / "build"
    leftover = workdir / f"Python-{version}"
    leftover.mkdir(parents=True)
    digest = _record(version, prefix).split()[1]
    for marker in (".airgap-kit-configured", ".airgap-kit-built"):
        (leftover / marker).write_text(digest + "\n")
    (leftover / "leftover-from-an-earlier-run").write_text("")
    extra |= {
        "python_build_workdir": str(workdir),
        "python_build_keep_workdir": True,
        "python_build_force": True,
        "python_build_install_deps": False,
    }
    inventory = write_inventory(tmp_path / "hosts.ini", PYTHON)
    result = run_playbook(inventory, extra, tmp_path / "run", roles=["python_build"], timeout=300)
    assert result.rc == 0, result.describe()
    changed = result.changed_tasks()
    steps = [
        "Remove the build tree of an earlier run (python_build_force).",
        "Unpack the CPython source.",
        "Configure CPython.",
        "Compile CPython.",
        "Install CPython with make altinstall.",
        "Record the completed build.",
    ]
    assert [task for task in changed if task in steps] == steps, changed
    assert not (leftover / "leftover-from-an-earlier-run").exists()
    assert (leftover / "built.txt").read_text() == "built\n"
    assert (leftover / ".airgap-kit-built").read_text().strip() == digest
    short = ".".join(version.split(".")[:2])
    record = Path(prefix) / "lib" / f"python{short}" / "airgap-kit-build.txt"
    assert record.read_text() == _record(version, prefix)


def _prebuilt_tarball(path: Path, mark: str) -> str:
    """A "prebuilt CPython" tarball whose bin/pythonX.Y runs Debian's python3, with a file
    naming MARK; returns its sha256."""
    import io
    import tarfile

    short = ".".join(_debian_version().split(".")[:2])
    files = {
        f"bin/python{short}": (f'#!/bin/sh\nexec {PYTHON} "$@"\n', 0o755),
        f"lib/python{short}/airgap-kit-test-mark.txt": (f"{mark}\n", 0o644),
    }
    with tarfile.open(path, "w:gz") as tar:
        for name, (text, mode) in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(text.encode()), mode
            tar.addfile(info, io.BytesIO(text.encode()))
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _debian_version() -> str:
    return subprocess.run(
        [PYTHON, "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def test_a_client_reinstalls_when_the_served_tarball_has_another_sha256(tmp_path: Path) -> None:
    """python_build_mode http: the completion record carries the tarball's sha256, so a second
    run with the same tarball changes nothing, and a run with another tarball (another sha256
    for the same version and options, e.g. republished on the server) installs it instead of
    trusting the record."""
    import functools
    import http.server
    import threading

    served = tmp_path / "served"
    (served / "python").mkdir(parents=True)
    current = tmp_path / "current.tar.gz"

    class AnyTarball(http.server.SimpleHTTPRequestHandler):
        def translate_path(self, path: str) -> str:  # every /python/NAME.tar.gz: CURRENT
            return str(current) if path.endswith(".tar.gz") else super().translate_path(path)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(AnyTarball, directory=str(served))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        extra = _installed_build(tmp_path)
        version, prefix = (
            str(extra["python_build_version"]),
            Path(str(extra["python_build_prefix"])),
        )
        (prefix / "bin" / f"python{'.'.join(version.split('.')[:2])}").unlink()  # not there yet
        extra |= {
            "python_build_mode": "http",
            "python_build_repo_url": f"http://127.0.0.1:{server.server_address[1]}",
            "python_build_install_deps": False,
            "python_build_openssl": False,
            "python_build_workdir": str(tmp_path / "download"),
        }
        inventory = write_inventory(tmp_path / "hosts.ini", PYTHON)
        short = ".".join(version.split(".")[:2])
        record = prefix / "lib" / f"python{short}" / "airgap-kit-build.txt"
        mark = prefix / "lib" / f"python{short}" / "airgap-kit-test-mark.txt"
        runs = []
        tarballs = {name: tmp_path / f"{name}.tar.gz" for name in ("first", "second")}
        sums = {name: _prebuilt_tarball(path, name) for name, path in tarballs.items()}
        for name in ("first", "first", "second"):
            current.write_bytes(tarballs[name].read_bytes())
            sha256 = sums[name]
            runs.append(
                run_playbook(
                    inventory,
                    {**extra, "python_build_prebuilt_sha256": sha256},
                    tmp_path / "run",
                    roles=["python_build"],
                    timeout=300,
                )
            )
            assert runs[-1].rc == 0, runs[-1].describe()
            assert mark.read_text() == f"{name}\n"
            assert record.read_text().endswith(f" sha256={sha256}\n"), record.read_text()
        installed = "Unpack the prebuilt CPython into the prefix."
        assert installed in runs[0].changed_tasks()
        assert runs[1].stats()["changed"] == 0, runs[1].changed_tasks()
        assert installed in runs[2].changed_tasks(), runs[2].changed_tasks()
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
