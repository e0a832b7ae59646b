"""The Ansible controller in the kit: ansible-core 2.16 for the controller's own Python.

Inside the air gap the machine that runs `ansible-playbook` has no Ansible either. The kit
therefore carries a second wheelhouse, for the *controller* (not the hosts):

    kit-NAME/controller/wheelhouse/   ansible-core 2.16.x and its dependencies, made by the fetch
                                      pipeline for the controller target (default CPython 3.11,
                                      manylinux2014): *.whl, requirements.lock, manifest.json,
                                      install.sh, system-packages.yml
    kit-NAME/controller/setup.sh      POSIX sh, offline: finds a CPython of that X.Y (or
                                      --python PATH), creates a venv with the wheelhouse's
                                      install.sh (--no-index, --require-hashes), checks
                                      `ansible-playbook --version` and prints how to run the
                                      playbooks with it

How the wheels get there: `bundler fetch-controller`
(`bundler.kit.controller_fetch.fetch_wheelhouse`) runs the ordinary fetch pipeline
(`bundler.wheelhouse.fetch`, same cache, `--offline` capable) for the requirements and the
controller target of `bundler/data/controller.json` into a directory (default
`controller-wheelhouse/`); `bundler pack` only reads that directory
(`bundler.kit.controller_setup.prepare`, which also renders setup.sh), as it reads
`wheelhouse/`. Pack never touches the network and two packs of the same directories are
byte-identical; the directory is the controller's lock.

This module is the policy and what a controller wheelhouse holds (`policy`, `controller_target`,
`ControllerInfo`, the paths inside a kit): what pack, verify and inspect read. It imports neither
the fetch pipeline nor jinja2, so `bundler verify` and `bundler inspect` do not load them.

Why ansible-core 2.16 (`>=2.16,<2.17`) and which controller Pythons: `data/controller.json`
and its `_source` (the ansible-core support matrix; ansible/ansible#81866 removed Python 2.7 and
3.6 targets in 2.17). The wheelhouse is for one X.Y (PyYAML, MarkupSafe and cffi ship
per-version binary wheels), so setup.sh needs exactly that X.Y, one of 3.10-3.12.

The bootstrap part (optional): a CentOS 7 controller has only python3 3.6, on which ansible-core
2.16 does not run, and builds its Python >= 3.10 with the python_build role, which needs an
Ansible first. `bundler fetch-controller --bootstrap` therefore fetches a second, small
wheelhouse of the policy's `bootstrap` rows (ansible-core 2.11, the last release whose
controller runs on Python 3.6, for CPython 3.6.8 / manylinux2014, `bootstrap_policy()`):

    kit-NAME/controller/bootstrap/wheelhouse/   that wheelhouse (default source directory:
                                                controller-bootstrap-wheelhouse/)
    kit-NAME/controller/bootstrap.sh            POSIX sh, offline: python3 -> a venv with
                                                ansible-core 2.11 -> playbooks/build-python.yml
                                                (the kit's CPython + OpenSSL 1.1.1) -> setup.sh
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from bundler.errors import BadInput, UnknownTarget
from bundler.models import manifest as manifest_mod
from bundler.models.target import Target
from bundler.policy.tables import load_json

POLICY_FILE = "controller.json"
DEFAULT_DIR = Path("controller-wheelhouse")
"""Where `bundler fetch-controller` writes and `bundler pack` reads, by default."""
PREFIX = "controller"
WHEELHOUSE = f"{PREFIX}/wheelhouse"
"""The controller wheelhouse inside a kit."""
SETUP_SH = f"{PREFIX}/setup.sh"
MANIFEST = f"{WHEELHOUSE}/{manifest_mod.FILENAME}"
BOOTSTRAP_DIR = Path("controller-bootstrap-wheelhouse")
"""Where `bundler fetch-controller --bootstrap` writes and `bundler pack` looks, by default."""
BOOTSTRAP_WHEELHOUSE = f"{PREFIX}/bootstrap/wheelhouse"
"""The bootstrap wheelhouse inside a kit (ansible-core 2.11 for CentOS 7's python3)."""
BOOTSTRAP_SH = f"{PREFIX}/bootstrap.sh"
BOOTSTRAP_MANIFEST = f"{BOOTSTRAP_WHEELHOUSE}/{manifest_mod.FILENAME}"
BUILD_PLAYBOOK = "playbooks/build-python.yml"
"""The play bootstrap.sh runs with ansible-core 2.11 (kit_verify, media_repo, python_build)."""
REQUIRED_FILES = ("manifest.json", "requirements.lock", "install.sh")
ANSIBLE_CORE = "ansible-core"


@dataclass(frozen=True)
class ControllerPolicy:
    """`bundler/data/controller.json`, validated: what the controller wheelhouse must hold."""

    requirements: tuple[Requirement, ...]
    """The roots to fetch, e.g. ansible-core>=2.16,<2.17."""
    pythons: tuple[str, ...]
    """Controller CPython X.Y versions the ansible-core release supports ('3.10', ...)."""
    default_python: str
    default_platform: str
    why: str
    """Why this ansible-core range, for problem lines ('the last release whose ...')."""
    source: dict[str, str] = field(compare=False)
    bootstrap: bool = False
    """True for the bootstrap rows (ansible-core 2.11 for CentOS 7's python3)."""

    @property
    def ansible_core(self) -> Requirement:
        """The ansible-core requirement among the roots."""
        for req in self.requirements:
            if canonicalize_name(req.name) == ANSIBLE_CORE:
                return req
        raise AssertionError(f"{POLICY_FILE} names no {ANSIBLE_CORE} requirement")

    def requirement_texts(self) -> list[str]:
        """The roots as manifest.json records them (packaging's normal form)."""
        return [str(r) for r in self.requirements]


def _load(data: dict[str, Any], source: dict[str, str], bootstrap: bool) -> ControllerPolicy:
    try:
        reqs = tuple(Requirement(text) for text in data["requirements"])
        loaded = ControllerPolicy(
            requirements=reqs,
            pythons=tuple(str(v) for v in data["controller_pythons"]),
            default_python=str(data["default_python"]),
            default_platform=str(data["default_platform"]),
            why=str(data["why"]),
            source=source,
            bootstrap=bootstrap,
        )
    except (KeyError, TypeError, InvalidRequirement) as exc:  # a broken package, not user input
        raise AssertionError(f"bundler/data/{POLICY_FILE} is malformed: {exc}") from exc
    loaded.ansible_core  # noqa: B018 - fails early if the roots lack ansible-core
    return loaded


@cache
def policy() -> ControllerPolicy:
    """The shipped controller policy (parsed once per process): ansible-core 2.16."""
    data: dict[str, Any] = load_json(POLICY_FILE)
    return _load(data, dict(data["_source"]), bootstrap=False)


@cache
def bootstrap_policy() -> ControllerPolicy:
    """The bootstrap rows of `controller.json` (its `bootstrap` object): ansible-core 2.11
    for CPython 3.6 (CentOS 7's python3), default 3.6.8 / manylinux2014. Source: the
    file's `_source.bootstrap` (ansible-core support matrix, CentOS 7 release notes)."""
    data: dict[str, Any] = load_json(POLICY_FILE)
    if not isinstance(data.get("bootstrap"), dict):
        raise AssertionError(f"bundler/data/{POLICY_FILE} has no bootstrap object")
    return _load(data["bootstrap"], dict(data["_source"]), bootstrap=True)


def controller_target(
    python: str | None = None,
    platform: str | None = None,
    rules: ControllerPolicy | None = None,
) -> Target:
    """The controller's target (default from `rules`, the main policy by default: CPython
    3.11, manylinux2014; the bootstrap policy: CPython 3.6.8, manylinux2014).

    Raises UnknownTarget for an unknown version or platform, and for an X.Y the policy's
    ansible-core does not run on (e.g. 3.9 or 3.13 for ansible-core 2.16, 3.11 for 2.11).
    """
    rules = rules or policy()
    target = Target.from_spec(python or rules.default_python, platform or rules.default_platform)
    if target.short_version not in rules.pythons:
        raise UnknownTarget(
            f"--controller-python {python}: {rules.ansible_core} runs on CPython "
            f"{', '.join(rules.pythons)} only (ansible-core support matrix)"
        )
    return target


@dataclass(frozen=True)
class ControllerInfo:
    """What a controller wheelhouse holds, read from its manifest.json."""

    target: Target
    ansible_core: str | None
    """The locked ansible-core version (None when the wheelhouse has none: a problem)."""
    packages: int
    """Packages installed into the controller venv (ansible-core included)."""
    requirements: tuple[str, ...]

    @classmethod
    def from_manifest(cls, manifest: dict[str, Any]) -> ControllerInfo:
        """Raises BadInput when the manifest has no usable target or a package of an unknown
        role (`manifest.Role.parse`)."""
        try:
            target = Target.from_dict(manifest["target"])
        except (KeyError, TypeError, ValueError) as exc:
            raise BadInput(f"no usable target record ({exc})") from None
        app = [
            p
            for p in manifest.get("packages", [])
            if manifest_mod.Role.parse(p.get("role")) is manifest_mod.Role.APP
        ]
        version = next(
            (
                str(p.get("version"))
                for p in app
                if canonicalize_name(str(p.get("name", ""))) == ANSIBLE_CORE
            ),
            None,
        )
        return cls(target, version, len(app), tuple(manifest.get("requirements", [])))

    @classmethod
    def from_directory(cls, directory: Path) -> ControllerInfo:
        """From DIR/manifest.json (BadInput naming the file when unusable)."""
        manifest = manifest_mod.load(directory)
        try:
            return cls.from_manifest(manifest)
        except BadInput as exc:
            raise BadInput(f"{directory / manifest_mod.FILENAME}: {exc}") from None

    def problems(self, rules: ControllerPolicy | None = None) -> list[str]:
        """Why this is not a controller wheelhouse of `rules` (default: the main policy;
        [] when it is)."""
        rules = rules or policy()
        found = []
        if self.ansible_core is None:
            found.append(f"holds no {ANSIBLE_CORE}")
        else:
            try:
                admitted = rules.ansible_core.specifier.contains(Version(self.ansible_core))
            except InvalidVersion:
                admitted = False
            if not admitted:
                found.append(
                    f"{ANSIBLE_CORE} {self.ansible_core} is not {rules.ansible_core} ({rules.why})"
                )
        if self.target.short_version not in rules.pythons:
            found.append(
                f"made for CPython {self.target.short_version}; {rules.ansible_core} runs on "
                f"{', '.join(rules.pythons)}"
            )
        return found

    def describe(self) -> str:
        """e.g. 'ansible-core 2.16.19 (9 packages) for CPython 3.11.15 (cp311), ...'."""
        return (
            f"{ANSIBLE_CORE} {self.ansible_core or '(missing)'} ({self.packages} packages) "
            f"for {self.target.describe()}"
        )

    def to_dict(self) -> dict[str, Any]:
        """inspect --json's `controller` record."""
        return {
            "ansible_core": self.ansible_core,
            "packages": self.packages,
            "python_version": self.target.python_version,
            "python_short": self.target.short_version,
            "platform": self.target.platform,
            "target": self.target.to_dict(),
            "requirements": list(self.requirements),
            "setup": SETUP_SH,
        }
