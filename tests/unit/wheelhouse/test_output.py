"""output.py: which `-o` folders a fetch may replace (only an empty one or a wheelhouse the kit
wrote), and that anything else is refused even with --replace."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bundler.errors import BadInput
from bundler.models import manifest
from bundler.models.target import Target
from bundler.wheelhouse.output import (
    WHEELHOUSE_FILES,
    NotAWheelhouse,
    OtherTarget,
    check_cache,
    check_output,
    recognise,
)
from tests.unit.models.test_manifest import TARGET, valid

T38 = Target.from_spec("3.8", "manylinux2014")


def _wheelhouse(directory: Path, target: Target = TARGET) -> Path:
    """A wheelhouse as a fetch leaves it: a schema-valid manifest and the files it names."""
    directory.mkdir(parents=True, exist_ok=True)
    data = valid()
    data["target"] = target.to_dict()
    (directory / manifest.FILENAME).write_text(json.dumps(data))
    for p in data["packages"]:
        (directory / p["filename"]).write_bytes(b"wheel")
    for name in ("requirements.lock", "install.sh", "pylock.toml", "system-packages.yml"):
        (directory / name).write_text("x")
    return directory


def test_an_absent_or_empty_folder_or_one_with_placeholders_may_be_filled(tmp_path: Path) -> None:
    check_output(tmp_path / "absent", TARGET)
    (tmp_path / "empty").mkdir()
    check_output(tmp_path / "empty", TARGET)
    (tmp_path / "empty" / ".gitkeep").write_text("")
    (tmp_path / "empty" / ".empty.stage-abc123").mkdir()  # a live run's work directory
    check_output(tmp_path / "empty", TARGET)


def test_a_file_is_not_an_output_folder(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    with pytest.raises(BadInput, match="exists and is not a directory"):
        check_output(tmp_path / "f", TARGET)


def test_another_tools_manifest_json_is_not_a_wheelhouse_even_with_replace(tmp_path: Path) -> None:
    """The review's reproduction: a project folder with a manifest.json of its own."""
    proj = tmp_path / "proj"
    (proj / "src").mkdir(parents=True)
    (proj / "manifest.json").write_text('{"manifest_version":3}\n')
    (proj / "src" / "main.js").write_text("x\n")
    for replace in (False, True):
        with pytest.raises(NotAWheelhouse) as err:
            check_output(proj, TARGET, replace=replace)
        message = str(err.value)
        assert "not a wheelhouse (manifest.json: not an airgap-kit manifest)" in message
        assert "even with --replace" in message and "\n" not in message
        assert "holds a wheelhouse" not in message


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda d: (d / "notes.txt").write_text("mine"), "notes.txt is not a file a fetch writes"),
        (lambda d: (d / "src").mkdir(), "src is not a file a fetch writes"),
        (lambda d: (d / ".gitkeep").mkdir(), r"\.gitkeep is not a file a fetch writes"),
        (
            lambda d: ((d / "install.sh").unlink(), (d / "install.sh").mkdir()),
            "install.sh is not a regular file",
        ),
        (
            lambda d: ((d / "pylock.toml").unlink(), (d / "pylock.toml").symlink_to("/etc/passwd")),
            "pylock.toml is not a regular file",
        ),
        (lambda d: (d / "manifest.json").write_text("{}"), "manifest.json: not an airgap-kit"),
        (
            lambda d: (d / "manifest.json").write_text(
                json.dumps({**valid(), "packages": "all of them"})
            ),
            "manifest.json: packages: expected array",
        ),
        (lambda d: (d / "manifest.json").unlink(), "no manifest.json"),
    ],
)
def test_a_wheelhouse_with_anything_the_kit_did_not_write_is_refused(
    tmp_path: Path, change: object, reason: str
) -> None:
    wh = _wheelhouse(tmp_path / "wh")
    change(wh)  # type: ignore[operator]
    with pytest.raises(NotAWheelhouse, match=reason):
        check_output(wh, TARGET, replace=True)


def test_a_wheelhouse_for_this_target_is_recognised(tmp_path: Path) -> None:
    wh = _wheelhouse(tmp_path / "wh")
    (wh / ".gitignore").write_text("*\n")
    (wh / "lib-2.0-py3-none-any.whl").unlink()  # a missing wheel: still only the kit's files
    assert recognise(wh).target == TARGET
    check_output(wh, TARGET)


def test_another_targets_wheelhouse_needs_replace(tmp_path: Path) -> None:
    wh = _wheelhouse(tmp_path / "wh")
    with pytest.raises(OtherTarget, match=r"holds a wheelhouse for CPython 3\.6\.15 .*3\.8"):
        check_output(wh, T38)
    check_output(wh, T38, replace=True)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    names=st.lists(
        st.sampled_from(
            [
                *sorted(WHEELHOUSE_FILES),
                "app-1.0-py3-none-any.whl",
                "x.whl",
                "a.txt",
                ".gitkeep",
                "lost+found",
                "sub",
            ]
        ),
        unique=True,
        max_size=8,
    ),
    dirs=st.sets(st.integers(0, 7), max_size=3),
)
def test_whatever_a_folder_holds_replace_never_loses_a_file_the_kit_did_not_write(
    tmp_path_factory: pytest.TempPathFactory, names: list[str], dirs: set[int]
) -> None:
    """Property: when check_output lets a fetch replace the folder (even with --replace),
    every entry is a regular file the kit writes (or a placeholder the fetch keeps)."""
    folder = tmp_path_factory.mktemp("out")
    _wheelhouse(folder)
    for p in list(folder.iterdir()):
        if p.name not in names:
            p.unlink()
    for i, name in enumerate(names):
        path = folder / name
        if i in dirs and not path.exists():
            path.mkdir()
        elif not path.exists():
            path.write_text("user's")
    try:
        check_output(folder, T38, replace=True)
    except BadInput:
        return
    kit_files = WHEELHOUSE_FILES | {"app-1.0-py3-none-any.whl", "lib-2.0-py3-none-any.whl"}
    for entry in os.scandir(folder):
        assert entry.is_file(follow_symlinks=False), entry.name
        assert entry.name in kit_files | {".gitkeep"}, entry.name


def test_a_cache_at_or_inside_the_output_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "wh"
    with pytest.raises(BadInput, match=r"--cache-dir .*/wh is -o .*/wh: a fetch replaces -o"):
        check_cache(out, out)
    with pytest.raises(BadInput, match=r"--cache-dir .*/wh/cache lies inside -o .*/wh"):
        check_cache(out, out / "cache")
    (tmp_path / "link").symlink_to(out)  # the same place through a link
    out.mkdir()
    with pytest.raises(BadInput, match="lies inside"):
        check_cache(out, tmp_path / "link" / "c")
    check_cache(out, tmp_path / "cache")
    check_cache(out, tmp_path / "wh2")  # a sibling whose name starts the same
    check_cache(out / "sub", out)  # -o inside the cache: the cache is not replaced


def test_the_audits_and_the_gates_files_are_wheelhouse_files() -> None:
    from bundler.audit.report import SYSTEM_PACKAGES_FILE
    from bundler.gate.snapshot import FILENAME

    assert {SYSTEM_PACKAGES_FILE, FILENAME} <= WHEELHOUSE_FILES
