"""manylinux policy: levels, legacy aliases, the oldest level per architecture, a sane ceiling.

One typed view of `data/platforms.json` (PEP 513/571/599/600), loaded and validated once by
`manylinux_policy()`. The target (`models.target`), the resolver's hints and the audit's glibc
checks all ask it, so the table exists once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from bundler.policy.tables import PolicyError, load_json

# Legacy names are any 'manylinuxNNNN'; which ones exist is the data's `manylinux_aliases`.
_TAG = re.compile(
    r"^(?:(?P<legacy>manylinux\d+)|manylinux_(?P<major>\d+)_(?P<minor>\d+))_(?P<arch>[a-z0-9_]+)$"
)


@dataclass(frozen=True)
class ManylinuxLevel:
    """One manylinux platform tag read back: glibc (major, minor) and architecture."""

    glibc: tuple[int, int]
    arch: str

    @property
    def name(self) -> str:
        """The level's shortest name: 'manylinux2014' for 2.17, else 'manylinux_2_N'."""
        return manylinux_policy().level_name(self.glibc)


@dataclass(frozen=True)
class ManylinuxPolicy:
    """The manylinux facts of `data/platforms.json`.

    `aliases`: legacy name -> glibc (major, minor); `min_glibc_minor`: architecture -> the
    oldest glibc 2.N with a manylinux tag; `max_glibc_minor`: the highest 2.N a target may name.
    """

    aliases: dict[str, tuple[int, int]]
    min_glibc_minor: dict[str, int]
    max_glibc_minor: int

    @classmethod
    def from_json(cls, doc: Any) -> ManylinuxPolicy:
        """Validate and type the JSON document; PolicyError naming the bad entry."""
        try:
            aliases = {
                str(k): (int(v[0]), int(v[1]))
                for k, v in doc["manylinux_aliases"].items()
                if not k.startswith("_")
            }
            minimum = {str(k): int(v) for k, v in doc["min_glibc_minor"].items()}
            maximum = int(doc["max_glibc_minor"])
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise PolicyError(f"data/platforms.json: malformed ({exc!r})") from None
        if any(g[0] != 2 or not 0 < g[1] <= maximum for g in aliases.values()):
            raise PolicyError("data/platforms.json: an alias names a glibc outside 2.1..2.max")
        if any(not 0 < m <= maximum for m in minimum.values()):
            raise PolicyError("data/platforms.json: a minimum glibc is outside 2.1..2.max")
        return cls(aliases, minimum, maximum)

    @property
    def architectures(self) -> tuple[str, ...]:
        return tuple(sorted(self.min_glibc_minor))

    def legacy_alias(self, glibc: tuple[int, int]) -> str | None:
        """'manylinux2014' for (2, 17); None when the level has no legacy name."""
        return next((name for name, g in self.aliases.items() if g == glibc), None)

    def level_name(self, glibc: tuple[int, int]) -> str:
        """The name users know a level by: the legacy alias, else 'manylinux_2_N'."""
        return self.legacy_alias(glibc) or f"manylinux_{glibc[0]}_{glibc[1]}"

    def parse(self, platform: str) -> ManylinuxLevel | None:
        """A manylinux platform tag ('manylinux2010_x86_64', 'manylinux_2_28_aarch64') read
        back; None for any other platform (linux_*, musllinux_*, macOS...)."""
        match = _TAG.match(platform)
        if not match:
            return None
        if match["legacy"]:
            if match["legacy"] not in self.aliases:
                return None
            glibc = self.aliases[match["legacy"]]
        else:
            glibc = (int(match["major"]), int(match["minor"]))
        return ManylinuxLevel(glibc, match["arch"])

    def platforms(self, glibc_minor: int, arch: str) -> tuple[str, ...]:
        """Every platform tag a glibc 2.`glibc_minor` `arch` host accepts, best first (PEP 600:
        each level down to the architecture's oldest, its legacy alias right after it), then
        `linux_<arch>`."""
        out: list[str] = []
        for minor in range(glibc_minor, self.min_glibc_minor[arch] - 1, -1):
            out.append(f"manylinux_2_{minor}_{arch}")
            legacy = self.legacy_alias((2, minor))
            if legacy:
                out.append(f"{legacy}_{arch}")
        out.append(f"linux_{arch}")
        return tuple(out)


@cache
def manylinux_policy() -> ManylinuxPolicy:
    """The shipped policy, parsed and validated once per process."""
    return ManylinuxPolicy.from_json(load_json("platforms.json"))
