"""bundler.policy.installers: pip's tag features and how each pip matches requirement names."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from packaging.version import Version

from bundler.policy.installers import InstallerPolicy, installer_policy, name_key
from bundler.policy.tables import PolicyError, load_json


@pytest.mark.parametrize(
    ("rule", "name", "key"),
    [
        ("safe_name_lower", "ruamel.yaml.clib", "ruamel.yaml.clib"),
        ("safe_name_lower", "Ruamel.YAML_clib", "ruamel.yaml-clib"),
        ("safe_name_lower", "ruamel-yaml-clib", "ruamel-yaml-clib"),
        ("safe_name_lower", "zope__interface", "zope-interface"),
        ("pep503", "ruamel.yaml.clib", "ruamel-yaml-clib"),
        ("pep503", "Ruamel.YAML_clib", "ruamel-yaml-clib"),
    ],
)
def test_name_keys(rule: str, name: str, key: str) -> None:
    assert name_key(rule, name) == key


@pytest.mark.parametrize(
    ("pip", "matches"),
    [("9.0.3", False), ("18.1", False), ("19.2.3", False), ("19.3.1", True), ("21.3.1", True)],
)
def test_old_pips_do_not_match_dots_to_dashes(pip: str, matches: bool) -> None:
    policy = installer_policy()
    assert policy.names_match(Version(pip), "ruamel.yaml.clib", "ruamel-yaml-clib") is matches
    assert policy.names_match(Version(pip), "ruamel.yaml.clib", "Ruamel.YAML.clib")


def test_first_canonical_pip_and_features() -> None:
    policy = installer_policy()
    assert policy.canonical_names_from() == Version("19.3")
    assert policy.feature("manylinux2014") == Version("19.3")
    assert policy.pip_of(Version("3.6.15")) == Version("18.1")
    assert policy.pip_of(Version("3.99.0")) == Version("99")


def test_a_broken_table_is_refused_when_loaded() -> None:
    doc = dict(load_json("installers.json"))
    InstallerPolicy.from_json(doc)
    with pytest.raises(PolicyError):
        InstallerPolicy.from_json({**doc, "name_matching": [{"from": "1", "rule": "guess"}]})
    with pytest.raises(PolicyError):
        InstallerPolicy.from_json({**doc, "pip_features": {"manylinux1": "not a version"}})


_NAMES = st.from_regex(r"[A-Za-z0-9]([A-Za-z0-9._-]{0,12}[A-Za-z0-9])?", fullmatch=True)


@given(_NAMES, _NAMES)
def test_names_old_pips_match_also_match_for_new_pips(a: str, b: str) -> None:
    """What the lock spelling relies on: the old rule is finer than PEP 503's, so a spelling
    that suits pip 18.1 suits every later pip too."""
    if name_key("safe_name_lower", a) == name_key("safe_name_lower", b):
        assert name_key("pep503", a) == name_key("pep503", b)
