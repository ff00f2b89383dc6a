"""Fetching an image by URL, only when the user's settings allow it, and never from inside.

Every address a host name resolves to must be public: loopback, private, link-local, multicast,
reserved and unspecified ranges are refused, for the first URL and after every redirect. The
body is capped in size and the whole fetch in time.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Callable
from urllib.parse import urljoin, urlparse

import httpx

from engine.errors import InvalidInput

Resolver = Callable[[str], list[str]]
MAX_REDIRECTS = 5


def resolve_host(host: str) -> list[str]:
    return sorted({str(info[4][0]) for info in socket.getaddrinfo(host, None)})


def _refuse(reason: str, param: str) -> InvalidInput:
    return InvalidInput(
        f"The image URL was refused: {reason}.", param=param, code="remote_image_refused"
    )


def check_public(url: str, resolve: Resolver, param: str) -> None:
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise _refuse("only http and https URLs can be fetched", param)
    try:
        addresses = resolve(parsed.hostname)
    except OSError as exc:
        raise _refuse("its host name does not resolve", param) from exc
    for text in addresses:
        address = ipaddress.ip_address(text.split("%")[0])
        if (
            address.is_loopback or address.is_private or address.is_link_local
            or address.is_multicast or address.is_reserved or address.is_unspecified
        ):  # fmt: skip
            raise _refuse("it points inside this machine or its network", param)


def fetch_image(
    url: str,
    *,
    max_bytes: int,
    time_limit: float,
    param: str,
    resolve: Resolver = resolve_host,
    transport: httpx.BaseTransport | None = None,
) -> bytes:
    deadline = time.monotonic() + time_limit
    with httpx.Client(
        timeout=time_limit, follow_redirects=False, transport=transport, trust_env=False
    ) as client:
        for _ in range(MAX_REDIRECTS + 1):
            check_public(url, resolve, param)
            with client.stream("GET", url) as response:
                if response.is_redirect:
                    url = urljoin(url, response.headers.get("location", ""))
                    continue
                if response.status_code != 200:
                    raise _refuse(f"the server answered {response.status_code}", param)
                data = bytearray()
                for block in response.iter_bytes():
                    data += block
                    if len(data) > max_bytes:
                        raise _refuse(
                            f"the image is larger than {max_bytes // (1024 * 1024)} MiB", param
                        )
                    if time.monotonic() > deadline:
                        raise _refuse("it took longer than the time limit", param)
                return bytes(data)
    raise _refuse("too many redirects", param)
