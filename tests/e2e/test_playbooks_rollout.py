"""site.yml's rollout for real: batches (`serial`), the failure threshold (`max_fail_percentage`)
and the summary that names what failed and what never started.

Four inventory hosts that are all this machine (`ansible_connection=local`, modules by CPython
2.7.18 like CentOS 7's /usr/bin/python), run with `--tags media_repo`: each host checks its
media repo settings (`media_repo_mode: none`, nothing written). One host is a client of a repo
server that does not answer (`media_repo_mode: http`, a closed port on 127.0.0.1): it fails with
the role's one message and changes nothing, which is what a broken host of a real rollout looks
like to Ansible. What is measured is Ansible's own batching (each batch is a new start of the
play), which hosts it touched, its exit status and the kit's summary callback
(playbooks/callback_plugins/airgap_kit_summary.py). The fleet over SSH, with a real repo
server, is tests/e2e/test_playbooks_fleet.py.
"""

from __future__ import annotations

import re
import socket
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.playbookrun import PlayResult, run_playbook

pytestmark = [pytest.mark.e2e]

HOSTS = [f"rollout{i}" for i in (1, 2, 3, 4)]


def _closed_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _line(host: str, python27: Path, settings: str = "") -> str:
    return (
        f"{host} ansible_connection=local ansible_python_interpreter={python27} "
        f"media_repo_mode=none {settings}".rstrip()
    )


def _unreachable(host: str) -> str:
    """An SSH host nobody answers for (a closed port on 127.0.0.1): unreachable at its first
    task."""
    return f"{host} ansible_connection=ssh ansible_host=127.0.0.1 ansible_port={_closed_port()}"


def _inventory(
    path: Path, python27: Path, broken: str, url: str, unreachable: str = "", server: str = ""
) -> Path:
    lines = []
    for host in HOSTS:
        if host == unreachable:
            lines.append(_unreachable(host))
            continue
        mode = f"media_repo_mode=http repo_server_url={url}" if host == broken else ""
        lines.append(_line(host, python27, mode))
    groups = ["[intranet]", *lines]
    if server:
        groups += ["[repo_server]", server]
    path.write_text("\n".join(groups) + "\n")
    return path


def _run(
    tmp_path: Path,
    python27: Path,
    broken: str,
    extra: dict[str, Any],
    unreachable: str = "",
    server: str = "",
) -> PlayResult:
    url = f"http://127.0.0.1:{_closed_port()}"
    work = tmp_path / f"{broken}-{len(list(tmp_path.iterdir()))}"
    work.mkdir()
    inventory = _inventory(work / "hosts.ini", python27, broken, url, unreachable, server)
    extra = {"kit_allow_unsigned": True, **extra}  # no kit at all: only the rollout is tested
    return run_playbook(inventory, extra, work, tags=["media_repo"], timeout=600)


def _batches(result: PlayResult) -> list[list[str]]:
    """The hosts of each batch, in order (the summary callback's play starts)."""
    return [
        line.split(": ", 1)[1].split(", ")
        for line in result.stdout.splitlines()
        if line.startswith("AIRGAP-KIT BATCH ")
    ]


def _summary(result: PlayResult) -> dict[str, str]:
    """host -> the RESULT cell of the summary table."""
    text = result.stdout.split("AIRGAP-KIT SUMMARY", 1)[1]
    rows = {}
    for line in text.splitlines():
        cells = re.split(r"\s{2,}", line.strip())
        if cells and cells[0] in (*HOSTS, "repo01"):
            rows[cells[0]] = cells[1]
    return rows


def test_default_batches_a_canary_then_a_quarter_and_a_failure_stops_the_next_batch(
    tmp_path: Path, python27: Path
) -> None:
    """Defaults (serial [1, "25%"], max_fail_percentage 0) on four hosts: one host per batch;
    the third fails, so the fourth is never started, and the summary says so."""
    result = _run(tmp_path, python27, "rollout3", {})
    assert result.rc != 0, result.describe()
    assert _batches(result) == [["rollout1"], ["rollout2"], ["rollout3"]], result.stdout[-3000:]
    # rollout4 is in the recap only through the kit_verify play (run once, on the controller)
    # (the deploy play gathers facts first: it never did on rollout4)
    assert "Gathering Facts" not in dict(result.task_results("rollout4"))
    (failure,) = result.failures("rollout3")
    assert "The repo server does not serve http://127.0.0.1:" in failure
    assert result.changed_tasks("rollout3") == []
    assert _summary(result) == {
        "rollout1": "ok (changed=0)",
        "rollout2": "ok (changed=0)",
        "rollout3": "failed at deploy",
        "rollout4": "not started",
    }
    assert "rollout stopped: failed: rollout3; not started: rollout4." in result.stdout
    assert "rollout3: media_repo : Check that the repo server answers.: The repo server" in (
        result.stdout
    )


def test_max_fail_percentage_stops_after_a_partly_failed_batch_unless_it_allows_that_many(
    tmp_path: Path, python27: Path
) -> None:
    """Two hosts a batch, the first batch half failed: with the default threshold (0 %) Ansible
    stops the other host of the batch where the failure happened (its recap counts it ok; the
    summary says stopped) and never starts the second batch; with rollout_max_fail_percentage
    50 (one of two failed is not more than 50 %) it does, and the run still ends failed, naming
    the host."""
    stopped = _run(tmp_path, python27, "rollout1", {"rollout_serial": 2})
    assert stopped.rc != 0, stopped.describe()
    assert _batches(stopped) == [["rollout1", "rollout2"]], stopped.stdout[-3000:]
    assert _summary(stopped) == {
        "rollout1": "failed at deploy",
        "rollout2": "stopped",
        "rollout3": "not started",
        "rollout4": "not started",
    }
    assert stopped.stats("rollout2")["failures"] == 0  # Ansible's recap: ok
    ran = [name for name, res in stopped.task_results("rollout2") if not res.get("skipped")]
    assert "Record that the host finished the rollout." not in ran, ran
    assert (
        "rollout stopped: failed: rollout1; stopped with their batch: rollout2; "
        "not started: rollout3, rollout4." in stopped.stdout
    ), stopped.stdout[-3000:]

    tolerated = _run(
        tmp_path, python27, "rollout1", {"rollout_serial": 2, "rollout_max_fail_percentage": 50}
    )
    assert tolerated.rc != 0, tolerated.describe()
    assert _batches(tolerated) == [["rollout1", "rollout2"], ["rollout3", "rollout4"]]
    assert _summary(tolerated) == {
        "rollout1": "failed at deploy",
        "rollout2": "ok (changed=0)",
        "rollout3": "ok (changed=0)",
        "rollout4": "ok (changed=0)",
    }
    assert "rollout finished with failed hosts: rollout1." in tolerated.stdout
    assert "not started" not in tolerated.stdout.split("AIRGAP-KIT SUMMARY", 1)[1]


def test_an_unreachable_first_host_lists_every_host_it_kept_from_starting(
    tmp_path: Path, python27: Path
) -> None:
    """The canary is unreachable (SSH to a closed port): it fails at Gathering Facts, before any
    task of the play; the summary still lists every host of the inventory, the three never
    started, and the run fails."""
    result = _run(tmp_path, python27, "", {}, unreachable="rollout1")
    assert result.rc != 0, result.describe()
    assert _batches(result) == [["rollout1"]], result.stdout[-3000:]
    assert _summary(result) == {
        "rollout1": "unreachable at deploy",
        "rollout2": "not started",
        "rollout3": "not started",
        "rollout4": "not started",
    }
    assert (
        "rollout stopped: failed: rollout1; not started: rollout2, rollout3, rollout4."
        in result.stdout
    ), result.stdout[-3000:]
    assert "rollout1: Gathering Facts: " in result.stdout


def test_a_failed_repo_server_play_names_the_server_and_starts_no_client(
    tmp_path: Path, python27: Path
) -> None:
    """The repo server is unreachable: the server play fails on its only host, Ansible ends the
    run there; the summary blames the server, at the repo server stage, and lists every client
    as not started."""
    result = _run(tmp_path, python27, "", {}, server=_unreachable("repo01"))
    assert result.rc != 0, result.describe()
    assert _batches(result) == [], result.stdout[-3000:]  # the deploy play never started
    assert _summary(result) == {
        "repo01": "unreachable at repo server",
        **dict.fromkeys(HOSTS, "not started"),
    }
    assert (
        "rollout stopped: failed: repo01; not started: rollout1, rollout2, rollout3, rollout4."
        in result.stdout
    ), result.stdout[-3000:]


def test_a_failed_kit_check_is_the_controllers_and_every_host_is_not_started(
    tmp_path: Path, python27: Path
) -> None:
    """No kit_signing_key and no kit_allow_unsigned: kit_verify fails on the controller (run
    once, which Ansible reports on the inventory's first host). The summary says the
    controller failed and no host was touched, not that rollout1 failed; the run fails."""
    result = _run(tmp_path, python27, "", {"kit_allow_unsigned": False})
    assert result.rc != 0, result.describe()
    assert result.stats("rollout1")["failures"] == 1  # what Ansible's own recap says
    assert _summary(result) == dict.fromkeys(HOSTS, "not started"), result.stdout[-3000:]
    tail = result.stdout.split("AIRGAP-KIT SUMMARY", 1)[1]
    assert "controller: kit_verify : Refuse a directory that is not an unpacked kit.: " in tail, (
        tail
    )
    assert (
        "rollout not started: the kit check on the controller failed; no host was touched. Fix"
        in tail
    )
    assert "rollout1:" not in tail
