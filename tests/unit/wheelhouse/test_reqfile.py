"""reqfile.py: requirements from the command line and pip requirements files, with --hash."""

from __future__ import annotations

from hashlib import sha256
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bundler.errors import BadInput, HashMismatch, RequirementError
from bundler.wheelhouse import lockfile, reqfile

H1, H2, H3 = "a" * 64, "b" * 64, "c" * 64


def read(tmp_path: Path, text: str, *args: str) -> reqfile.RequirementSet:
    path = tmp_path / "r.txt"
    path.write_text(text)
    return reqfile.read(list(args), [path])


def test_read_requirements_from_files(tmp_path: Path) -> None:
    (tmp_path / "base.txt").write_text("six>=1  # comment\n\n# only a comment\nnumpy \\\n  <2\n")
    (tmp_path / "req.txt").write_text("-r base.txt\nopencv-python[extra]==4.2.0.34\n")
    (tmp_path / "more.txt").write_text("--requirement=base.txt\n-rbase.txt\n")
    got = reqfile.read(["click"], [tmp_path / "req.txt"])
    assert [str(r) for r in got.requirements] == [
        "click",
        "six>=1",
        "numpy<2",
        "opencv-python[extra]==4.2.0.34",
    ]
    assert [x.where for x in got.lines] == [
        "command line",
        f"{tmp_path / 'base.txt'}:1",
        f"{tmp_path / 'base.txt'}:4",
        f"{tmp_path / 'req.txt'}:2",
    ]
    assert not got.hash_mode
    assert len(reqfile.read([], [tmp_path / "more.txt"]).lines) == 4


@pytest.mark.parametrize(
    ("line", "error", "message"),
    [
        ("foo>>>1", RequirementError, "malformed requirement 'foo>>>1'"),
        ("foo @ https://example.invalid/foo.whl", RequirementError, "direct URL"),
        ("--index-url http://x", BadInput, r"r\.txt:1: option '--index-url' is not supported"),
        ("foo==1 --install-option=x", BadInput, "option '--install-option' is not supported"),
        ("foo==1 --hash=md5:abc", BadInput, r"--hash=md5:\.\.\. is not supported"),
        ("foo==1 --hash=sha256:abc", BadInput, "malformed --hash 'sha256:abc'"),
    ],
)
def test_bad_requirement_lines(
    tmp_path: Path, line: str, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        read(tmp_path, line + "\n")


def test_requirement_file_loop_and_missing_file(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("-r a.txt\n")
    with pytest.raises(BadInput, match="includes itself"):
        reqfile.read([], [tmp_path / "a.txt"])
    with pytest.raises(BadInput, match="cannot read requirements file"):
        reqfile.read([], [tmp_path / "missing.txt"])


def test_hashes_in_every_form_pip_accepts(tmp_path: Path) -> None:
    """pip-compile's layout (continuation lines), several on one line, the `--hash X` form."""
    got = read(
        tmp_path,
        f"# header\nsix==1.16.0 \\\n    --hash=sha256:{H1} \\\n    --hash=sha256:{H2}\n"
        "    # via\n    #   app\n"
        f"Tiny_Pkg==0.3 --hash=sha256:{H3} --hash sha256:{H1.upper()}\n"
        f"mark==1.0 ; python_version < '3.7' --hash=sha256:{H2}\n",
    )
    assert got.hash_mode
    assert got.hashes() == {
        "six": frozenset({H1, H2}),
        "tiny-pkg": frozenset({H3, H1}),
        "mark": frozenset({H2}),
    }
    assert str(got.lines[2].requirement) == 'mark==1.0; python_version < "3.7"'
    assert got.lines[1].where.endswith("r.txt:7")


def test_require_hashes_missing_hash_on_one_line(tmp_path: Path) -> None:
    with pytest.raises(RequirementError, match=r"r\.txt:2: tiny==0\.3 has no --hash"):
        read(tmp_path, f"six==1.16.0 --hash=sha256:{H1}\ntiny==0.3\n")


def test_require_hashes_needs_exact_pins(tmp_path: Path) -> None:
    with pytest.raises(RequirementError, match=r"r\.txt:1: six>=1 is not pinned with =="):
        read(tmp_path, f"six>=1 --hash=sha256:{H1}\n")
    with pytest.raises(RequirementError, match=r"r\.txt:1: six==1\.\* is not pinned"):
        read(tmp_path, f"six==1.* --hash=sha256:{H1}\n")


def test_require_hashes_covers_the_command_line_and_the_option(tmp_path: Path) -> None:
    with pytest.raises(RequirementError, match=r"command line: click==8\.0 has no --hash"):
        read(tmp_path, f"six==1.16.0 --hash=sha256:{H1}\n", "click==8.0")
    with pytest.raises(RequirementError, match=r"r\.txt:2: six==1 has no --hash"):
        read(tmp_path, "--require-hashes\nsix==1\n")


def test_check_file_names_file_line_expected_and_got(tmp_path: Path) -> None:
    got = read(tmp_path, f"\nsix==1.16.0 --hash=sha256:{H2} --hash=sha256:{H1}\n")
    got.check_file("six", "1.16.0", "six-1.16.0-py3-none-any.whl", H1)  # matches
    got.check_file("other", "1.0", "other-1.0-py3-none-any.whl", H3)  # not hash-checked
    with pytest.raises(HashMismatch) as err:
        got.check_file("six", "1.16.0", "six-1.16.0-py3-none-any.whl", H3)
    assert str(err.value) == (
        f"{tmp_path / 'r.txt'}:2: six==1.16.0: six-1.16.0-py3-none-any.whl has sha256:{H3}, "
        f"expected sha256:{H1}, sha256:{H2}"
    )
    assert err.value.fields() == {"where": f"{tmp_path / 'r.txt'}:2", "expected": [H1, H2],
                                  "filename": "six-1.16.0-py3-none-any.whl", "got": H3}  # fmt: skip
    with pytest.raises(
        RequirementError, match=r"tiny \(required by app\) is not listed with --hash"
    ):
        got.check_listed("tiny", "app")


_alnum = st.text("abcXYZ019", min_size=1, max_size=6)
names = st.builds("{}{}{}".format, _alnum, st.sampled_from(["", ".", "_", "-"]), _alnum)
versions = st.lists(st.integers(0, 999), min_size=1, max_size=4).map(
    lambda parts: ".".join(map(str, parts))
)
digests = st.lists(st.binary(min_size=1, max_size=8).map(lambda b: sha256(b).hexdigest()),
                   min_size=1, max_size=3)  # fmt: skip


@given(
    entries=st.dictionaries(names, st.tuples(versions, digests, st.lists(names, max_size=3))),
    header=st.text(st.characters(categories=["L", "N", "Zs"]), max_size=40),
)
def test_any_lock_the_kit_writes_reads_back_as_hashed_pins(
    entries: dict[str, tuple[str, list[str], list[str]]], header: str
) -> None:
    """lockfile.render output (pip-compile's layout) is a valid hashed -r file."""
    by_name = {}
    for name, (version, hashes, via) in entries.items():
        by_name.setdefault(
            name.lower().replace("_", "-").replace(".", "-"), (name, version, hashes, via)
        )
    locks = [lockfile.LockEntry(n, v, tuple(h), tuple(via)) for n, v, h, via in by_name.values()]
    text = lockfile.render(locks, header)
    lines = list(reqfile.logical_lines(text))
    parsed = [reqfile.parse_line(line, f"lock:{n}") for n, line in lines]
    got = {(str(p.requirement), p.hashes) for p in parsed}
    assert got == {(f"{e.name}=={e.version}", frozenset(e.hashes)) for e in locks}
    assert all(p.pinned for p in parsed)
