"""python_build's derived variables (vars/main.yml), templated by Ansible itself for EL7 and Debian.

What the role would install and run on a CentOS 7 host, checked without one: the packages for
the OpenSSL build (perl-core: OpenSSL's NOTES.PERL, openssl/openssl#12501), tcl/tk only when
`python_build_tkinter` asks, configure's OpenSSL arguments (PEP 644: Python >= 3.10 needs
OpenSSL >= 1.1.1, which CentOS 7 lacks), who compiles, and the options digest the build markers
hold. The variables come from the role's files with Ansible's precedence for these layers
(defaults < vars/main.yml < the OS file, which the role includes last) and the play's inputs.
"""

from __future__ import annotations

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
