"""Free memory of the compute device: the GPU's where one is used, else the system's RAM."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys


def system_available_bytes() -> int:
    """Memory the system can give now (MemAvailable on Linux)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    pages = os.sysconf("SC_AVPHYS_PAGES") if hasattr(os, "sysconf") else 0
    return int(pages * os.sysconf("SC_PAGE_SIZE")) if pages else 0


def gpu_free_bytes() -> int | None:
    """Free memory on the first GPU: nvidia-smi for CUDA, most of unified RAM on Apple."""
    if sys.platform == "darwin":
        # Metal shares system memory; macOS lets a process use about three quarters of it.
        return int(system_available_bytes() * 0.75)
    tool = shutil.which("nvidia-smi")
    if tool is None:
        return None
    try:
        done = subprocess.run(
            [tool, "--query-gpu=memory.free", "--format=csv,noheader,nounits"],
            capture_output=True, text=True, timeout=5, check=True,
        )  # fmt: skip
        return int(done.stdout.split()[0]) * 1024 * 1024
    except (subprocess.SubprocessError, ValueError, IndexError):
        return None
