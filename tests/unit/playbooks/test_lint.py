"""Static checks of playbooks/: syntax, ansible-lint (production profile), house style.

Fast: nothing is deployed. ansible-lint runs offline (no Galaxy, no collection installs);
when `unshare -n` works it runs with no network at all, which proves it.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e.playbookrun import can_run_offline

REPO = Path(__file__).resolve().parents[3]
PLAYBOOKS = REPO / "playbooks"
ROLES = ("media_repo", "python_build", "wheels", "smoke", "repo_server")
PUBLIC_VARS = (
    "kit_dir",
    "kit_signing_key",
    "kit_allow_unsigned",
    "python_version",
    "python_prefix",
    "python_build",
    "python_interpreter",
    "python_delivery",
    "python_publish_dir",
    "media_repo_mode",
    "media_iso",
    "app_venv",
    "app_rollback",
    "smoke_workers",
    "repo_server_url",
)
# Public, read from the repo server's hostvars, documented in group_vars/all.yml's comments but
# not defined there (a definition would outrank [all:vars] and [repo_server:vars]).
SERVER_VARS = ("repo_server_address", "repo_server_port")
BIN = Path(sys.executable).parent


def _env(tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "ANSIBLE_CONFIG": str(PLAYBOOKS / "ansible.cfg"),
        "ANSIBLE_HOME": str(tmp_path / "ansible-home"),
        "ANSIBLE_LOCAL_TEMP": str(tmp_path / "ansible-tmp"),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "NO_COLOR": "1",
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
    }


def _yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def _flatten(tasks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for task in tasks:
        if "block" in task:
            out += _flatten(task["block"] + task.get("rescue", []) + task.get("always", []))
        else:
            out.append(task)
    return out


def _tasks(role: str) -> list[tuple[Path, dict[str, Any]]]:
    out = []
    for path in sorted((PLAYBOOKS / "roles" / role).glob("*/*.yml")):
        if path.parent.name not in ("tasks", "handlers"):
            continue
        for task in _flatten(_yaml(path) or []):
            out.append((path, task))
    return out


@pytest.mark.parametrize("playbook", ["site.yml", "build-python.yml"])
def test_syntax_check(tmp_path: Path, playbook: str) -> None:
    """Under the dev venv's ansible-core 2.16; build-python.yml also runs under the controller
    bootstrap's 2.11 (tests/e2e/test_controller_real.py)."""
    proc = subprocess.run(
        [str(BIN / "ansible-playbook"), "--syntax-check", "-i", "localhost,", playbook],
        cwd=PLAYBOOKS,
        env=_env(tmp_path),
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_ansible_lint_production_profile_offline(tmp_path: Path) -> None:
    argv = [str(BIN / "ansible-lint"), "--offline", "--profile", "production", "--nocolor"]
    if can_run_offline():
        argv = ["unshare", "-n", *argv]
    proc = subprocess.run(
        argv, cwd=PLAYBOOKS, env=_env(tmp_path), capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Profile 'production' was required, and it passed" in proc.stderr + proc.stdout


def test_group_vars_define_and_document_every_public_variable() -> None:
    text = (PLAYBOOKS / "group_vars" / "all.yml").read_text()
    defined = _yaml(PLAYBOOKS / "group_vars" / "all.yml")
    for name in PUBLIC_VARS:
        assert name in defined, name
        # the line before the definition is a comment that explains it
        before = text.split(f"\n{name}:")[0].rstrip().splitlines()[-1]
        assert before.startswith("#"), f"{name} is not documented in group_vars/all.yml"
    assert set(defined) == set(PUBLIC_VARS), "group_vars/all.yml holds only the public names"
    for name in SERVER_VARS:
        assert re.search(rf"(?m)^#\s+{name}\s+default: ", text), f"{name} is not documented"


def test_site_serves_from_the_repo_server_then_rolls_out_the_four_roles_in_batches() -> None:
    verify, server, rollout = _yaml(PLAYBOOKS / "site.yml")
    # first, whatever --tags say, the kit is verified once on the controller (kit_verify)
    assert [(r["role"], r["tags"]) for r in verify["roles"]] == [("kit_verify", ["always"])]
    assert verify["any_errors_fatal"] is True
    assert server["hosts"] == "repo_server"
    # the repo server builds CPython once for the fleet (python_delivery publish) before serving
    assert [r["role"] for r in server["roles"]] == ["media_repo", "python_build", "repo_server"]
    assert "python_delivery" in server["roles"][1]["when"]
    assert rollout["hosts"] == "all:!repo_server"  # --limit-friendly: groups, no host names
    roles = [(r["role"], r["tags"]) for r in rollout["roles"]]
    assert roles == [(name, [name]) for name in ROLES if name != "repo_server"]
    assert "rollout_serial" in rollout["serial"]
    assert "rollout_max_fail_percentage" in str(rollout["max_fail_percentage"])
    # the summary's "stopped" needs a record of each host that got to the end of the play
    (done,) = rollout["post_tasks"]
    assert "rollout_done" in done["ansible.builtin.set_stats"]["data"]
    assert done["tags"] == ["always"]
    # the summary reports a failure by the stage (play) it happened in, the kit check's as the
    # controller's (callback_plugins/airgap_kit_summary.py)
    stages = [play["vars"]["airgap_kit_summary_stage"] for play in (verify, server, rollout)]
    assert stages == ["controller", "repo server", "deploy"]


@pytest.mark.parametrize("role", (*ROLES, "kit_verify"))
def test_role_defaults_are_role_prefixed(role: str) -> None:
    defaults = _yaml(PLAYBOOKS / "roles" / role / "defaults" / "main.yml")
    assert defaults, role
    wrong = [name for name in defaults if not name.startswith(f"{role}_")]
    assert not wrong, f"{role}/defaults/main.yml: not prefixed with {role}_: {wrong}"


@pytest.mark.parametrize("role", (*ROLES, "kit_verify"))
def test_role_meta_lists_el7_and_debian(role: str) -> None:
    meta = _yaml(PLAYBOOKS / "roles" / role / "meta" / "main.yml")
    platforms = {p["name"]: p["versions"] for p in meta["galaxy_info"]["platforms"]}
    assert platforms.get("EL") == ["7"]
    assert "Debian" in platforms


@pytest.mark.parametrize("family", ["RedHat", "Debian"])
def test_family_vars_name_the_same_modules(family: str) -> None:
    data = _yaml(PLAYBOOKS / "roles" / "python_build" / "vars" / f"{family}.yml")
    defaults = _yaml(PLAYBOOKS / "roles" / "python_build" / "defaults" / "main.yml")
    assert set(data["python_build_module_packages"]) == {
        *defaults["python_build_required_modules"],
        "_tkinter",
    }
    packages = data["python_build_os_packages"] + data["python_build_os_tkinter_packages"]
    for package in data["python_build_module_packages"].values():
        assert package in packages, package
    assert not {"tk-devel", "tcl-devel", "tk-dev"} & set(data["python_build_os_packages"])


def test_el7_openssl_build_gets_perl_core() -> None:
    """OpenSSL 1.1.1's Configure needs Perl modules EL7 packages separately (NOTES.PERL,
    openssl/openssl#12501): perl-core, not just perl."""
    data = _yaml(PLAYBOOKS / "roles" / "python_build" / "vars" / "RedHat.yml")
    assert "perl-core" in data["python_build_os_openssl_packages"]


def test_patched_host_check_covers_every_el7_devel_package_the_build_installs() -> None:
    redhat = _yaml(PLAYBOOKS / "roles" / "python_build" / "vars" / "RedHat.yml")
    media = _yaml(PLAYBOOKS / "roles" / "media_repo" / "defaults" / "main.yml")
    devel = {p for p in redhat["python_build_os_packages"] if p.endswith("-devel")} | {"gcc"}
    assert devel <= set(media["media_repo_check_packages"])


def test_ansible_lint_enables_the_opt_in_rules_that_apply(tmp_path: Path) -> None:
    """Every opt-in rule of this ansible-lint is enabled, but the one for collections."""
    listing = subprocess.run(
        [str(BIN / "ansible-lint"), "-L", "--nocolor"],
        capture_output=True,
        text=True,
        env=_env(tmp_path),
    ).stdout
    opt_in = set(re.findall(r"^- (\S+) .*\n\s+tags:[^\n]*\bopt-in\b", listing, re.M))
    assert "role-argument-spec" in opt_in, listing[:2000]
    enabled = set(_yaml(PLAYBOOKS / ".ansible-lint")["enable_list"])
    assert enabled == opt_in - {"galaxy-version-incorrect"}


def test_every_probe_runs_in_check_mode_and_changes_nothing() -> None:
    """A command that only looks (changed_when: false) also runs under --check
    (check_mode: false), so the tasks after it see a real result."""
    for role in ROLES:
        for path, task in _tasks(role):
            module = next((k for k in task if k.startswith("ansible.builtin.")), "")
            if module.split(".")[-1] not in ("command", "shell", "script"):
                continue
            if task.get("changed_when") is False:
                assert task.get("check_mode") is False, (path.name, task["name"])


def test_every_module_is_builtin_fqcn_and_every_task_named() -> None:
    keywords = {
        "name", "when", "register", "vars", "loop", "tags", "environment", "notify",
        "changed_when", "failed_when", "args", "block", "timeout", "become", "delegate_to",
        "check_mode", "become_user", "loop_control", "listen", "diff",
    }  # fmt: skip
    for role in ROLES:
        for path, task in _tasks(role):
            assert re.match(r"^[A-Z].*\.$", task.get("name", "")), (path, task.get("name"))
            modules = [k for k in task if k not in keywords]
            assert len(modules) == 1, (path, task["name"], modules)
            assert modules[0].startswith("ansible.builtin."), (path, task["name"], modules)


def test_python_build_requires_ssl_hashlib_and_zlib_by_default() -> None:
    """A CPython built on CentOS 7 (OpenSSL 1.0.2k) has them all. A host that cannot have one
    (pyenv's 3.6.15 on Debian 12: no _hashlib with OpenSSL 3) narrows the list in its own
    variables, as tests/e2e/test_playbooks_site.py does; the role's default stays complete."""
    defaults = _yaml(PLAYBOOKS / "roles" / "python_build" / "defaults" / "main.yml")
    assert {"ssl", "_hashlib", "zlib"} <= set(defaults["python_build_required_modules"])


def test_messages_use_the_real_fetch_source_syntax(tmp_path: Path) -> None:
    """`bundler fetch-source PROJECT VERSION` (no --python): what playbooks/ tell the operator."""
    help_text = subprocess.run(
        [str(BIN / "bundler"), "fetch-source", "--help"],
        capture_output=True,
        text=True,
        env=_env(tmp_path),
        check=True,
    ).stdout
    usage = re.search(r"fetch-source \[OPTIONS\] \{([a-z|]+)\} VERSION", help_text)
    assert usage, help_text
    projects = usage.group(1).split("|")
    commands = []
    for path in sorted(PLAYBOOKS.rglob("*.yml")):
        for match in re.finditer(r"bundler fetch-source(\s+[-\w]+)?", path.read_text()):
            commands.append(match[0])
            # no word: the command only named, as in "(bundler fetch-source: Python-X.Y.Z.tgz)"
            word = (match.group(1) or "").strip()
            assert not word or word in projects, (path.name, match[0])
    assert any(c.endswith(" python") for c in commands), commands


def test_yum_tasks_use_only_the_media_repo() -> None:
    """Every package task on RedHat disables all repos and enables the media repo ids."""
    yum_tasks = [
        (path, task)
        for role in ROLES
        for path, task in _tasks(role)
        if "ansible.builtin.yum" in task
    ]
    # build deps, the prebuilt CPython's runtime libraries, the wheels' libraries, httpd, semanage
    assert len(yum_tasks) == 5
    for path, task in yum_tasks:
        args = task["ansible.builtin.yum"]
        assert "'*'" in args["disablerepo"], (path, task["name"])
        assert "yum_repos" in args["enablerepo"], (path, task["name"])
    for role in ("python_build", "wheels", "repo_server"):
        default = _yaml(PLAYBOOKS / "roles" / role / "defaults" / "main.yml")[f"{role}_yum_repos"]
        assert "media_repo_enabled_ids" in default


def test_patched_host_check_is_python27_syntax(python27: Path) -> None:
    """The check runs with CentOS 7's /usr/bin/python (2.7): it must at least compile there."""
    script = PLAYBOOKS / "roles" / "media_repo" / "files" / "check_host_matches_media.py"
    proc = subprocess.run(
        [
            str(python27),
            "-c",
            "import sys; compile(open(sys.argv[1]).read(), sys.argv[1], 'exec')",
            str(script),
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr


def test_media_repo_keeps_the_iso_and_the_repo_out_of_aged_temporary_directories() -> None:
    """systemd-tmpfiles ages /tmp (10 days) and /var/tmp (30 days) on EL7 (systemd 219's
    tmpfiles.d/tmp.conf): the ISO copy, the extracted repo and the mount point default elsewhere
    (an ISO the operator keeps there gets a tmpfiles.d exclusion: tests/e2e)."""
    defaults = _yaml(PLAYBOOKS / "roles" / "media_repo" / "defaults" / "main.yml")
    for name in ("media_repo_iso_dir", "media_repo_extract_dir", "media_repo_mount_point"):
        assert defaults[name].startswith("/"), name
        assert not re.match(r"^/(var/)?tmp(/|$)", defaults[name]), (name, defaults[name])


@pytest.mark.parametrize(
    ("address", "url"),
    [
        ("fd00::1", "http://[fd00::1]:8080"),
        ("[fd00::1]", "http://[fd00::1]:8080"),  # given bracketed: not doubled
        ("10.0.0.5", "http://10.0.0.5:8080"),
        ("repo01.example.internal", "http://repo01.example.internal:8080"),
    ],
)
def test_repo_server_url_brackets_an_ipv6_address(address: str, url: str) -> None:
    """group_vars/all.yml's repo_server_url, rendered by Ansible's own templar: an IPv6 literal
    goes in brackets (RFC 3986 section 3.2.2), so every URL made from it (the repo file's
    baseurl, the wheels' --find-links, the CPython tarball's) is one a client can parse."""
    from ansible.parsing.dataloader import DataLoader
    from ansible.template import Templar

    public = _yaml(PLAYBOOKS / "group_vars" / "all.yml")
    server = {"repo_server_address": address, "repo_server_port": 8080}
    variables = {**public, "groups": {"repo_server": ["repo01"]}, "hostvars": {"repo01": server}}
    rendered = Templar(loader=DataLoader(), variables=variables).template(public["repo_server_url"])
    assert rendered == url
