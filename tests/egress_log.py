"""Reading what the egress guard (tests/egress/sitecustomize.py) recorded, and running a command
where the network has only loopback."""

from __future__ import annotations

import ast
from pathlib import Path

# A user namespace with its own network that has only loopback: no root needed.
OFFLINE = ["unshare", "-rn", "--", "sh", "-c", 'ip link set lo up && exec "$0" "$@"']


def attempts(log: Path) -> list[tuple[str, object]]:
    """(event, target) for each connect, name lookup or datagram the guard saw."""
    if not log.exists():
        return []
    return [ast.literal_eval(line) for line in log.read_text().splitlines()]


def is_loopback(target: object) -> bool:
    if isinstance(target, (str, bytes)):
        return True  # a Unix socket path: local by definition
    host = target[0]  # type: ignore[index]
    if host is None:
        return True  # getaddrinfo(None, port): the local host's own addresses
    name = host.decode() if isinstance(host, bytes) else str(host)
    return name.startswith("127.") or name in ("::1", "localhost", "")


def outside_loopback(log: Path) -> list[tuple[str, object]]:
    return [(event, target) for event, target in attempts(log) if not is_loopback(target)]
