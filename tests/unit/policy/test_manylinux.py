"""bundler.policy.manylinux: the one manylinux table, validated when loaded."""

from __future__ import annotations

import pytest

from bundler.policy.manylinux import ManylinuxLevel, ManylinuxPolicy, manylinux_policy
from bundler.policy.tables import PolicyError, load_json


def test_legacy_aliases_are_pep600s() -> None:
    policy = manylinux_policy()
    assert policy.aliases == {
        "manylinux1": (2, 5),
        "manylinux2010": (2, 12),
        "manylinux2014": (2, 17),
    }
    assert policy.level_name((2, 17)) == "manylinux2014"
    assert policy.level_name((2, 28)) == "manylinux_2_28"


@pytest.mark.parametrize(
    ("tag", "level"),
    [
        ("manylinux1_x86_64", ManylinuxLevel((2, 5), "x86_64")),
        ("manylinux2010_i686", ManylinuxLevel((2, 12), "i686")),
        ("manylinux_2_28_aarch64", ManylinuxLevel((2, 28), "aarch64")),
        ("linux_x86_64", None),
        ("manylinux2015_x86_64", None),  # no such alias in the data
        ("musllinux_1_1_x86_64", None),
        ("any", None),
    ],
)
def test_platform_tags_are_read_back(tag: str, level: ManylinuxLevel | None) -> None:
    assert manylinux_policy().parse(tag) == level


def test_platforms_of_an_aarch64_host_stop_at_its_oldest_level() -> None:
    tags = manylinux_policy().platforms(17, "aarch64")
    assert tags == ("manylinux_2_17_aarch64", "manylinux2014_aarch64", "linux_aarch64")


def test_a_broken_table_is_refused_when_loaded() -> None:
    doc = dict(load_json("platforms.json"))
    ManylinuxPolicy.from_json(doc)  # the shipped one is fine
    with pytest.raises(PolicyError):
        ManylinuxPolicy.from_json({**doc, "manylinux_aliases": {"manylinux1": [2, 500]}})
    with pytest.raises(PolicyError):
        ManylinuxPolicy.from_json({k: v for k, v in doc.items() if k != "max_glibc_minor"})


def test_a_new_alias_in_the_data_is_known_to_the_target_too(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The legacy names come from the data alone (the target's parser asks the policy)."""
    from bundler.models import target as target_mod
    from bundler.policy import manylinux as manylinux_mod

    doc = dict(load_json("platforms.json"))
    doc["manylinux_aliases"] = {**doc["manylinux_aliases"], "manylinux2099": [2, 28]}
    monkeypatch.setattr(manylinux_mod, "manylinux_policy", lambda: ManylinuxPolicy.from_json(doc))
    monkeypatch.setattr(target_mod, "manylinux_policy", manylinux_mod.manylinux_policy)
    assert manylinux_mod.manylinux_policy().parse("manylinux2099_x86_64") == ManylinuxLevel(
        (2, 28), "x86_64"
    )
    assert target_mod.Target.from_spec("3.11", "manylinux2099").glibc == (2, 28)
