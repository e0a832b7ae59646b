"""The file-name validator: PEP 427 / sdist names as plain base names, or BadFilename."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bundler.models.link import BadFilename, check_filename, path_in, try_parse_filename

DEST = Path("/nonexistent/dest")


@pytest.mark.parametrize(
    "name",
    [
        "alpha-1.0-1/../../../../PWNED-py3-none-any.whl",  # issue #10: a build tag with '/'
        "alpha-1.0-py3-none-any.zz/sub.whl",
        "alpha-1.0-1%2F..%2FPWNED-py3-none-any.whl",
        "..",
        ".hidden-1.0.tar.gz",
        "a\x00-1.0.tar.gz",
        "alpha-1.0-x1-py3-none-any.whl",  # a build tag must start with a digit (PEP 427)
        "a" * 300 + "-1.0.tar.gz",
    ],
)
def test_unsafe_or_malformed_names_are_refused(name: str) -> None:
    with pytest.raises(BadFilename):
        check_filename(name)
    assert try_parse_filename(name) is None


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("alpha-1.0-py3-none-any.whl", "wheel"),
        ("alpha-1.0-1b_x.2-py3-none-any.whl", "wheel"),
        ("torch-2.0.0+cpu-cp311-cp311-linux_x86_64.whl", "wheel"),
        ("opencv_python-4.2.0.34-cp36-cp36m-manylinux1_x86_64.whl", "wheel"),
        ("Foo_Bar-1.0.tar.gz", "sdist"),
        ("foo-1.0.zip", "sdist"),
        ("numpy-1.9.0.win32-py2.7.exe", None),
    ],
)
def test_valid_names(name: str, kind: str | None) -> None:
    assert check_filename(name) == kind


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=80) | st.text(alphabet="ab-1.0_py3noewhl/\\.%2F+!", max_size=60))
def test_any_name_is_a_base_name_in_dest_or_refused(name: str) -> None:
    try:
        kind = check_filename(name)
    except BadFilename:
        return
    path = path_in(DEST, name)
    assert path.parent == DEST and path.name == name
    assert kind in (None, "wheel", "sdist")
    parsed = try_parse_filename(name)
    assert parsed is None or kind is not None


def test_a_wheel_file_name_is_parsed_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Name and version, the tags a target ranks and the pip it installs with, and the build
    tag the resolver orders by all come from one `parse_wheel_filename` (#17 phase 3)."""
    import packaging.utils

    from bundler.models import link
    from bundler.models.target import Target

    calls: list[str] = []  # packaging's parse_wheel_filename parses the tags with this
    real = packaging.utils.parse_tag
    monkeypatch.setattr(
        packaging.utils, "parse_tag", lambda t, **kw: calls.append(t) or real(t, **kw)
    )
    name = "once_only-1.0-2-cp36-cp36m-manylinux1_x86_64.whl"  # unique: not memoised yet
    target = Target.from_spec("3.6", "manylinux1")
    assert link.parse_filename(name)[0] == "once-only"
    assert target.wheel_rank(name) is not None and target.installer_reads(name)
    assert target.wheel_rank(name) == target.wheel_rank(name)
    assert link.wheel_parts(name) is not None and link.wheel_parts(name)[2] == (2, "")  # type: ignore[index]
    assert calls == ["cp36-cp36m-manylinux1_x86_64"]
    assert link.wheel_parts("not-a-wheel.whl") is None
