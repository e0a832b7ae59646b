"""The wheels role's venv bookkeeping filters (roles/wheels/filter_plugins/wheels_venvs.py)."""

from __future__ import annotations

import importlib.util
import string
import subprocess
from pathlib import Path
from types import ModuleType

import pytest
from ansible.errors import AnsibleFilterError
from hypothesis import given
from hypothesis import strategies as st

PLUGIN = (
    Path(__file__).resolve().parents[3] / "playbooks/roles/wheels/filter_plugins/wheels_venvs.py"
)


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("wheels_venvs", PLUGIN)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


wv = _load()
V1, V2, V3, V4 = ("1" * 16, "2" * 16, "3" * 16, "4" * 16)
ids = st.text(alphabet="0123456789abcdef", min_size=16, max_size=16)
names = st.one_of(
    st.just("legacy"), ids, st.builds(lambda i, n: f"{i}-{n}", ids, st.integers(1, 9999))
)


def test_filters_are_registered_under_role_prefixed_names() -> None:
    filters = wv.FilterModule().filters()
    assert sorted(filters) == sorted(
        f"wheels_{n}"
        for n in ("venv_history", "history_push", "render_history", "rollback_target",
                  "retired", "venv_name", "kit_id", "repair_name", "layout_problem",
                  "render_rolled_back", "dest_problem", "realpath_argv",
                  "real_layout_problem", "rebuilt_history", "history_problem",
                  "venv_entry_problems", "installed_pattern", "switched_history")
    )  # fmt: skip
    assert all(name.startswith("wheels_") for name in filters)


@given(st.lists(names, max_size=8))
def test_history_round_trips_through_its_text(history: list[str]) -> None:
    unique = list(dict.fromkeys(reversed(history)))[::-1]  # the newest place of each wins
    assert wv.venv_history(wv.render_history(history)) == unique
    assert wv.venv_history(wv.render_history(unique)) == unique


def test_history_keeps_the_newest_place_of_a_repeated_name() -> None:
    assert wv.venv_history(f"# c\n{V1}\n\n{V2}\n {V1} \n") == [V2, V1]


ONE_LINE = string.ascii_letters + string.digits + string.punctuation + " \t"


@given(st.text(alphabet=ONE_LINE, min_size=1, max_size=30))
def test_history_refuses_any_line_that_is_not_a_venv_name(line: str) -> None:
    stripped = line.strip()
    if not stripped or stripped.startswith("#"):
        return
    if wv.VENV_NAME.match(stripped):
        assert wv.venv_history(line) == [stripped]
        return
    with pytest.raises(AnsibleFilterError, match="host:/opt/venvs/history line 2"):
        wv.venv_history(f"{V1}\n{line}\n", "host:/opt/venvs/history")


def test_push_moves_names_to_the_end_in_order() -> None:
    assert wv.history_push([V1, V2, V3], [V1]) == [V2, V3, V1]
    assert wv.history_push([V1], ["legacy", V2]) == [V1, "legacy", V2]
    assert wv.history_push([V1, V2], ["", V2]) == [V1, V2]


def test_rollback_target_is_the_newest_other_venv_still_on_the_host() -> None:
    history = [V1, V2, V3]
    assert wv.rollback_target(history, V3, [V1, V2, V3]) == V2
    assert wv.rollback_target(history, V3, [V1, V3]) == V1  # V2 removed by hand
    assert wv.rollback_target(history, V3, [V3]) == ""
    assert wv.rollback_target([V1, V3, V2], V2, [V1, V2, V3]) == V3  # after a rollback to V2
    assert wv.rollback_target([], V1, [V1]) == ""


def test_retired_keeps_the_newest_recorded_and_the_current_one() -> None:
    on_host = [V1, V2, V3, V4, "legacy"]
    history = ["legacy", V1, V2, V3]
    assert wv.retired(on_host, history, V3, 2) == sorted(["legacy", V1, V4])
    assert wv.retired(on_host, history, V3, "3") == sorted(["legacy", V4])
    # never fewer than the current and the previous one
    assert wv.retired(on_host, history, V3, 1) == sorted(["legacy", V1, V4])
    # the current venv is kept even when the record does not list it
    assert wv.retired([V1, V2, V4], [V1, V2], V4, 2) == []
    # names the role does not make are never removed
    assert wv.retired(["data", V1], [V1], V1, 2) == []
    with pytest.raises(AnsibleFilterError, match="wheels_keep_venvs"):
        wv.retired(on_host, history, V3, "two")


@given(st.lists(names, max_size=6), st.lists(names, max_size=6), names, st.integers(0, 5))
def test_retired_never_removes_the_current_or_the_previous_venv(
    on_host: list[str], history: list[str], current: str, keep: int
) -> None:
    gone = wv.retired(on_host, history, current, keep)
    assert current not in gone
    previous = wv.rollback_target(history, current, on_host)
    assert previous not in gone
    assert set(gone) <= set(on_host)


def test_venv_name_only_for_a_venv_of_the_venvs_dir() -> None:
    assert wv.venv_name(f"/opt/a/venvs/{V1}", "/opt/a/venvs") == V1
    assert wv.venv_name(f"/opt/a/venvs/{V1}/", "/opt/a/venvs/") == V1
    assert wv.venv_name("/opt/a/venvs/legacy", "/opt/a/venvs") == "legacy"
    assert wv.venv_name(f"/elsewhere/{V1}", "/opt/a/venvs") == ""
    assert wv.venv_name("/opt/a/venvs/mine", "/opt/a/venvs") == ""
    assert wv.venv_name("", "/opt/a/venvs") == ""


def test_a_repaired_venv_is_named_after_its_kit_and_never_reuses_a_name() -> None:
    assert wv.kit_id(f"{V1}-2") == V1 and wv.kit_id(V1) == V1 and wv.kit_id("legacy") == "legacy"
    assert wv.repair_name(V1, [V1, V2], V1) == f"{V1}-1"
    assert wv.repair_name(V1, [V1, f"{V1}-1"], f"{V1}-1") == f"{V1}-2"
    assert wv.repair_name(f"{V1}-2", [f"{V1}-1"], f"{V1}-2", [f"{V1}-1"]) == f"{V1}-3"
    assert wv.venv_history(f"{V1}\n{V1}-3\n") == [V1, f"{V1}-3"]
    assert wv.venv_name(f"/o/venvs/{V1}-12", "/o/venvs") == f"{V1}-12"
    for bad in (f"{V1}-0", f"{V1}-", f"{V1}-x", f"{V1}-12345"):
        assert wv.venv_name(f"/o/venvs/{bad}", "/o/venvs") == ""


def test_rollback_never_returns_to_a_venv_of_the_same_kit() -> None:
    """A repaired venv (ID-N) and the damaged one it replaced (ID) are the same kit."""
    assert wv.rollback_target([V1, V2, f"{V2}-1"], f"{V2}-1", [V1, V2, f"{V2}-1"]) == V1
    assert wv.rollback_target([V2, f"{V2}-1"], V2, [V2, f"{V2}-1"]) == ""


def test_retired_keeps_the_venv_that_ran_before_the_run_whatever_the_record() -> None:
    """#16 finding 3: the record lost, v1 running, v2 deployed: v1 stays."""
    assert wv.retired([V1, V2], [V2], V2, 2, [V1]) == []
    assert wv.retired([V1, V2, V3], [V2, V3], V3, 2, [V1]) == []
    assert wv.retired([V1, V2, V3], [V2, V3], V3, 2, [""]) == [V1]


@pytest.mark.parametrize(
    ("app", "venvs", "problem"),
    [
        ("/x/app", "/x/venvs", ""),
        ("/x/app/", "/x/app/venvs", "app_venv '/x/app/' ends with '/'"),
        ("/x/venvs", "/x/venvs", "is the venvs directory (wheels_venvs_dir) itself"),
        ("/x/venvs/", "/x/venvs", "ends with '/'"),
        ("/x/venvs/app", "/x/venvs", "app_venv '/x/venvs/app' lies inside the venvs directory"),
        ("/x/app", "/x/app/sub/venvs", "wheels_venvs_dir '/x/app/sub/venvs' lies inside app_venv"),
        ("/x//venvs", "/x/venvs", "is the venvs directory"),
        ("app", "/x/venvs", "app_venv 'app' is not an absolute path"),
        ("/x/app", "venvs", "wheels_venvs_dir 'venvs' is not an absolute path"),
        ("/x/application", "/x/app", ""),
        ("/x/app", "/x/app/../venvs2", "wheels_venvs_dir '/x/app/../venvs2' is not written in"),
        ("/x/./app", "/x/venvs", "app_venv '/x/./app' is not written in normal form"),
        ("/x/app", "//x/venvs", "wheels_venvs_dir '//x/venvs' is not written in normal form"),
    ],
)
def test_layout_problem_names_the_setting(app: str, venvs: str, problem: str) -> None:
    got = wv.layout_problem(app, venvs)
    assert (problem in got and bool(got)) if problem else got == "", got


def test_rolled_back_record_reads_back() -> None:
    assert wv.venv_history(wv.render_rolled_back([V2, f"{V3}-1"])) == [V2, f"{V3}-1"]


def test_a_repair_never_pushes_the_previous_kit_out() -> None:
    """#16 second review finding 2: v1 then v2 ran, v2 was repaired (v2-1): with keep=2, v1
    (the rollback target) stays; v2 (damaged) stays while it is the venv that ran before the
    run, and goes on the next run; a kit's older repair goes too."""
    on_host = [V1, V2, f"{V2}-1"]
    history = [V1, V2, f"{V2}-1"]
    assert wv.retired(on_host, history, f"{V2}-1", 2, [V2]) == []
    assert wv.retired(on_host, history, f"{V2}-1", 2, [f"{V2}-1"]) == [V2]
    assert wv.rollback_target(history, f"{V2}-1", on_host) == V1
    many = [V1, V2, f"{V2}-1", f"{V2}-2", V3]
    assert wv.retired(many, many, V3, 2, [V3]) == sorted([V1, V2, f"{V2}-1"])
    assert wv.retired(many, many, V3, 3, [V3]) == sorted([V2, f"{V2}-1"])


@pytest.mark.parametrize(
    ("dest", "app", "venvs", "problem"),
    [
        ("/opt/kit/wheelhouse", "/opt/asciivideo/app", "/opt/asciivideo/venvs", ""),
        ("/opt", "/opt/app", "/opt/venvs", "app_venv '/opt/app' lies inside wheels_dest '/opt'"),
        ("/h/venvs", "/h/app", "/h/venvs", "wheels_dest '/h/venvs' is wheels_venvs_dir '/h/venvs'"),
        ("/h/app/wh", "/h/app", "/h/venvs", "wheels_dest '/h/app/wh' lies inside app_venv"),
        ("/h/venvs/wh", "/h/app", "/h/venvs", "lies inside wheels_venvs_dir '/h/venvs'"),
        ("/h/a", "/h/a/venv", "/h/a/venvs", "app_venv '/h/a/venv' lies inside wheels_dest"),
        ("/h//app/", "/h/app", "/h/venvs", "wheels_dest '/h//app/' is app_venv '/h/app'"),
        ("/h/app-wheels", "/h/app", "/h/venvs", ""),
        ("wh", "/h/app", "/h/venvs", "wheels_dest 'wh' is not an absolute path"),
        # the pruning compares wheels_dest ~ '/' ~ file with what find prints (#16 verification
        # review, 2: each spelling below had every file of the copy pruned)
        ("/h/wh/", "/h/app", "/h/venvs", "wheels_dest '/h/wh/' is not written in normal form"),
        ("/h//wh2", "/h/app", "/h/venvs", "wheels_dest '/h//wh2' is not written in normal form"),
        ("/h/./wh3", "/h/app", "/h/venvs", "give it without '..', '.', '//' or a trailing '/'"),
    ],
)
def test_dest_problem_names_both_settings(dest: str, app: str, venvs: str, problem: str) -> None:
    """#16 second review finding 1: a wheels_dest holding the venvs had their files pruned."""
    got = wv.dest_problem(dest, app, venvs)
    assert (problem in got and bool(got)) if problem else got == "", got


@pytest.fixture
def layout(tmp_path: Path) -> Path:
    """A host's tree: T/venvs/ID (a venv), T/app -> T/venvs/ID (the app link, absolute),
    T/to-venvs -> T/venvs (a symlinked folder), T/via -> T (a symlinked parent)."""
    (tmp_path / "venvs" / V1).mkdir(parents=True)
    (tmp_path / "app").symlink_to(tmp_path / "venvs" / V1)
    (tmp_path / "to-venvs").symlink_to(tmp_path / "venvs")
    (tmp_path / "via").symlink_to(tmp_path)
    return tmp_path


def _real_problem(dest: str, app: str, venvs: str) -> str:
    """real_layout_problem on what the role's probe (realpath_argv, run here) prints."""
    probe = subprocess.run(wv.realpath_argv(dest, app, venvs), capture_output=True, text=True)
    assert probe.returncode == 0, probe.stderr
    return str(wv.real_layout_problem(probe.stdout.splitlines(), dest, app, venvs))


@pytest.mark.parametrize(
    ("dest", "app", "venvs", "problem"),
    [
        # a symlinked folder: wheels_dest names the venvs directory through a link
        (
            "{t}/to-venvs",
            "{t}/app",
            "{t}/venvs",
            "wheels_dest '{t}/to-venvs' (on the host {t}/venvs) is wheels_venvs_dir",
        ),
        # '//x' (POSIX may give it its own meaning; Linux resolves it to /x)
        (
            "/{t}/venvs/wh",
            "{t}/app",
            "{t}/venvs",
            "lies inside wheels_venvs_dir '{t}/venvs' (on the host {t}/venvs)",
        ),
        # a trailing slash on a link
        ("{t}/to-venvs/", "{t}/app", "{t}/venvs", "is wheels_venvs_dir '{t}/venvs'"),
        # '..' through the app link: {t}/app/.. is {t}/venvs on the host
        (
            "{t}/app/../wh",
            "{t}/app",
            "{t}/venvs",
            "wheels_dest '{t}/app/../wh' (on the host {t}/venvs/wh) lies inside wheels_venvs_dir",
        ),
        # inside the venv the app link points to: its files would be pruned
        (
            "{t}/app/wh",
            "{t}/app",
            "{t}/venvs",
            "(on the host {t}/venvs/{v1}/wh) lies inside wheels_venvs_dir",
        ),
        # a symlinked parent of app_venv puts the link inside the venvs directory
        (
            "{t}/wh",
            "{t}/to-venvs/app2",
            "{t}/venvs",
            "app_venv '{t}/to-venvs/app2' (on the host {t}/venvs/app2) lies inside",
        ),
        # the venvs directory spelled through a symlinked parent is still the same directory
        ("{t}/via/venvs/wh", "{t}/app", "{t}/venvs", "lies inside wheels_venvs_dir"),
        # paths that do not exist yet, resolved from their nearest existing parent
        ("{t}/new/../to-venvs/x", "{t}/app", "{t}/venvs", "(on the host {t}/venvs/x) lies inside"),
        # the usual layout: the app link points into the venvs directory, no overlap
        ("{t}/wheelhouse", "{t}/app", "{t}/venvs", ""),
        ("{t}/via/wheelhouse", "{t}/via/app", "{t}/via/venvs", ""),
        ("{t}/not-yet/wheelhouse", "{t}/not-yet/app", "{t}/not-yet/venvs", ""),
    ],
)
def test_real_layout_problem_sees_through_each_spelling(
    layout: Path, dest: str, app: str, venvs: str, problem: str
) -> None:
    """#16 third review D4: the text comparison let a symlink, '//x', a trailing slash or '..'
    through the app link put wheels_dest (or app_venv) inside another setting; the real paths
    the host resolves do not. The message names both settings, as given and as resolved."""
    t = str(layout)
    fill = {"t": t, "v1": V1}
    got = _real_problem(dest.format(**fill), app.format(**fill), venvs.format(**fill))
    want = problem.format(**fill)
    assert (want in got and bool(got)) if want else got == "", got


def test_real_layout_problem_refuses_a_probe_it_cannot_read() -> None:
    assert "not the three absolute paths" in wv.real_layout_problem(["/a"], "/a", "/b/c", "/d")
    assert "not the three absolute paths" in wv.real_layout_problem(None, "/a", "/b/c", "/d")


def test_layout_problem_refuses_an_app_venv_ending_in_dots() -> None:
    assert "name the link itself" in wv.layout_problem("/x/app/..", "/x/venvs")
    assert "name the link itself" in wv.layout_problem("/x/.", "/y/venvs")


def _marker(name: str, mtime: float = 0.0, venvs: str = "/opt/app/venvs") -> dict[str, object]:
    return {"path": f"{venvs}/{name}/.airgap-kit-venv", "mtime": mtime}


def test_rebuilt_history_lists_the_complete_venvs_oldest_install_first_current_last() -> None:
    # (#16 verification review 1: a lost record made a re-run retire the previous good venv)
    complete = [_marker(V1), _marker(V2), _marker(V3), _marker("legacy")]
    installed = [
        {"path": f"/opt/app/venvs/{V1}/.airgap-kit-installed", "mtime": 30.0},
        {"path": f"/opt/app/venvs/{V2}/.airgap-kit-installed", "mtime": 10.0},
        {"path": f"/opt/app/venvs/{V4}/.airgap-kit-installed", "mtime": 5.0},  # `creating`
        {"path": "/opt/app/venvs/legacy/.airgap-kit-installed", "mtime": 20.0},
    ]
    # V3 has no install record, V4 no `complete` marker: neither is a complete kit venv
    assert wv.rebuilt_history(complete, installed, V2) == ["legacy", V1, V2]
    assert wv.rebuilt_history(complete, installed, V1) == [V2, "legacy", V1]
    # the current venv is listed last even when its markers are not found (it runs)
    assert wv.rebuilt_history([], [], V4) == [V4]
    # a tie in mtime: by name; an unreadable mtime counts as 0
    tied = [{"path": f"/v/{n}/.airgap-kit-installed", "mtime": m} for n, m in ((V2, 1), (V1, 1))]
    assert wv.rebuilt_history([_marker(V1, venvs="/v"), _marker(V2, venvs="/v")], tied, V3) == [
        V1,
        V2,
        V3,
    ]
    odd = [{"path": f"/v/{V1}/.airgap-kit-installed", "mtime": "?"}, {"path": "/v/x/y"}, "junk"]
    assert wv.rebuilt_history([_marker(V1, venvs="/v")], odd, V3) == [V1, V3]


def test_rebuilt_record_keeps_the_rollback_target_through_retirement_and_rollback() -> None:
    # v1 then v2 deployed, the record lost: the rebuilt record keeps v1 as the previous one
    complete = [_marker(V1), _marker(V2)]
    installed = [
        {"path": f"/opt/app/venvs/{V1}/.airgap-kit-installed", "mtime": 1.0},
        {"path": f"/opt/app/venvs/{V2}/.airgap-kit-installed", "mtime": 2.0},
    ]
    history = wv.rebuilt_history(complete, installed, V2)
    assert wv.retired([V1, V2], history, V2, 2, [V2, *history]) == []
    assert wv.rollback_target(history, V2, [V1, V2]) == V1


def test_a_repair_takes_again_the_unrecorded_venv_an_earlier_repair_left() -> None:
    # (#16 verification review 2: each failed repair built another ID-N)
    assert wv.repair_name(V1, [V1, f"{V1}-1"], V1, [V1]) == f"{V1}-1"
    assert wv.repair_name(V1, [V1, f"{V1}-1", f"{V1}-3"], V1, [V1]) == f"{V1}-3"
    # a recorded ID-N (it passed its smoke test once) or the current one is never taken
    assert wv.repair_name(V1, [V1, f"{V1}-1"], V1, [V1, f"{V1}-1"]) == f"{V1}-2"
    assert wv.repair_name(f"{V1}-1", [V1, f"{V1}-1"], f"{V1}-1", [f"{V1}-1"]) == f"{V1}-2"
    # another kit's unrecorded venv is not this kit's
    assert wv.repair_name(V1, [V1, f"{V2}-1"], V1, [V1]) == f"{V1}-1"


def _entry(name: str, **kind: bool) -> dict[str, object]:
    return {"path": f"/opt/app/venvs/{name}", "isdir": False, "islnk": False, **kind}


def test_a_venv_entry_that_is_not_a_real_directory_is_named() -> None:
    # (#16 fresh review 1: a symlinked VENVS/NAME took the live venv out of every guard)
    real = [_entry(V1, isdir=True), _entry(f"{V1}-1", isdir=True), _entry("legacy", isdir=True)]
    assert wv.venv_entry_problems(real) == []
    assert wv.venv_entry_problems(None) == []
    found = [
        *real,
        _entry(V2, islnk=True),  # the find module lstat()s: a link to a directory is a link
        _entry(f"{V2}-1", islnk=True, isdir=True),
        _entry(V3, isreg=True),
        _entry("legacy", isdir=False),
        "junk",
    ]
    assert wv.venv_entry_problems(found) == [
        f"/opt/app/venvs/{V2} (a symlink)",
        f"/opt/app/venvs/{V2}-1 (a symlink)",
        f"/opt/app/venvs/{V3} (a regular file)",
        "/opt/app/venvs/legacy (not a directory)",
    ]


@given(st.text(alphabet=ONE_LINE, min_size=1, max_size=30))
def test_history_problem_says_what_venv_history_refuses(line: str) -> None:
    # (#16 fresh review 2: a garbled record stopped every run with a bare filter error)
    text = f"{V1}\n{line}\n"
    try:
        wv.venv_history(text)
    except AnsibleFilterError:
        assert wv.history_problem(text).startswith("line 2: "), wv.history_problem(text)
    else:
        assert wv.history_problem(text) == ""


def test_history_problem_names_the_line() -> None:
    assert wv.history_problem(f"# c\n{V1}\nfoo/bar\n") == "line 3: 'foo/bar' is not a venv name"
    assert wv.history_problem(f"{V1}\n../{V2}\n") == f"line 2: '../{V2}' is not a venv name"
    assert wv.history_problem(wv.render_history([V1, "legacy", f"{V2}-3"])) == ""
    assert wv.history_problem("") == ""


def test_installed_pattern_requires_the_lock_that_names_the_venv() -> None:
    # (#16 fresh review 4: any sha256 in .airgap-kit-installed was taken as complete)
    import re

    digest = V1 + "a" * 48
    for name in (V1, f"{V1}-2"):
        pattern = re.compile(wv.installed_pattern(name))
        assert pattern.match(f"requirements.lock {digest}\n")
        assert not pattern.match(f"requirements.lock {V2}{'a' * 48}\n")  # another lock
        assert not pattern.match(f"bootstrap.lock {digest}\n")
        assert not pattern.match(f"requirements.lock {digest[:-1]}\n")
    assert not re.compile(wv.installed_pattern("legacy")).match(f"requirements.lock {digest}\n")


def test_rebuilt_history_keeps_a_migrated_venv_oldest() -> None:
    # (#16 fresh review 3: VENVS/legacy has a pyvenv.cfg but no markers; it was lost)
    complete = [_marker(V1), _marker(V2)]
    installed = [
        {"path": f"/opt/app/venvs/{V1}/.airgap-kit-installed", "mtime": 1.0},
        {"path": f"/opt/app/venvs/{V2}/.airgap-kit-installed", "mtime": 2.0},
    ]
    assert wv.rebuilt_history(complete, installed, V2, True) == ["legacy", V1, V2]
    assert wv.rebuilt_history(complete, installed, V2, False) == [V1, V2]
    assert wv.rebuilt_history(complete, installed, V2) == [V1, V2]
    assert wv.rebuilt_history(complete, installed, "legacy", True) == [V1, V2, "legacy"]
    history = wv.rebuilt_history(complete, installed, V2, True)
    assert wv.retired(["legacy", V1, V2], history, V2, 2, [V2, *history]) == []


def test_a_binary_line_is_shown_escaped() -> None:
    """#16 review rev16z L2: a binary record's line is named in ASCII, not as raw bytes."""
    text = b"\xff\xfe\x00junk\x1b[31m".decode("utf-8", "surrogateescape")
    problem = wv.history_problem(f"{V1}\n{text}\n")
    assert problem.startswith("line 2: '\\\\xff\\\\xfe\\\\x00junk\\\\x1b[31m'"), problem
    assert problem.isascii() and problem.isprintable(), problem


def test_history_reads_a_long_record_and_keeps_each_name_once() -> None:
    names = [f"{n:016x}" for n in range(30_000)]
    text = "".join(f"{n}\n" for n in names + names[:10])
    got = wv.venv_history(text)
    assert got == names[10:] + names[:10]
    assert wv.history_push(got, [names[0]])[-1] == names[0]


def test_a_switch_records_the_venv_it_leaves_just_before_its_target() -> None:
    """#16 review rev16w: a v2->v1 rollback stopped after its switch leaves [v1, v2] with v1
    running; the upgrade to v3 then records [v2, v1, v3], so its rollback returns to v1 (the
    venv that ran before v3) and the retirement keeps v1, not v2."""
    after = wv.switched_history([V1, V2], V1, V3)
    assert after == [V2, V1, V3]
    assert wv.rollback_target(after, V3, [V1, V2, V3]) == V1
    assert wv.retired([V1, V2, V3], after, V3, 2, [V1]) == [V2]
    # the usual cases are unchanged: an upgrade, a rollback, a migration, no current venv
    assert wv.switched_history([V1, V2], V2, V3) == [V1, V2, V3]
    assert wv.switched_history([V1, V2], V2, V1) == [V2, V1]
    assert wv.switched_history([], "", V1, "True") == ["legacy", V1]
    assert wv.switched_history([V1], "", V2) == [V1, V2]
