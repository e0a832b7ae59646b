"""python_build's derived variables (vars/main.yml), templated by Ansible itself for EL7 and Debian.

What the role would install and run on a CentOS 7 host, checked without one: the packages for
the OpenSSL build (perl-core: OpenSSL's NOTES.PERL, openssl/openssl#12501), tcl/tk only when
`python_build_tkinter` asks, configure's OpenSSL arguments (PEP 644: Python >= 3.10 needs
OpenSSL >= 1.1.1, which CentOS 7 lacks), who compiles, and the options digest the build markers
hold. The variables come from the role's files with Ansible's precedence for these layers
(defaults < vars/main.yml < the OS file, which the role includes last) and the play's inputs.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar

from tests.unit.playbooks import role_docs

ROLE = role_docs.PLAYBOOKS / "roles" / "python_build"


def _derive(expression: str, family: str = "RedHat", **inputs: Any) -> Any:
    variables: dict[str, Any] = {}
    for name in ("defaults/main.yml", "vars/main.yml", f"vars/{family}.yml"):
        variables.update(yaml.safe_load((ROLE / name).read_text()))
    variables.update(ansible_os_family=family, **inputs)
    return Templar(loader=DataLoader(), variables=variables).template(expression)


def test_el7_build_of_python311_builds_openssl_with_perl_core_and_no_tk() -> None:
    deps = _derive("{{ python_build_deps }}", python_version="3.11.2")
    assert "perl-core" in deps and "openssl-devel" in deps
    assert not {"tk-devel", "tcl-devel"} & set(deps)
    argv = _derive("{{ python_build_configure_argv }}", python_version="3.11.2", python_prefix="/p")
    assert "--with-openssl=/p/openssl" in argv and "--with-openssl-rpath=auto" in argv
    assert "_tkinter" not in _derive("{{ python_build_modules }}", python_version="3.11.2")


def test_el7_build_of_python36_uses_the_systems_openssl() -> None:
    deps = _derive("{{ python_build_deps }}", python_version="3.6.15")
    assert "perl-core" not in deps
    argv = _derive("{{ python_build_configure_argv }}", python_version="3.6.15")
    assert not [arg for arg in argv if arg.startswith("--with-openssl")], argv


def test_tk_only_when_asked() -> None:
    for family, packages in (("RedHat", {"tk-devel", "tcl-devel"}), ("Debian", {"tk-dev"})):
        deps = _derive("{{ python_build_deps }}", family, python_build_tkinter=True)
        assert packages <= set(deps), (family, deps)
        modules = _derive("{{ python_build_modules }}", family, python_build_tkinter=True)
        assert "_tkinter" in modules
        assert not packages & set(_derive("{{ python_build_deps }}", family))


def test_debian_never_builds_openssl_by_default() -> None:
    deps = _derive("{{ python_build_deps }}", "Debian", python_version="3.11.2")
    assert "perl" not in deps


@pytest.mark.parametrize(("uid", "expected"), [(0, "airgap-build"), (1000, "")])
def test_compiles_as_the_build_user_only_when_the_play_is_root(uid: int, expected: str) -> None:
    built_as = _derive("{{ python_build_build_as }}", ansible_facts={"user_uid": uid})
    assert built_as.strip() == expected


def test_options_digest_changes_with_every_build_option() -> None:
    """The configure/build markers hold this digest: another option means another tree."""
    base = {"python_version": "3.11.2", "python_prefix": "/p"}
    digests = {
        _derive("{{ python_build_options_id }}", **base),
        _derive("{{ python_build_options_id }}", **base, python_build_enable_shared=True),
        _derive("{{ python_build_options_id }}", **base, python_build_configure_extra=["-x"]),
        _derive("{{ python_build_options_id }}", python_version="3.11.3", python_prefix="/p"),
        _derive("{{ python_build_options_id }}", python_version="3.11.2", python_prefix="/q"),
    }
    assert len(digests) == 5
    assert _derive("{{ python_build_options_id }}", **base) in digests  # deterministic


@pytest.mark.parametrize("family", ["RedHat", "Debian"])
def test_acl_for_become_only_when_compiling_as_the_build_user(family: str) -> None:
    """setfacl lets Ansible hand its temporary files to python_build_user when the login user
    is not root (ansible/ansible#74830); a play that builds as itself needs none."""
    as_root = _derive("{{ python_build_deps }}", family, ansible_facts={"user_uid": 0})
    assert "acl" in as_root
    as_itself = _derive("{{ python_build_deps }}", family, ansible_facts={"user_uid": 1000})
    assert "acl" not in as_itself
    no_user = _derive("{{ python_build_deps }}", family, python_build_user="")
    assert "acl" not in no_user


def test_options_digest_covers_the_kits_openssl_source_only_when_it_is_built() -> None:
    """Issue #13, second review: a new OpenSSL tarball must rebuild CPython and rename the
    fleet's tarball; a build on the OS's OpenSSL keeps the digest it had (no needless rebuild)."""
    base = {"python_version": "3.11.2", "python_prefix": "/p"}
    one = _derive(
        "{{ python_build_options_id }}", **base, python_build_openssl_source_sha256="1" * 64
    )
    two = _derive(
        "{{ python_build_options_id }}", **base, python_build_openssl_source_sha256="2" * 64
    )
    assert one != two
    facts = {
        "python_build_source_sha256": "a" * 64,
        "python_build_libc": "2.17",
        "ansible_distribution": "CentOS",
        "ansible_distribution_major_version": "7",
        "ansible_architecture": "x86_64",
    }
    named = _derive(
        "{{ python_build_prebuilt_id }}",
        **base,
        **facts,
        python_build_openssl_source_sha256="1" * 64,
    )
    assert named.endswith("-opt" + one[:12])
    os_openssl = {"python_version": "3.6.15", "python_prefix": "/p"}
    argv = _derive("{{ python_build_configure_argv }}", **os_openssl)
    env = _derive("{{ python_build_env }}", **os_openssl)
    old = hashlib.sha256(
        json.dumps(["3.6.15", env["LDFLAGS"], env["CPPFLAGS"], *argv]).encode()
    ).hexdigest()
    for sha in ("", "1" * 64):
        digest = _derive("{{ python_build_options_id }}", **os_openssl,
                         python_build_openssl_source_sha256=sha)  # fmt: skip
        assert digest == old


def test_the_role_reads_the_openssl_tarballs_sha256_into_the_digest(tmp_path: Path) -> None:
    """A cheap probe with real ansible-playbook (no build): the role's openssl_source.yml on the
    controller, twice, with the tarball's bytes changed in between."""
    kit = tmp_path / "kit"
    (kit / "sources").mkdir(parents=True)
    tarball = kit / "sources" / "openssl-1.1.1w.tar.gz"
    play = tmp_path / "probe.yml"
    play.write_text(
        yaml.safe_dump(
            [{
                "hosts": "localhost", "gather_facts": False, "connection": "local",
                "tasks": [
                    {"ansible.builtin.include_role": {"name": "python_build", "public": True,
                                                      "tasks_from": "openssl_source.yml"}},
                    {"ansible.builtin.debug": {"msg": "ID={{ python_build_options_id }}"}},
                ],
            }]
        )
    )  # fmt: skip
    env = {
        **os.environ,
        "ANSIBLE_ROLES_PATH": str(ROLE.parent),
        "ANSIBLE_HOME": str(tmp_path / "ansible-home"),
        "ANSIBLE_LOCAL_TEMP": str(tmp_path / "ansible-tmp"),
        "ANSIBLE_NOCOLOR": "1",
    }
    argv = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,", str(play),
            "-e", f"python_build_kit_dir={kit}", "-e", "python_build_openssl=true",
            "-e", "python_version=3.11.2", "-e", "python_prefix=/p",
            "-e", f"ansible_python_interpreter={sys.executable}"]  # fmt: skip

    def digest(content: bytes) -> str:
        tarball.write_bytes(content)
        proc = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        found = re.findall(r'"msg": "ID=([0-9a-f]{64})"', proc.stdout)
        assert len(found) == 1, proc.stdout
        return found[0]

    first = digest(b"one release")
    assert digest(b"one release") == first
    assert digest(b"a rebuilt release") != first


def _task(file: str, name: str) -> dict[str, Any]:
    tasks = yaml.safe_load((ROLE / "tasks" / file).read_text())
    (task,) = [task for task in tasks if task.get("name") == name]
    found: dict[str, Any] = task
    return found


@pytest.mark.parametrize(
    ("given", "taken"),
    [
        ("AB" * 32, "ab" * 32),  # PowerShell's Get-FileHash prints upper case
        (f"  {'ab' * 32} \n", "ab" * 32),  # pasted with blanks
        ("ab" * 31, None),  # too short: refused by name
        ("ab" * 32 + "  x", None),
    ],
)
def test_the_operators_prebuilt_sha256_is_normalised_or_refused_by_name(
    given: str, taken: str | None
) -> None:
    """Issue #13, second review: an upper-case or padded python_build_prebuilt_sha256 was
    reported as "the repo server has published no CPython"."""
    check = _task("prebuilt_id.yml", "Check python_build_prebuilt_sha256.")
    inputs = {"python_build_prebuilt_sha256": given, "python_build_mode": "http"}
    assert (
        str(_derive("{% if " + check["when"] + " %}True{% else %}False{% endif %}", **inputs))
        == "True"
    )
    condition = check["ansible.builtin.assert"]["that"]
    passed = _derive("{% if " + condition + " %}True{% else %}False{% endif %}", **inputs)
    assert str(passed) == str(taken is not None)
    if taken is None:
        message = _derive(check["ansible.builtin.assert"]["fail_msg"], **inputs)
        assert message.startswith("python_build_prebuilt_sha256 must be") and given in message
        return
    take = _task("prebuilt_id.yml", "Take the tarball's sha256.")
    expression = take["ansible.builtin.set_fact"]["python_build_expected_sha256"]
    assert _derive(expression, **inputs).strip() == taken


@pytest.mark.parametrize(
    ("prefix", "passes"),
    [
        ("/usr/local", True),
        ("/opt/python-3.11.2_kit+1", True),
        ("/opt/my python", False),  # -Wl,-rpath,/opt/my python/lib splits
        ("/opt/a,b", False),
        ("/opt/a:b", False),
        ("/opt/$HOME", False),
        ("opt/python", False),
    ],
)
def test_a_prefix_the_build_would_split_is_refused_up_front(prefix: str, passes: bool) -> None:
    """Issue #13, second review: a prefix with a space was split by the rpath and OpenSSL's
    configure; the role's check refuses it before anything runs, naming python_prefix."""
    check = _task("main.yml", "Check the Python prefix.")["ansible.builtin.assert"]
    results = [
        str(
            _derive(
                "{% if " + condition + " %}True{% else %}False{% endif %}", python_prefix=prefix
            )
        )
        for condition in check["that"]
    ]
    assert all(result == "True" for result in results) is passes
    if not passes:
        message = _derive(check["fail_msg"], python_prefix=prefix)
        assert message.startswith("python_prefix must be") and f"got '{prefix}'" in message
