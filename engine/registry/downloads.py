"""Model downloads: resumable (HTTP Range), checked against sha256, landing atomically.

A download writes `<name>.partial` beside its target; after an interruption the next pull
resumes from its size. Free disk space is checked first; a checksum mismatch deletes the partial
file and says so; cancelling keeps the partial file for a later resume.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx

from engine.errors import HearthError, InvalidInput
from engine.registry.catalog import CatalogFile

CHUNK = 1 << 20
HF_HOST = "https://huggingface.co"


class DownloadFailed(HearthError):
    status = 502
    type = "server_error"
    code = "download_failed"


class NotEnoughSpace(HearthError):
    status = 507
    type = "server_error"
    code = "insufficient_storage"


@dataclass
class DownloadProgress:
    file: str
    completed: int
    total: int | None
    bytes_per_second: float
    status: str = "downloading"


def mirror_url(url: str, hf_endpoint: str | None) -> str:
    """Send Hugging Face URLs to the configured mirror (HF_ENDPOINT style)."""
    if hf_endpoint and url.startswith(HF_HOST + "/"):
        return hf_endpoint.rstrip("/") + url[len(HF_HOST) :]
    return url


def file_from_url(url: str, sha256: str | None = None, name: str | None = None) -> CatalogFile:
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise InvalidInput("Only http and https URLs can be pulled.", param="url")
    filename = name or Path(parsed.path).name
    if not filename.lower().endswith(".gguf"):
        raise InvalidInput("A URL pull must name a .gguf file.", param="url")
    return CatalogFile(name=filename, url=url, sha256=sha256)


def _check_status(response: httpx.Response, name: str) -> None:
    if response.status_code not in (200, 206):
        raise DownloadFailed(
            f"Downloading {name} failed: the server answered {response.status_code}."
        )


def free_bytes(folder: Path) -> int:
    probe = folder
    while not probe.exists():
        probe = probe.parent
    return shutil.disk_usage(probe).free


class Downloader:
    def __init__(
        self,
        hf_endpoint: str | None,
        read_timeout: float,
        free_space: Callable[[Path], int] = free_bytes,
    ) -> None:
        self._hf_endpoint = hf_endpoint
        self._timeout = httpx.Timeout(read_timeout, connect=10.0)
        self._free_space = free_space

    def fetch(
        self,
        entry: CatalogFile,
        target: Path,
        on_progress: Callable[[DownloadProgress], None],
        cancel: threading.Event,
    ) -> Path:
        """Download one file to `target` (blocking). Returns the path, or raises."""
        if entry.url is None:
            raise InvalidInput(f"{entry.name} has no download URL.", param="model")
        url = mirror_url(entry.url, self._hf_endpoint)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".partial")
        have = partial.stat().st_size if partial.exists() else 0
        if entry.size is not None:
            needed = entry.size - have
            if needed > self._free_space(target.parent):
                raise NotEnoughSpace(
                    f"{entry.name} needs {needed / 1e6:.0f} MB more and the disk has "
                    f"{self._free_space(target.parent) / 1e6:.0f} MB free."
                )
        digest = hashlib.sha256()
        if have:
            with partial.open("rb") as f:
                while block := f.read(CHUNK):
                    digest.update(block)
        try:
            have, digest = self._transfer(entry, url, partial, have, digest, on_progress, cancel)
        except httpx.TimeoutException as exc:
            raise DownloadFailed(
                f"The server stopped sending {entry.name}; pull again to resume."
            ) from exc
        except httpx.TransportError as exc:
            raise DownloadFailed(
                f"The connection broke while downloading {entry.name}; pull again to resume."
            ) from exc
        if entry.size is not None and have != entry.size:
            raise DownloadFailed(f"{entry.name} arrived incomplete ({have} of {entry.size} bytes).")
        if entry.sha256 is not None and digest.hexdigest() != entry.sha256:
            partial.unlink(missing_ok=True)
            raise DownloadFailed(
                f"{entry.name} failed its sha256 check; the download was deleted. Try again, or "
                "check the source."
            )
        os.replace(partial, target)
        on_progress(DownloadProgress(entry.name, have, have, 0.0, status="verified"))
        return target

    def _transfer(
        self,
        entry: CatalogFile,
        url: str,
        partial: Path,
        have: int,
        digest: Any,
        on_progress: Callable[[DownloadProgress], None],
        cancel: threading.Event,
    ) -> tuple[int, Any]:
        """Append the rest of the file to `partial`; returns the bytes held and their digest."""
        if entry.size is not None and have == entry.size:
            return have, digest  # a complete partial file: only the checks remain
        headers = {"Range": f"bytes={have}-"} if have else {}
        started, done_now = time.monotonic(), 0
        client = httpx.Client(timeout=self._timeout, follow_redirects=True, trust_env=True)
        with client, client.stream("GET", url, headers=headers) as response:
            _check_status(response, entry.name)
            if response.status_code == 200 and have:
                have, digest = 0, hashlib.sha256()  # the server ignored Range: start over
                partial.unlink(missing_ok=True)
            length = response.headers.get("content-length")
            total = entry.size or (have + int(length) if length and length.isdigit() else None)
            room = self._free_space(partial.parent)
            if total is not None and entry.size is None and total - have > room:
                raise NotEnoughSpace(f"{entry.name} does not fit on the disk.")
            with partial.open("ab") as out:
                for block in response.iter_bytes(CHUNK):
                    if cancel.is_set():
                        raise DownloadFailed(
                            f"The download of {entry.name} was cancelled; pull again to resume."
                        )
                    out.write(block)
                    digest.update(block)
                    have += len(block)
                    done_now += len(block)
                    speed = done_now / max(time.monotonic() - started, 1e-6)
                    on_progress(DownloadProgress(entry.name, have, total, speed))
                out.flush()
                os.fsync(out.fileno())
        return have, digest
