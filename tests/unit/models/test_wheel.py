"""bundler.models.wheel: a wheel whose members point outside the install root is refused."""

from __future__ import annotations

import os
import stat
import subprocess
import zipfile
from pathlib import Path, PurePosixPath

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bundler.models.wheel import UnsafeWheel, check_wheel_members, member_problem
from tests.unit.kit.handmade_kit import make_wheel


def add_member(wheel: Path, name: str, data: bytes = b"x\n", mode: int | None = None) -> Path:
    """Append one member to `wheel` (with `mode` in its external_attr when given)."""
    with zipfile.ZipFile(wheel, "a") as zf:
        info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
        if mode is not None:
            info.external_attr = mode << 16
        zf.writestr(info, data)
    return wheel


def test_a_plain_wheel_passes(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path, "demo", "1.0")
    add_member(wheel, "demo-1.0.data/scripts/demo", b"#!python\n", stat.S_IFREG | 0o755)
    add_member(wheel, "demo/sub/", b"", stat.S_IFDIR | 0o755)
    assert check_wheel_members(wheel) is None


@pytest.mark.parametrize(
    ("member", "mode", "reason"),
    [
        ("../../etc/cron.d/x", None, "has a '..' component"),
        ("demo/../../x", None, "has a '..' component"),
        ("/etc/cron.d/x", None, "is an absolute path"),
        ("\\windows\\x", None, "is an absolute path"),
        ("demo\\..\\..\\x", None, "has a '..' component"),
        ("demo/link", stat.S_IFLNK | 0o777, "is a symbolic link"),
        ("demo/fifo", stat.S_IFIFO | 0o644, "is not a regular file or a directory"),
    ],
)
def test_a_member_outside_the_root_is_refused_naming_wheel_and_member(
    tmp_path: Path, member: str, mode: int | None, reason: str
) -> None:
    wheel = add_member(make_wheel(tmp_path, "demo", "1.0"), member, b"/etc/passwd", mode)
    with pytest.raises(UnsafeWheel) as exc:
        check_wheel_members(wheel)
    assert str(exc.value) == f"demo-1.0-py3-none-any.whl: member {member!r} {reason}" + (
        exc.value.reason.removeprefix(reason)
    )
    assert exc.value.reason.startswith(reason) and exc.value.reason.endswith(": refused")
    assert exc.value.member == member and exc.value.wheel == wheel.name
    assert "\n" not in str(exc.value)


def test_not_a_zip_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "demo-1.0-py3-none-any.whl"
    bad.write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(UnsafeWheel, match=r"^shown\.whl: not a readable wheel"):
        check_wheel_members(bad, name="shown.whl")


@settings(max_examples=300, deadline=None)
@given(name=st.text(min_size=1, max_size=40), mode=st.integers(0, 0xFFFF))
def test_any_member_name_either_stays_inside_or_is_refused(name: str, mode: int) -> None:
    info = zipfile.ZipInfo("x")
    info.filename = name  # as a hostile zip's central directory may spell it
    info.external_attr = mode << 16
    if member_problem(info) is None:
        root = PurePosixPath("/site-packages")
        joined = os.path.normpath(os.path.join(str(root), name.replace("\\", "/")))
        assert joined == str(root) or joined.startswith(str(root) + "/"), name
        assert not stat.S_ISLNK(mode)


def test_the_targets_pip_would_write_such_members_anywhere(tmp_path: Path, python36: Path) -> None:
    """Why the kit refuses them itself: pip 18.1 (CPython 3.6.15's bundled pip) installs a
    wheel whose members are `../../...` or absolute and writes those files outside."""
    outside = tmp_path / "outside"
    outside.mkdir()
    depth = "../" * (len(tmp_path.parts) + 4)
    wheel = make_wheel(tmp_path / "w", "demo", "1.0")
    add_member(wheel, f"{depth}{str(outside / 'dotdot').lstrip('/')}")
    add_member(wheel, str(outside / "absolute"))
    with pytest.raises(UnsafeWheel):
        check_wheel_members(wheel)
    env = {**os.environ, "PIP_CONFIG_FILE": os.devnull, "PIP_NO_INDEX": "1"}
    env.pop("PYTHONPATH", None)
    run = subprocess.run(
        [str(python36), "-I", "-m", "pip", "--version"], capture_output=True, text=True, env=env
    )
    assert run.stdout.startswith("pip 18.1 "), run.stdout + run.stderr
    run = subprocess.run(
        [str(python36), "-I", "-m", "pip", "install", "--no-deps", "--disable-pip-version-check",
         "--target", str(tmp_path / "target"), str(wheel)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    assert sorted(p.name for p in outside.iterdir()) == ["absolute", "dotdot"]


def _problem_by_paths(info: zipfile.ZipInfo) -> str | None:
    """member_problem as it was written before #17 phase 5, with two PurePosixPath per member:
    the reference the string tests must agree with."""
    name = info.filename
    if "\x00" in name:
        return "has a NUL byte in its name"
    if name.startswith(("/", "\\")) or PurePosixPath(name).is_absolute():
        return "is an absolute path (it would install outside site-packages)"
    if ".." in PurePosixPath(name.replace("\\", "/")).parts:
        return "has a '..' component (it would install outside site-packages)"
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        return "is a symbolic link"
    if mode and stat.S_IFMT(mode) and not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        return "is not a regular file or a directory"
    return None


_PIECES = st.sampled_from(["a", ".", "..", "...", "/", "//", "\\", "\x00", "é", " ", "a.."])


@settings(max_examples=500, deadline=None)
@given(
    name=st.one_of(st.lists(_PIECES, max_size=12).map("".join), st.text(max_size=30)),
    mode=st.integers(0, 0xFFFF),
)
def test_the_string_tests_refuse_exactly_what_the_path_tests_refused(name: str, mode: int) -> None:
    info = zipfile.ZipInfo("x")
    info.filename = name
    info.external_attr = mode << 16
    assert member_problem(info) == _problem_by_paths(info), name
