"""manifest.json: schema check, canonical text, atomic section update."""

from __future__ import annotations

from pathlib import Path

import pytest

from bundler.errors import BadInput
from bundler.models import manifest


def test_save_load_update(tmp_path: Path) -> None:
    manifest.save(tmp_path, {"packages": [], "target": {"python_version": "3.6.15"}})
    manifest.update(tmp_path, "audit", {"distro": "centos7"})
    data = manifest.load(tmp_path)
    assert data["audit"] == {"distro": "centos7"}
    assert data["schema_version"] == manifest.SCHEMA_VERSION
    text = (tmp_path / "manifest.json").read_text()
    assert text == manifest.dumps(data)


@pytest.mark.parametrize(
    "content",
    [
        None,
        "not json",
        '{"schema": "other"}',
        '{"schema": "airgap-kit/manifest", "schema_version": 99}',
    ],
)
def test_bad_manifests_are_bad_input(tmp_path: Path, content: str | None) -> None:
    if content is not None:
        (tmp_path / "manifest.json").write_text(content)
    with pytest.raises(BadInput):
        manifest.load(tmp_path)
