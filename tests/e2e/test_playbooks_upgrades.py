"""Blue/green upgrades and rollback of the application venv (issue #16), for real.

site.yml with `--tags wheels,smoke` against localhost: the application on the real CPython
3.6.15, every module run by CPython 2.7.18 (CentOS 7's /usr/bin/python), no network at all when
`unshare -n` works. Three kits of the converter for 3.6.15/manylinux1:
  v1  the converter as it is (the session's `kit36`);
  v2  the converter 0.2.0, which also requires a small extra package (a wheel made here);
  v3  the converter 0.3.0 whose self-test always fails (a payload broken after it was built).
The steps: v1 deployed (its own venv, app_venv a symlink to it); its record removed, a re-run
records it again; a package pip-installed by hand into the live venv: refused naming it, then
`wheels_repair=true` builds v1's venv again beside it (NAME-1), proven, switched, the damaged
one untouched (#16 review findings 3, 13, 1); `--check` of v2 reports
the switch and changes nothing; v2 deployed (a new venv, the symlink switched after the smoke
test of the new venv, v1 kept, a venv no record lists removed; a re-run changes nothing; the
live venv damaged by hand (pip removed): the re-run refuses it naming it and wheels_repair,
the venv untouched); v3
fails its smoke test and leaves v2 running (its venv kept: a failed proof removes no venv, #16
third review D2; retired at the next switch); `app_rollback=true` with the v2
kit returns to v1, where v2's extra package is not installed (a fresh venv per lock), the
summary counting v1's packages; the rollback run again changes nothing; a rollback with the
older v1 kit returns to v2, noted in the summary (finding 9). Third review: a wheels_dest
spelled through the app link (APP/../wh) is refused as not written in normal form, and through a
symlinked folder on the real paths (D4); `--check` with
wheels_repair says it would build NAME-1 beside the live venv (second review leftover 7); the
pruning of the wheelhouse copy removes a stale top-level wheel and leaves a deeper and a
symlinked folder alone (D3). A second test refuses an app_venv with a trailing slash before
anything is written (finding 7), leaves a fresh host alone on app_rollback (finding 8), migrates
a venv an earlier kit made in place at app_venv (the rollback target after the migration), and
then keeps that recorded venv of v2 after a failed smoke test and builds v2-1 beside it once it
is damaged (D2). A third runs `--check` of a several-target kit on a fresh host (the pick with
the controller's install.sh; deferred when python_build is to build the interpreter, #16
verification review 4). A fourth loses the record after v1 and v2 (rebuilt from the venvs on
disk, v1 kept and rolled back to), and repeats a failing repair (one NAME-1, reused), with the
refusal's and the re-run's wording (#16 verification review 1, 2, 3, 5). A fifth refuses a
venv linked back into the venvs directory before anything is written, rebuilds a garbled or
symlinked record (never read through the link), ignores a linked `rolled-back`, and keeps a
migrated `legacy` venv in a rebuilt record while leaving out a venv whose install record holds
another lock's digest (#16 fresh review 1-4).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import require_playbook_host
from tests.e2e.playbookrun import REPO, PlayResult, can_run_offline, run_playbook, write_inventory
from tests.fakeindex import build_wheel

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.network]

EXTRA = "airgapkit-upgrade-extra"
BROKEN = (
    '    return False, "selftest FAILED: v3 is broken on purpose (test_playbooks_upgrades.py)"\n'
)


def _converter_kit(kit: Path, version: str, *, extra: Path | None, broken: bool) -> Path:
    """A kit_dir whose wheelhouse is a copy of converter/ at VERSION (requiring EXTRA, found in
    the folder EXTRA, when given; its self-test failing when BROKEN), fetched for 3.6.15."""
    project = kit.parent / f"{kit.name}-converter"
    shutil.copytree(
        REPO / "converter",
        project,
        ignore=shutil.ignore_patterns("build", "*.egg-info", "tests", "benchmarks", "__pycache__"),
    )
    pyproject = project / "pyproject.toml"
    text = pyproject.read_text().replace('version = "0.1.0"', f'version = "{version}"')
    if extra is not None:
        text = text.replace('dependencies = ["numpy"', f'dependencies = ["{EXTRA}", "numpy"')
    assert f'version = "{version}"' in text and (extra is None or EXTRA in text)
    pyproject.write_text(text)
    if broken:
        selftest = project / "asciivideo" / "selftest.py"
        marker = '    """(ok, message): convert a fresh sample clip'
        source = selftest.read_text()
        head, sep, tail = source.partition(marker)
        first, nl, rest = tail.partition("\n")
        assert sep, "converter/asciivideo/selftest.py changed: update BROKEN's place"
        selftest.write_text(head + sep + first + nl + BROKEN + rest)
    argv = [
        str(REPO / ".venv" / "bin" / "bundler"), "fetch", "--python", "3.6.15",
        "--platform", "manylinux1", "--project", str(project), "-o", str(kit / "wheelhouse"),
        "--no-rehearse",
    ]  # fmt: skip
    if extra is not None:
        argv += ["--find-links", str(extra)]
    proc = subprocess.run(argv, capture_output=True, text=True)
    assert proc.returncode == 0, f"bundler fetch failed:\n{proc.stdout}\n{proc.stderr}"
    return kit


@pytest.fixture(scope="module")
def kits(tmp_path_factory: pytest.TempPathFactory, kit36: Path) -> dict[str, Path]:
    require_playbook_host()
    root = tmp_path_factory.mktemp("upgrade-kits")
    extra = root / "extra"
    build_wheel(extra, EXTRA, "1.0")
    return {
        "v1": kit36,
        "v2": _converter_kit(root / "kit-v2", "0.2.0", extra=extra, broken=False),
        "v3": _converter_kit(root / "kit-v3", "0.3.0", extra=None, broken=True),
    }


def _venv_name(kit: Path) -> str:
    """The role's venv name for KIT: 16 hex digits of its lock's sha256 (sha256sum's)."""
    return hashlib.sha256((kit / "wheelhouse" / "requirements.lock").read_bytes()).hexdigest()[:16]


class Host:
    """localhost's application paths under ROOT, and site.yml --tags wheels,smoke runs."""

    def __init__(self, root: Path, python36: Path, python27: Path) -> None:
        self.root, self.python36 = root, python36
        self.app, self.venvs = root / "app", root / "venvs"
        self.inventory = write_inventory(root / "hosts.ini", python27)
        self.runs = root / "runs"

    def run(self, kit: Path, *, check: bool = False, **extra: Any) -> PlayResult:
        variables = {
            "kit_dir": str(kit),
            "kit_allow_unsigned": True,  # a wheelhouse, not a packed kit
            "python_build": False,
            "python_interpreter": str(self.python36),
            "wheels_dest": str(self.root / "wheelhouse"),
            "app_venv": str(self.app),
            "smoke_workers": 2,
            **extra,
        }
        return run_playbook(
            self.inventory, variables, self.runs, tags=["wheels", "smoke"], check=check,
            offline=can_run_offline(), timeout=900,
        )  # fmt: skip

    def current(self) -> str:
        target = os.readlink(self.app)  # a symlink, always
        assert Path(target).parent == self.venvs, target
        return Path(target).name

    def history(self) -> list[str]:
        lines = (self.venvs / "history").read_text().splitlines()
        return [line for line in lines if line and not line.startswith("#")]

    def on_disk(self) -> list[str]:
        return sorted(p.name for p in self.venvs.iterdir() if p.is_dir())

    def imports(self, module: str) -> bool:
        argv = [str(self.app / "bin" / "python"), "-c", f"import {module}"]
        return subprocess.run(argv, capture_output=True).returncode == 0


def _pins(kit: Path) -> int:
    """The number of name==version pins of KIT's lock (what the summary counts)."""
    lock = (kit / "wheelhouse" / "requirements.lock").read_text().splitlines()
    return sum(1 for line in lock if line[:1].isalnum() and "==" in line)


def _ok(result: PlayResult) -> PlayResult:
    assert result.rc == 0, result.describe()
    assert (result.smoke_line() or "").startswith("selftest ok: 240 frames, 2 workers"), (
        result.describe()
    )
    return result


def _unchanged(result: PlayResult) -> None:
    _ok(result)
    assert result.stats()["changed"] == 0, result.changed_tasks()


def _smoke_argv(result: PlayResult) -> list[str]:
    """argv[0] of each self-test the run made, in order."""
    return [
        res["cmd"][0]
        for name, res in result.task_results()
        if name == "Run the converter's self-test." and "cmd" in res
    ]


def test_upgrade_check_failed_upgrade_rollback(
    tmp_path: Path, kits: dict[str, Path], python36: Path, python27: Path
) -> None:
    host = Host(tmp_path, python36, python27)
    v1, v2, v3 = (_venv_name(kits[k]) for k in ("v1", "v2", "v3"))
    assert len({v1, v2, v3}) == 3

    # -- v1: its own venv, app_venv a symlink to it (re-runs: v2's and the rollback's below) ---
    _ok(host.run(kits["v1"]))
    assert host.app.is_symlink() and host.current() == v1
    assert host.history() == [v1] and host.on_disk() == [v1]

    # -- a wheels_dest holding app_venv and the venvs: refused before anything is written ----
    # (#16 second review finding 1: the pruning of the wheelhouse copy removed the venvs' files)
    overlap = host.run(kits["v1"], wheels_dest=str(tmp_path))
    assert overlap.rc != 0, overlap.describe()
    (failure,) = overlap.failures()
    assert failure.startswith(
        "Refuse a wheels_dest that overlaps app_venv or the venvs directory.: localhost: "
        f"app_venv '{host.app}' lies inside wheels_dest '{tmp_path}'"
    ), failure
    assert overlap.stats()["changed"] == 0, overlap.changed_tasks()
    assert host.history() == [v1] and host.on_disk() == [v1] and host.imports("asciivideo")
    # the same overlap spelled through the app link (APP/../wh is VENVS/wh on the host): a
    # path not in normal form is refused as written (#16 verification review, 2 and 3)
    spelled = host.run(kits["v1"], wheels_dest=f"{host.app}/../wh")
    assert spelled.rc != 0, spelled.describe()
    (failure,) = spelled.failures()
    assert f"wheels_dest '{host.app}/../wh' is not written in normal form" in failure, failure
    assert spelled.stats()["changed"] == 0, spelled.changed_tasks()
    # and through a symlinked folder: the text comparison lets it through, the host's real
    # paths do not (#16 third review D4)
    (tmp_path / "to-venvs").symlink_to(host.venvs)
    through = host.run(kits["v1"], wheels_dest=f"{tmp_path}/to-venvs/wh")
    assert through.rc != 0, through.describe()
    (failure,) = through.failures()
    assert failure.startswith(
        "Refuse settings that overlap once the host resolves them.: localhost: wheels_dest "
        f"'{tmp_path}/to-venvs/wh' (on the host {host.venvs}/wh) lies inside wheels_venvs_dir "
        f"'{host.venvs}' (on the host {host.venvs})"
    ), failure
    assert through.stats()["changed"] == 0, through.changed_tasks()
    assert not (host.venvs / "wh").exists() and not (tmp_path / "wh").exists()
    (tmp_path / "to-venvs").unlink()

    # -- the record lost: a re-run records the running venv again (#16 finding 3) -------------
    (host.venvs / "history").unlink()
    rerun = _ok(host.run(kits["v1"]))
    assert rerun.changed_tasks() == ["Record the venv that passed its smoke test."], (
        rerun.describe()
    )
    assert host.history() == [v1] and host.current() == v1

    # -- app_venv a relative link (as `ln -sr` or a backup restore makes it) and a smoke test
    # that fails: the live venv is still known by its inode, never installed into nor removed
    # (#16 third review D1: a failed proof removed the venv the application runs)
    live = host.venvs / v1
    inode = live.stat().st_ino
    host.app.unlink()
    host.app.symlink_to(Path("venvs") / v1)
    failing = host.run(kits["v1"], smoke_workers=0)
    assert failing.rc != 0, failing.describe()
    assert "Install the wheelhouse with its install.sh." not in failing.changed_tasks()
    assert live.stat().st_ino == inode and host.imports("asciivideo")
    host.app.unlink()
    host.app.symlink_to(live)

    # -- a package pip-installed by hand into the live venv (pip 18.1): refused, untouched ---
    # (#16 finding 13: install.sh --check compares as pip-sync does, names and versions)
    stray = build_wheel(tmp_path / "stray", "airgapkit-stray", "1.0")
    hand = host.venvs / v1
    subprocess.run(
        [str(host.app / "bin" / "python"), "-m", "pip", "install", "--no-index", "-q", str(stray)],
        check=True, capture_output=True,
    )  # fmt: skip
    (host.venvs / "history").unlink()  # lost again: the repair below records both venvs
    inode, marker = hand.stat().st_ino, (hand / ".airgap-kit-installed").read_text()
    refused = host.run(kits["v1"])
    assert refused.rc != 0, refused.describe()
    (failure,) = refused.failures()
    assert failure.startswith(
        f"Refuse to change the venv the application runs.: localhost: {hand}, the venv "
        f"{host.app} (app_venv) points to, differs from the kit's lock or is damaged"
    ), failure
    assert (
        f"uninstall from {hand} package(s) the lock does not list: airgapkit-stray==1.0" in failure
    ), failure
    assert "-e wheels_repair=true to build a fresh venv of this kit beside it" in failure, failure
    assert (hand.stat().st_ino, (hand / ".airgap-kit-installed").read_text()) == (inode, marker)

    # -- wheels_repair=true --check: says what a real repair does (a fresh venv beside) -------
    # (#16 second review leftover 7: it printed "would uninstall from" the live venv)
    check = host.run(kits["v1"], check=True, wheels_repair=True)
    assert check.rc == 0, check.describe()
    said = dict(check.task_results())["Report what install.sh would do."]["msg"]
    report = "\n".join(said) if isinstance(said, list) else str(said)
    assert report.startswith(
        f"a fresh venv of this kit would be built at {host.venvs}/{v1}-1 (install.sh --venv "
        f"{host.venvs}/{v1}-1), smoke-tested and switched to; {hand} would be left as it is"
    ), report
    assert "Switch app_venv to the venv." in check.changed_tasks(), check.changed_tasks()
    assert host.current() == v1 and host.on_disk() == [v1]
    assert (hand.stat().st_ino, (hand / ".airgap-kit-installed").read_text()) == (inode, marker)

    # -- wheels_repair=true: a fresh venv of v1 beside the live one, proven, then switched ----
    repaired = _ok(host.run(kits["v1"], wheels_repair=True))
    v1r = f"{v1}-1"
    assert host.current() == v1r and host.history() == [v1, v1r]
    assert _smoke_argv(repaired)[0] == str(host.venvs / v1r / "bin" / "python")
    assert not host.imports("airgapkit_stray") and host.imports("asciivideo")
    # the damaged venv was never touched: same directory, same marker, the stray still there
    assert (hand.stat().st_ino, (hand / ".airgap-kit-installed").read_text()) == (inode, marker)
    stray_import = [str(hand / "bin" / "python"), "-c", "import airgapkit_stray"]
    assert subprocess.run(stray_import, capture_output=True).returncode == 0
    assert host.on_disk() == sorted([v1, v1r])
    v1 = v1r  # the venv of kit v1 from here on

    # -- v2 --check: the install and the switch are reported, nothing moves ------------------
    leftover = host.venvs / ("f" * 16)  # as a killed install of some other kit leaves it
    (leftover / "bin").mkdir(parents=True)
    before = (host.current(), host.history(), host.on_disk())
    check = host.run(kits["v2"], check=True)
    assert check.rc == 0, check.describe()
    changed = check.changed_tasks()
    assert "Switch app_venv to the venv." in changed, changed
    assert "Remove venvs beyond wheels_keep_venvs." in changed, changed
    # the copy is there (v1's) and would change: said so, not "not on the host yet"
    report = dict(check.task_results())["Report what install.sh would do."]
    assert "the wheelhouse copy on the host would change" in str(report["msg"]), report
    assert (host.current(), host.history(), host.on_disk()) == before

    # -- v2: a new venv, proven before the switch; v1 kept, the unrecorded leftover removed --
    wheelhouse = tmp_path / "wheelhouse"
    v1_wheels = {p.name for p in wheelhouse.glob("*.whl")}
    notes = wheelhouse / "operator-notes.txt"  # not a file a wheelhouse writes: never pruned
    notes.write_text("kept\n")
    # only the top and targets/NAME/ are pruned, no deeper folder, no symlinked folder (#16
    # third review D3: the pruning searched 3 levels deep)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    planted = {
        "stale-0.1-py3-none-any.whl": False,  # a stale top-level wheel: removed
        "targets/old-target/requirements.lock": False,  # where a wheelhouse writes: removed
        "archive/old-0.1-py3-none-any.whl": True,  # a deeper folder: untouched
        "archive/requirements.lock": True,
        "targets/old-target/deeper/x-1.0-py3-none-any.whl": True,
        "linked/stale-0.1-py3-none-any.whl": True,  # through a symlinked folder: untouched
        "targets/linked/requirements.lock": True,
    }
    (wheelhouse / "linked").symlink_to(elsewhere)
    (wheelhouse / "targets").mkdir()
    (wheelhouse / "targets" / "linked").symlink_to(elsewhere)
    for rel in planted:
        (wheelhouse / rel).parent.mkdir(parents=True, exist_ok=True)
        (wheelhouse / rel).write_text("planted\n")
    two = _ok(host.run(kits["v2"]))
    assert notes.read_text() == "kept\n"
    left = {rel: (wheelhouse / rel).exists() for rel in planted}
    assert left == planted, left
    v2_wheels = {p.name for p in (kits["v2"] / "wheelhouse").glob("*.whl")}
    assert {p.name for p in wheelhouse.glob("*.whl")} == v2_wheels != v1_wheels
    assert host.current() == v2 and host.history() == [hand.name, v1, v2]
    assert host.on_disk() == sorted([v1, v2])  # the damaged v1 and the leftover retired
    # the first self-test ran on the new venv itself, before app_venv pointed to it
    assert _smoke_argv(two) == [
        str(host.venvs / v2 / "bin" / "python"),
        str(host.app / "bin" / "python"),
    ]
    names = [name for name, _res in two.task_results()]
    assert names.index("Switch app_venv to the venv.") > names.index(
        "Run the converter's self-test."
    )
    assert host.imports(EXTRA.replace("-", "_"))
    _unchanged(host.run(kits["v2"]))

    # -- the live venv damaged (pip removed): the re-run refuses it, nothing touched ---------
    live = host.venvs / v2
    shutil.rmtree(next((live / "lib" / "python3.6" / "site-packages").glob("pip")))
    inode, marker = live.stat().st_ino, (live / ".airgap-kit-venv").read_text()
    damaged = host.run(kits["v2"])
    assert damaged.rc != 0, damaged.describe()
    (failure,) = damaged.failures()
    assert failure.startswith(
        f"Refuse to change the venv the application runs.: localhost: {live}, the venv "
        f"{host.app} (app_venv) points to, differs from the kit's lock or is damaged"
    ), failure
    assert "(install.sh --check: remove the incomplete virtual environment " in failure, failure
    assert "-e wheels_repair=true to build a fresh venv of this kit beside it" in failure, failure
    assert "Install the wheelhouse with its install.sh." not in damaged.changed_tasks()
    assert (live.stat().st_ino, (live / ".airgap-kit-venv").read_text()) == (inode, marker)
    assert host.current() == v2 and host.imports("asciivideo")

    # -- wheels_repair=true on the live venv of v2: v1, the rollback target, stays ------------
    # (#16 second review finding 2: the damaged v2 and its repair took both places of keep=2)
    _ok(host.run(kits["v2"], wheels_repair=True))
    v2r = f"{v2}-1"
    assert host.current() == v2r and host.history() == [hand.name, v1, v2, v2r]
    assert host.on_disk() == sorted([v1, v2, v2r])  # v2: the venv that ran before the run

    # -- v3: its smoke test fails; v2 keeps running, the failed venv is gone -----------------
    three = host.run(kits["v3"])
    assert three.rc != 0, three.describe()
    failures = three.failures()
    assert failures and failures[-1].startswith(
        "Stop with what failed, app_venv left as it was.: localhost: "
    ), failures
    assert "The smoke test failed on localhost" in failures[-1], failures[-1]
    assert "v3 is broken on purpose" in failures[-1], failures[-1]
    assert f"still points to {v2r}" in failures[-1], failures[-1]
    assert f"{host.venvs / v3} is kept: a failed smoke test removes no venv" in failures[-1]
    assert host.current() == v2r and host.history() == [hand.name, v1, v2, v2r]
    # a failed proof removes no venv (#16 third review D2); v3's, in no record, goes at the
    # next switch (the rollback below)
    assert host.on_disk() == sorted([v1, v2, v2r, v3])

    # -- app_rollback=true with the kit the host runs: back to v1, proven first --------------
    back = _ok(host.run(kits["v2"], app_rollback=True))
    assert host.current() == v1 and host.history() == [hand.name, v2, v2r, v1]
    assert host.on_disk() == sorted([v1, v2r])  # the damaged v2 retired: v2r is kit v2's newest
    assert _smoke_argv(back)[0] == str(host.venvs / v1 / "bin" / "python")
    assert "Install the wheelhouse with its install.sh." not in back.changed_tasks()
    assert not host.imports(EXTRA.replace("-", "_"))  # v2's extra package is not in v1's venv
    assert host.imports("asciivideo")
    # the summary's PACKAGES: the running venv's (v1's), not the given kit's (#16 finding 9)
    stats = back.data["global_custom_stats"]["wheels"]["localhost"]
    assert stats["packages"] == _pins(kits["v1"]) != _pins(kits["v2"]), stats
    # again: the host no longer runs v2's venv, nothing to do
    _unchanged(host.run(kits["v2"], app_rollback=True))
    assert host.current() == v1

    # -- a rollback with the older kit v1 returns to v2 (the newest other venv): warned ------
    forward = _ok(host.run(kits["v1"], app_rollback=True))
    assert host.current() == v2r
    note = forward.data["global_custom_stats"]["wheels"]["localhost"]["note"]
    assert f"app_rollback went from {v1} to {v2r}, a venv this host was rolled back FROM" in note


def test_an_in_place_venv_of_an_earlier_kit_is_migrated_as_the_rollback_target(
    tmp_path: Path, kits: dict[str, Path], python36: Path, python27: Path
) -> None:
    """app_venv made in place by an earlier kit (install.sh --venv APP_VENV, as the role did
    before #16): moved to VENVS/legacy only after the new venv passed its smoke test, and
    recorded before it (the rollback target; the rollback itself is proven above). The moved
    venv still runs the self-test. A directory there that is no venv is refused untouched."""
    host = Host(tmp_path, python36, python27)
    # app_venv overlapping the venvs directory: refused before anything is written (#16 f. 7)
    overlap = host.run(kits["v1"], app_venv=f"{host.app}/")
    assert overlap.rc != 0
    (failure,) = overlap.failures()
    assert failure.startswith(
        f"Refuse an app_venv that overlaps the venvs directory.: localhost: app_venv '{host.app}/' "
        "ends with '/'"
    ), failure
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hosts.ini", "runs"]
    # app_rollback on a host the kit never ran on: left as it is, the play goes on (#16 f. 8)
    untouched = host.run(kits["v1"], app_rollback=True)
    assert untouched.rc == 0, untouched.describe()
    assert not host.app.exists() and not host.venvs.exists()
    note = untouched.data["global_custom_stats"]["wheels"]["localhost"]["note"]
    assert note.startswith("localhost runs no venv of this role (the kit never ran here)"), note
    assert "app_rollback left it as it is" in note, note
    assert f", not this kit's venv {_venv_name(kits['v1'])}:" in note, note  # its apostrophe
    assert _smoke_argv(untouched) == []

    host.app.mkdir()
    (host.app / "data.txt").write_text("not a venv\n")
    refused = host.run(kits["v1"])
    assert refused.rc != 0
    (failure,) = refused.failures()
    assert "is a directory that is not a venv" in failure, failure
    assert "no venv, record or app_venv was changed" in failure, failure  # (review 3)
    assert (host.app / "data.txt").read_text() == "not a venv\n" and not host.venvs.exists()
    shutil.rmtree(host.app)

    install = subprocess.run(
        ["/bin/sh", str(kits["v1"] / "wheelhouse" / "install.sh"), "--python", str(python36),
         "--venv", str(host.app)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert install.returncode == 0, install.stdout + install.stderr
    v2 = _venv_name(kits["v2"])
    _ok(host.run(kits["v2"]))
    assert host.current() == v2 and host.history() == ["legacy", v2]
    legacy = host.venvs / "legacy"
    assert (legacy / ".airgap-kit-venv").read_text() == "complete\n"
    selftest = subprocess.run(
        [str(legacy / "bin" / "python"), "-m", "asciivideo", "selftest", "--workers", "2"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert selftest.stdout.startswith("selftest ok: 240 frames"), selftest.stderr

    # -- v2 recorded, the rollback target of legacy: a smoke test of it that fails (2 workers
    # asked, 0 given: a passing cause) keeps it; damaged (its recorded lock digest gone), it
    # is built afresh beside (v2-1), never removed while it is the rollback target (#16 third
    # review D2: a failed proof removed the only rollback target)
    _ok(host.run(kits["v2"], app_rollback=True))
    assert host.current() == "legacy" and host.on_disk() == sorted(["legacy", v2])
    recorded = host.venvs / v2
    inode = recorded.stat().st_ino
    failed = host.run(kits["v2"], smoke_workers=0)
    assert failed.rc != 0, failed.describe()
    failures = failed.failures()
    assert failures and f"{recorded} is kept: a failed smoke test removes no venv" in failures[-1]
    assert host.current() == "legacy" and host.on_disk() == sorted(["legacy", v2])
    assert recorded.stat().st_ino == inode and host.history() == [v2, "legacy"]
    (recorded / ".airgap-kit-installed").unlink()
    rebuilt = _ok(host.run(kits["v2"]))
    assert host.current() == f"{v2}-1" and host.history() == [v2, "legacy", f"{v2}-1"]
    assert _smoke_argv(rebuilt)[0] == str(host.venvs / f"{v2}-1" / "bin" / "python")
    assert "Install the wheelhouse with its install.sh." in rebuilt.changed_tasks()
    # the damaged v2 goes only now, no longer the rollback target (legacy is): retired
    assert host.on_disk() == sorted(["legacy", f"{v2}-1"])


def test_check_of_a_several_target_kit_on_a_fresh_host(
    tmp_path: Path, python36: Path, python27: Path
) -> None:
    """`--check` of a several-target kit on a host with no wheelhouse copy yet (a first
    deploy): the read-only pick runs anyway, with the controller's install.sh, so the host's
    target's lock is the one reported; nothing is made on the host."""
    kit = tmp_path / "kit"
    argv = [sys.executable, "-m", "bundler", "fetch", "six==1.16.0", "--no-rehearse"]
    argv += ["-o", str(kit / "wheelhouse"), "--target", "3.6.15/manylinux1"]
    argv += ["--target", "3.11.7/manylinux2014"]
    fetched = subprocess.run(argv, capture_output=True, text=True, cwd=REPO)
    assert fetched.returncode == 0, fetched.stdout + fetched.stderr
    (tmp_path / "host").mkdir()
    host = Host(tmp_path / "host", python36, python27)
    variables = {
        "kit_dir": str(kit),
        "python_interpreter": str(python36),
        "wheels_dest": str(host.root / "wheelhouse"),
        "app_venv": str(host.app),
        "wheels_install_system_packages": False,
    }
    check = run_playbook(
        host.inventory, variables, host.runs, roles=["wheels"], check=True, timeout=600
    )
    assert check.rc == 0, check.describe()
    results = dict(check.task_results())
    picked = results[
        "Pick the wheelhouse target that fits the host's interpreter (install.sh --which)."
    ]
    assert picked["stdout"].strip() == "cp36-manylinux1_x86_64", picked
    assert "Report what install.sh would do." in check.changed_tasks()
    assert sorted(p.name for p in host.root.iterdir()) == ["hosts.ini", "runs"]

    # -- the interpreter still to be built by python_build in the same play: --check says the
    # pick comes after the build instead of failing at it (#16 verification review 4)
    to_build = host.root / "python" / "bin" / "python3.6"
    deferred = run_playbook(
        host.inventory, {**variables, "python_interpreter": str(to_build), "python_build": True},
        host.runs, roles=["wheels"], check=True, timeout=600,
    )  # fmt: skip
    assert deferred.rc == 0, deferred.describe()
    said = dict(deferred.task_results())[
        "Report that the target would be picked after the build (--check)."
    ]["msg"]
    assert f"the interpreter {to_build} is not on the host yet" in said, said
    assert "cp36-manylinux1_x86_64, cp311-manylinux2014_x86_64" in said, said
    note = deferred.data["global_custom_stats"]["wheels"]["localhost"]["note"]
    assert (
        note
        == f"localhost: the target of the kit would be picked after python_build built {to_build}"
    )
    assert sorted(p.name for p in host.root.iterdir()) == ["hosts.ini", "runs"]
    # without python_build nothing would build it: the pick fails as a real run would
    unbuilt = run_playbook(
        host.inventory, {**variables, "python_interpreter": str(to_build), "python_build": False},
        host.runs, roles=["wheels"], check=True, timeout=600,
    )  # fmt: skip
    assert unbuilt.rc != 0, unbuilt.describe()
    (failure,) = unbuilt.failures()
    assert failure.startswith("Fail when no target of the kit fits this host.: "), failure


def test_a_lost_record_keeps_the_rollback_target_and_failed_repairs_do_not_pile_up(
    tmp_path: Path, kits: dict[str, Path], python36: Path, python27: Path
) -> None:
    """#16 verification review: v1 then v2 deployed, the record lost: the re-run rebuilds it
    from the complete venvs on the host (v1 kept, said in the summary) and a rollback returns to
    v1 (1); `--check` of the older kit says its venv is there already (5); a refusal says the
    wheelhouse copy was updated (3); failed repairs reuse one NAME-N (2); the re-run after a
    repair changes nothing (5)."""
    host = Host(tmp_path, python36, python27)
    v1, v2 = _venv_name(kits["v1"]), _venv_name(kits["v2"])
    _ok(host.run(kits["v1"]))
    _ok(host.run(kits["v2"]))
    assert host.current() == v2 and host.on_disk() == sorted([v1, v2])

    # -- the record lost: rebuilt from the complete venvs, none removed (review 1) -----------
    creating = host.venvs / ("e" * 16)  # as a killed install leaves it: not complete
    creating.mkdir()
    (creating / ".airgap-kit-venv").write_text("creating\n")
    (host.venvs / "history").unlink()
    rerun = _ok(host.run(kits["v2"]))
    assert rerun.changed_tasks() == ["Record the venv that passed its smoke test."], (
        rerun.describe()
    )
    assert host.history() == [v1, v2] and host.current() == v2
    assert host.on_disk() == sorted([v1, v2, creating.name])
    note = rerun.data["global_custom_stats"]["wheels"]["localhost"]["note"]
    assert (
        f"{host.venvs}/history did not list the venv app_venv points to ({v2}): rebuilt from "
        f"the complete venvs on the host, oldest install first: {v1}, {v2}; no complete venv "
        "is removed in this run"
    ) in note, note

    # -- --check of the older kit v1: its venv is there, not "this kit is not there yet" -----
    check = host.run(kits["v1"], check=True)
    assert check.rc == 0, check.describe()
    said = str(dict(check.task_results())["Report what install.sh would do."]["msg"])
    assert f"its venv {host.venvs}/{v1} is on the host already" in said, said
    assert "not there yet" not in said, said

    # -- app_rollback returns to v1 (the newest other venv), proven first -------------------
    back = _ok(host.run(kits["v2"], app_rollback=True))
    assert host.current() == v1 and host.history() == [v2, v1]
    assert _smoke_argv(back)[0] == str(host.venvs / v1 / "bin" / "python")
    assert host.on_disk() == sorted([v1, v2])  # the `creating` leftover went at this switch

    # -- the live venv damaged: the refusal says what the run did change (review 3) ---------
    live = host.venvs / v1
    shutil.rmtree(next((live / "lib" / "python3.6" / "site-packages").glob("pip")))
    refused = host.run(kits["v1"])
    assert refused.rc != 0, refused.describe()
    (failure,) = refused.failures()
    assert failure.startswith("Refuse to change the venv the application runs.: "), failure
    assert (
        f"the wheelhouse copy at {tmp_path / 'wheelhouse'} (and the kit's system packages) were "
        "brought up to this kit as on every run; no venv, record or app_venv was changed"
    ) in failure, failure
    assert "nothing was changed" not in failure, failure
    assert "Copy the wheelhouse to the host." in refused.changed_tasks()  # (v2's copy before)

    # -- repairs whose smoke test fails: one NAME-1, taken again, not NAME-2, ... (review 2) --
    repair = f"{v1}-1"
    for attempt in range(2):
        failed = host.run(kits["v1"], wheels_repair=True, smoke_workers=0)
        assert failed.rc != 0, failed.describe()
        assert host.current() == v1 and host.on_disk() == sorted([v1, v2, repair]), attempt
        installed = "Install the wheelhouse with its install.sh." in failed.changed_tasks()
        assert installed == (attempt == 0), failed.changed_tasks()  # complete: reused as it is
        # the self-test printed nothing on stdout: no empty "stdout:" section (review 5)
        said = failed.failures()[-1]
        assert "stderr: asciivideo: error: --workers must be at least 1, got 0" in said, said
        assert "stdout:" not in said, said
    repaired = _ok(host.run(kits["v1"], wheels_repair=True))
    assert "Install the wheelhouse with its install.sh." not in repaired.changed_tasks()
    assert host.current() == repair and host.history() == [v2, v1, repair]
    assert _smoke_argv(repaired)[0] == str(host.venvs / repair / "bin" / "python")
    assert host.on_disk() == sorted([v1, v2, repair])  # v1: the venv that ran before the run

    # -- the first re-run after a repair changes nothing: the damaged v1 goes at the next
    # switch (review 5)
    _unchanged(host.run(kits["v1"]))
    assert host.on_disk() == sorted([v1, v2, repair])


def _inode(path: Path) -> tuple[int, str]:
    """PATH's inode (not following a link) and its venv marker's text."""
    marker = path / ".airgap-kit-venv"
    return path.lstat().st_ino, marker.read_text() if marker.is_file() else ""


def test_symlinked_venvs_and_damaged_records_are_neither_followed_nor_fatal(
    tmp_path: Path, kits: dict[str, Path], python36: Path, python27: Path
) -> None:
    """#16 fresh review: v1 and v2 deployed. v2's venv moved out and linked back (VENVS/NAME ->
    /elsewhere/NAME): refused before anything is written, naming the link, app_venv and both
    venvs untouched (1). A garbled `history` and then one that is a symlink: rebuilt from the
    host with a note, the linked file never read or written; a linked `rolled-back` is ignored
    with a note (2). A lost record with a migrated `legacy` venv (no markers) and a venv whose
    install record holds another lock's digest: legacy kept, the oldest; the other not listed
    (3, 4)."""
    host = Host(tmp_path, python36, python27)
    v1, v2 = _venv_name(kits["v1"]), _venv_name(kits["v2"])
    _ok(host.run(kits["v1"]))
    _ok(host.run(kits["v2"]))
    assert host.current() == v2 and host.history() == [v1, v2]

    # -- (1) VENVS/v2 a symlink to the venv moved elsewhere: refused, nothing changed --------
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    os.rename(host.venvs / v2, elsewhere / v2)
    (host.venvs / v2).symlink_to(elsewhere / v2)
    before = (os.readlink(host.app), _inode(host.venvs / v1), _inode(elsewhere / v2))
    history = (host.venvs / "history").read_text()
    refused = host.run(kits["v2"])
    assert refused.rc != 0, refused.describe()
    (failure,) = refused.failures()
    assert failure.startswith(
        f"Refuse a venv entry that is not a real directory.: localhost: {host.venvs}/{v2} "
        "(a symlink) in "
    ), failure
    assert "Nothing was changed." in failure, failure
    assert refused.changed_tasks() == [], refused.changed_tasks()
    after = (os.readlink(host.app), _inode(host.venvs / v1), _inode(elsewhere / v2))
    assert after == before and (host.venvs / "history").read_text() == history
    assert (host.venvs / v2).is_symlink()
    (host.venvs / v2).unlink()
    os.rename(elsewhere / v2, host.venvs / v2)

    # -- (2) a garbled history: rebuilt from the host, said in the note --------------------
    (host.venvs / "history").write_text(f"{v1}\n{v2}\nfoo/bar\n")
    rerun = _ok(host.run(kits["v2"]))
    assert rerun.changed_tasks() == ["Record the venv that passed its smoke test."], (
        rerun.describe()
    )
    assert host.history() == [v1, v2] and host.current() == v2
    note = rerun.data["global_custom_stats"]["wheels"]["localhost"]["note"]
    assert (
        f"{host.venvs}/history line 3: 'foo/bar' is not a venv name, a damaged record: rebuilt "
        f"from the complete venvs on the host, oldest install first: {v1}, {v2}"
    ) in note, note

    # ... a history that is a symlink (to a file that lists the venvs), and a rolled-back
    # that is one too: neither read nor written through; the history rebuilt, rolled-back
    # ignored with a note
    other = tmp_path / "other-file"
    other.write_text(f"{v1}\n{v2}\n")
    (host.venvs / "history").unlink()
    (host.venvs / "history").symlink_to(other)
    (host.venvs / "rolled-back").symlink_to(other)
    linked = _ok(host.run(kits["v2"]))
    assert linked.changed_tasks() == ["Record the venv that passed its smoke test."], (
        linked.describe()
    )
    assert not (host.venvs / "history").is_symlink() and host.history() == [v1, v2]
    assert other.read_text() == f"{v1}\n{v2}\n"
    note = linked.data["global_custom_stats"]["wheels"]["localhost"]["note"]
    assert f"{host.venvs}/history is a symlink (not read), a damaged record: rebuilt" in note, note
    assert f"{host.venvs}/rolled-back is a symlink (not read): ignored" in note, note
    assert not any(
        name == "Read the record of the venvs that passed their smoke test." and "content" in res
        for name, res in linked.task_results()
    )
    (host.venvs / "rolled-back").unlink()

    # -- (3, 4) the record lost with a migrated venv and a venv of another lock's record ------
    legacy = host.venvs / "legacy"
    legacy.mkdir()
    (legacy / "pyvenv.cfg").write_text(f"home = {python36.parent}\n")
    odd = host.venvs / ("f" * 16)
    odd.mkdir()
    (odd / ".airgap-kit-venv").write_text("complete\n")
    shutil.copy(host.venvs / v1 / ".airgap-kit-installed", odd / ".airgap-kit-installed")
    (host.venvs / "history").unlink()
    lost = _ok(host.run(kits["v2"]))
    assert lost.changed_tasks() == ["Record the venv that passed its smoke test."], lost.describe()
    assert host.history() == ["legacy", v1, v2], host.history()
    assert host.on_disk() == sorted(["legacy", v1, v2, odd.name])


def _note(result: PlayResult) -> str:
    return str(result.data["global_custom_stats"]["wheels"]["localhost"]["note"])


def test_a_stopped_switch_a_lost_app_venv_and_records_in_the_way(
    tmp_path: Path, kits: dict[str, Path], python36: Path, python27: Path
) -> None:
    """#16 review rev16z. v1 and v2 deployed. (F1) the record is written after the switch; a
    run stopped between the two leaves a record without the running venv, which a rollback
    rebuilds before it goes back to v1. (F2) app_venv removed and the record garbled, or
    emptied: rebuilt from the host, no complete venv removed.
    (F6) app_venv dangling: a rollback is refused naming the link. (F3) --check --diff with a
    record linked to another file shows none of that file. (F5) a record that is a directory
    is refused before anything is written; a rolled-back that is one is left as it is."""
    host = Host(tmp_path, python36, python27)
    v1, v2 = _venv_name(kits["v1"]), _venv_name(kits["v2"])
    _ok(host.run(kits["v1"]))
    second = _ok(host.run(kits["v2"]))
    assert host.current() == v2 and host.history() == [v1, v2]

    # -- (F1) the record is written after the switch; stopped in between, rebuilt -----------
    order = [name for name, _ in second.task_results()]
    assert order.index("Switch app_venv to the venv.") < order.index(
        "Record the venv that passed its smoke test."
    ), order
    (host.venvs / "history").write_text(f"{v1}\n")  # as a run stopped after its switch leaves it
    back = _ok(host.run(kits["v2"], app_rollback=True))
    assert host.current() == v1 and host.history() == [v2, v1], back.describe()
    assert f"did not list the venv app_venv points to ({v2})" in _note(back), _note(back)
    assert host.on_disk() == sorted([v1, v2])

    # -- (F2) app_venv gone and the record garbled: rebuilt, v1 kept ------------------------
    host.app.unlink()
    (host.venvs / "history").write_text(f"{v1}\n{v2}\nfoo/bar\n")
    lost = _ok(host.run(kits["v2"]))
    assert host.current() == v2 and host.on_disk() == sorted([v1, v2]), lost.describe()
    assert host.history() == [v1, v2]
    assert (
        f"{host.venvs}/history line 3: 'foo/bar' is not a venv name, a damaged record: rebuilt "
        f"from the complete venvs on the host, oldest install first: {v1}, {v2}; no complete "
        "venv is removed in this run"
    ) in _note(lost), _note(lost)

    # ... and a record that lists no venv (comments only), app_venv gone (rev16y N2)
    host.app.unlink()
    (host.venvs / "history").write_text("# emptied by hand\n")
    empty = _ok(host.run(kits["v2"]))
    assert host.current() == v2 and host.on_disk() == sorted([v1, v2]), empty.describe()
    assert host.history() == [v1, v2]
    assert "is missing or lists no venv, and app_venv points to no venv of the role" in _note(
        empty
    ), _note(empty)

    # -- (F6) app_venv dangling: a rollback is refused, naming the link ---------------------
    host.app.unlink()
    host.app.symlink_to(host.venvs / ("0" * 16))
    dangling = host.run(kits["v2"], app_rollback=True)
    assert dangling.rc != 0, dangling.describe()
    (failure,) = dangling.failures()
    assert failure.startswith(
        f"Refuse a rollback on a host whose app_venv leads nowhere.: localhost: app_rollback: "
        f"{host.app} (app_venv) is a symlink to {host.venvs}/{'0' * 16}, which does not exist"
    ), failure
    assert os.readlink(host.app) == str(host.venvs / ("0" * 16))
    host.app.unlink()
    host.app.symlink_to(host.venvs / v2)

    # -- (F3) --check --diff never shows what a linked record leads to -----------------------
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-LINE\n")
    (host.venvs / "history").unlink()
    (host.venvs / "history").symlink_to(secret)
    check = host.run(kits["v2"], check=True)
    assert check.rc == 0, check.describe()
    assert "TOP-SECRET" not in check.stdout + check.stderr, check.stdout[-3000:]
    assert (host.venvs / "history").is_symlink() and secret.read_text() == "TOP-SECRET-LINE\n"
    (host.venvs / "history").unlink()
    (host.venvs / "history").write_text(f"{v1}\n{v2}\n")

    # -- (F5) a record that is a directory: refused, --check too; rolled-back: left ----------
    (host.venvs / "history").unlink()
    (host.venvs / "history").mkdir()
    for check_mode in (True, False):
        refused = host.run(kits["v2"], check=check_mode)
        assert refused.rc != 0, refused.describe()
        (failure,) = refused.failures()
        assert failure.startswith(
            f"Refuse a record of venvs that is a directory.: localhost: {host.venvs}/history is "
            "a directory"
        ), failure
    assert host.current() == v2 and (host.venvs / "history").is_dir()
    (host.venvs / "history").rmdir()
    (host.venvs / "history").write_text(f"{v1}\n{v2}\n")
    (host.venvs / "rolled-back").unlink()  # (F1's rollback wrote it)
    (host.venvs / "rolled-back").mkdir()
    rolled = _ok(host.run(kits["v2"], app_rollback=True))
    assert host.current() == v1 and host.history() == [v2, v1], rolled.describe()
    assert (host.venvs / "rolled-back").is_dir()
    assert f"{host.venvs}/rolled-back is not a regular file (not read): ignored" in _note(rolled), (
        _note(rolled)
    )

    # -- (F4) venvs half removed (pyvenv.cfg and marker gone): built afresh beside ----------
    for name in (".airgap-kit-venv", "pyvenv.cfg"):
        (host.venvs / v1 / name).unlink()
    refused = host.run(kits["v1"])
    assert refused.rc != 0, refused.describe()
    (failure,) = refused.failures()
    assert failure.startswith("Refuse to change the venv the application runs.: "), failure
    assert "exists and is not a virtual environment" in failure, failure
    repaired = _ok(host.run(kits["v1"], wheels_repair=True))
    assert host.current() == f"{v1}-1", repaired.describe()
    for name in (".airgap-kit-venv", "pyvenv.cfg"):
        (host.venvs / v2 / name).unlink()
    rebuilt = _ok(host.run(kits["v2"]))
    assert host.current() == f"{v2}-1", rebuilt.describe()
    assert _smoke_argv(rebuilt)[0] == str(host.venvs / f"{v2}-1" / "bin" / "python")
