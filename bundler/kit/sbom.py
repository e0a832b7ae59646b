"""The kit's SBOM: `sbom.cdx.json`, CycloneDX 1.6 JSON built with cyclonedx-python-lib.

One component per wheel (name, version, sha256, license, download URL, purl `pkg:pypi/...`),
one per source tarball (`pkg:generic/...` with its upstream URL), the dependency edges from
manifest.json, and the kit itself as the metadata component depending on the root
requirements. The controller wheelhouse (ansible-core, `controller`) adds its wheels as
components with bom-ref `controller:pypi:NAME` and property `airgap-kit:role` = controller, its
own edges, and its roots under the kit; the controller's bootstrap wheelhouse (ansible-core 2.11
for CentOS 7's python3) likewise as `controller-bootstrap:pypi:NAME` (role
`controller-bootstrap`). Reproducible: the serial number is derived from the
content (uuid5) and the timestamp is the kit's fixed timestamp, so the same inputs give the
same bytes.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from cyclonedx.model import (
    ExternalReference,
    ExternalReferenceType,
    HashAlgorithm,
    HashType,
    Property,
    XsUri,
)
from cyclonedx.model.bom import Bom, BomMetaData
from cyclonedx.model.component import Component, ComponentType
from cyclonedx.model.dependency import Dependency
from cyclonedx.model.impact_analysis import ImpactAnalysisAffectedStatus, ImpactAnalysisState
from cyclonedx.model.vulnerability import (
    BomTarget,
    BomTargetVersionRange,
    Vulnerability,
    VulnerabilityAnalysis,
    VulnerabilityRating,
    VulnerabilityReference,
    VulnerabilityScoreSource,
    VulnerabilitySeverity,
    VulnerabilitySource,
)
from cyclonedx.output.json import JsonV1Dot6
from packageurl import PackageURL
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from bundler import __version__
from bundler.gate.evaluate import GateResult
from bundler.models import manifest as manifest_mod

try:  # cyclonedx-python-lib >= 11 moved the factory; older releases only have the first path
    from cyclonedx.contrib.license.factories import LicenseFactory
except ImportError:  # pragma: no cover - depends on the installed library version
    from cyclonedx.factory.license import LicenseFactory

FILENAME = "sbom.cdx.json"
_MAX_LICENSE = 120  # some projects put the whole license text in METADATA's License field


@dataclass(frozen=True)
class SourceEntry:
    """A source tarball as the SBOM records it."""

    filename: str
    sha256: str
    project: str | None
    version: str | None
    url: str | None


def render(
    kit_name: str,
    manifest: dict[str, Any],
    sources: Iterable[SourceEntry],
    timestamp: int,
    controller: dict[str, Any] | None = None,
    gate: GateResult | None = None,
    bootstrap: dict[str, Any] | None = None,
) -> str:
    """The SBOM's JSON text (CycloneDX 1.6) for a kit named `kit_name`; `controller` is the
    controller wheelhouse's manifest.json (None: no controller part), `bootstrap` the
    controller bootstrap's (None: none); with `gate`, the carried vulnerability findings as
    `vulnerabilities` (see `_vulnerabilities`)."""
    wheels = {_canon(p["name"]): _wheel_component(p) for p in manifest.get("packages", [])}
    tools = {
        _canon(p["name"]): _wheel_component(p, part="controller")
        for p in (controller or {}).get("packages", [])
    }
    boot = {
        _canon(p["name"]): _wheel_component(p, part="controller-bootstrap")
        for p in (bootstrap or {}).get("packages", [])
    }
    tarballs = [_source_component(s) for s in sorted(sources, key=lambda s: s.filename)]
    kit = Component(
        name=kit_name,
        type=ComponentType.APPLICATION,
        bom_ref=f"kit:{kit_name}",
        version=str(manifest.get("tool", {}).get("version", __version__)),
        description=f"airgap-kit bundle for {_target_line(manifest)}",
    )
    bom = Bom(
        components=[*wheels.values(), *tools.values(), *boot.values(), *tarballs],
        metadata=BomMetaData(
            component=kit,
            timestamp=datetime.fromtimestamp(timestamp, tz=timezone.utc),
            properties=[Property(name="airgap-kit:target", value=_target_line(manifest))],
        ),
    )
    roots = [wheels[n] for n in _root_names(manifest) if n in wheels]
    roots += [tools[n] for n in _root_names(controller or {}) if n in tools]
    roots += [boot[n] for n in _root_names(bootstrap or {}) if n in boot]
    bom.dependencies.add(Dependency(ref=kit.bom_ref, dependencies=_deps(roots + tarballs)))
    for part, components in (
        (manifest, wheels),
        (controller or {}, tools),
        (bootstrap or {}, boot),
    ):
        _add_edges(bom, part, components)
    for tarball in tarballs:
        bom.dependencies.add(Dependency(ref=tarball.bom_ref))
    for vulnerability in _vulnerabilities(gate, wheels):
        bom.vulnerabilities.add(vulnerability)
    bom.serial_number = _serial(kit_name, manifest, tarballs, controller, bootstrap)
    text: str = JsonV1Dot6(bom).output_as_string(indent=2)
    return text + "\n"


def _add_edges(bom: Bom, manifest: dict[str, Any], components: dict[str, Component]) -> None:
    """Each component's dependencies from the manifest's edges (names canonicalised)."""
    children: dict[str, list[Component]] = {name: [] for name in components}
    for parent, child in manifest.get("edges", []):
        if _canon(parent) in components and _canon(child) in components:
            children[_canon(parent)].append(components[_canon(child)])
    for name, component in components.items():
        bom.dependencies.add(Dependency(ref=component.bom_ref, dependencies=_deps(children[name])))


def _wheel_component(package: dict[str, Any], part: str = "") -> Component:
    sha = HashType(alg=HashAlgorithm.SHA_256, content=package["sha256"])
    refs = []
    if package.get("url"):
        refs.append(
            ExternalReference(
                type=ExternalReferenceType.DISTRIBUTION, url=XsUri(package["url"]), hashes=[sha]
            )
        )
    properties = [Property(name="airgap-kit:filename", value=package["filename"])]
    role = part or manifest_mod.Role.parse(package.get("role")).value
    properties.append(Property(name="airgap-kit:role", value=role))
    if package.get("built_from"):
        properties.append(Property(name="airgap-kit:built_from", value=package["built_from"]))
    return Component(
        name=package["name"],
        version=package["version"],
        type=ComponentType.LIBRARY,
        bom_ref=f"{part + ':' if part else ''}pypi:{_canon(package['name'])}",
        purl=PackageURL(
            type="pypi",
            name=_canon(package["name"]),
            version=package["version"],
            qualifiers={"file_name": package["filename"]},
        ),
        hashes=[sha],
        licenses=_licenses(package.get("license")),
        description=package.get("summary") or None,
        external_references=refs,
        properties=properties,
    )


def _source_component(source: SourceEntry) -> Component:
    sha = HashType(alg=HashAlgorithm.SHA_256, content=source.sha256)
    qualifiers = {"file_name": source.filename}
    refs = []
    if source.url:
        qualifiers["download_url"] = source.url
        refs.append(
            ExternalReference(
                type=ExternalReferenceType.DISTRIBUTION, url=XsUri(source.url), hashes=[sha]
            )
        )
    name = source.project or source.filename
    return Component(
        name=name,
        version=source.version,
        type=ComponentType.APPLICATION if name == "python" else ComponentType.LIBRARY,
        bom_ref=f"source:{source.filename}",
        purl=PackageURL(type="generic", name=name, version=source.version, qualifiers=qualifiers),
        hashes=[sha],
        external_references=refs,
        properties=[Property(name="airgap-kit:source-tarball", value=source.filename)],
    )


def _vulnerabilities(gate: GateResult | None, wheels: dict[str, Component]) -> list[Vulnerability]:
    """One CycloneDX vulnerability per finding (OSV id, aliases as references, CVSS rating,
    the affected component and version, the fixed versions as the recommendation). An ignored
    finding carries an analysis: state `in_triage` (accepted for now, to be looked at again by
    its expiry date) with the policy's reason and expiry as the detail; the gate's status
    of every finding is the property `airgap-kit:gate`."""
    if gate is None:
        return []
    out = []
    for status in gate.vulnerabilities:
        finding = status.finding
        component = wheels.get(_canon(finding.package))
        if component is None:
            continue
        analysis = None
        if status.ignore is not None and status.status == "ignored":
            analysis = VulnerabilityAnalysis(
                state=ImpactAnalysisState.IN_TRIAGE,
                detail=f"ignored by the policy until {status.ignore.expires}: "
                f"{status.ignore.reason}",
            )
        out.append(
            Vulnerability(
                bom_ref=f"vuln:{finding.id}:{_canon(finding.package)}",
                id=finding.id,
                source=_osv_source(finding.id),
                references=[
                    VulnerabilityReference(id=a, source=_osv_source(a)) for a in finding.aliases
                ],
                ratings=[_rating(finding.severity, finding.score, finding.vector)],
                description=finding.summary or None,
                recommendation=(
                    f"upgrade {finding.package} to {' or '.join(finding.fixed)}"
                    if finding.fixed
                    else None
                ),
                published=_time(finding.published),
                updated=_time(finding.modified),
                affects=[
                    BomTarget(
                        ref=f"pypi:{_canon(finding.package)}",
                        versions=[
                            BomTargetVersionRange(
                                version=finding.version,
                                status=ImpactAnalysisAffectedStatus.AFFECTED,
                            )
                        ],
                    )
                ],
                analysis=analysis,
                properties=[
                    Property(name="airgap-kit:gate", value=status.status),
                    *[Property(name="airgap-kit:affected", value=r) for r in finding.affected],
                ],
            )
        )
    return out


def _osv_source(vuln_id: str) -> VulnerabilitySource:
    return VulnerabilitySource(name="OSV", url=XsUri(f"https://osv.dev/vulnerability/{vuln_id}"))


def _rating(severity: str | None, score: float | None, vector: str | None) -> VulnerabilityRating:
    method = None
    if vector:
        method = next(
            (m for prefix, m in _CVSS_METHODS if vector.startswith(prefix)),
            VulnerabilityScoreSource.CVSS_V2,
        )
    return VulnerabilityRating(
        source=VulnerabilitySource(name="OSV"),
        score=Decimal(str(score)) if score is not None else None,
        severity=VulnerabilitySeverity(severity) if severity else VulnerabilitySeverity.UNKNOWN,
        method=method,
        vector=vector,
    )


_CVSS_METHODS = (
    ("CVSS:4.0/", VulnerabilityScoreSource.CVSS_V4),
    ("CVSS:3.1/", VulnerabilityScoreSource.CVSS_V3_1),
    ("CVSS:3.0/", VulnerabilityScoreSource.CVSS_V3),
)


def _time(text: str | None) -> datetime | None:
    """An OSV timestamp (RFC 3339, 'Z' suffix) as an aware datetime; None if unreadable."""
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def _licenses(text: str | None) -> list[Any]:
    if not text or not text.strip():
        return []
    first = text.strip().splitlines()[0].strip()
    if len(first) > _MAX_LICENSE:
        first = first[: _MAX_LICENSE - 3] + "..."
    return [LicenseFactory().make_from_string(first)]


def _deps(components: Iterable[Component]) -> list[Dependency]:
    return [Dependency(ref=c.bom_ref) for c in components]


def _root_names(manifest: dict[str, Any]) -> list[str]:
    names = []
    for text in manifest.get("requirements", []):
        try:
            names.append(_canon(Requirement(text).name))
        except InvalidRequirement:
            continue
    return names


def _target_line(manifest: dict[str, Any]) -> str:
    target = manifest.get("target", {})
    return (
        f"CPython {target.get('python_version', '?')} "
        f"({', '.join(target.get('abis', []))}) {target.get('platform', '?')}"
    )


def _serial(
    kit_name: str,
    manifest: dict[str, Any],
    tarballs: list[Component],
    controller: dict[str, Any] | None = None,
    bootstrap: dict[str, Any] | None = None,
) -> uuid.UUID:
    """A content-derived serial number: the same kit contents give the same SBOM bytes."""
    h = hashlib.sha256(kit_name.encode())
    for package in sorted(manifest.get("packages", []), key=lambda p: str(p["filename"])):
        h.update(f"{package['filename']}={package['sha256']}\n".encode())
    for package in sorted((controller or {}).get("packages", []), key=lambda p: p["filename"]):
        h.update(f"controller:{package['filename']}={package['sha256']}\n".encode())
    for package in sorted((bootstrap or {}).get("packages", []), key=lambda p: p["filename"]):
        h.update(f"controller-bootstrap:{package['filename']}={package['sha256']}\n".encode())
    for tarball in tarballs:
        h.update(f"{tarball.bom_ref.value}={next(iter(tarball.hashes)).content}\n".encode())
    return uuid.uuid5(uuid.NAMESPACE_URL, f"urn:airgap-kit:sbom:{h.hexdigest()}")


def _canon(name: str) -> str:
    return str(canonicalize_name(name))
