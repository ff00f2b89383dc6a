"""Loaded by Python at start-up when this folder is on PYTHONPATH (engines under test only).

When HEARTH_EGRESS_LOG names a file, every way Python code reaches for the network is appended
to it through the interpreter's audit hook: connects (TCP and UDP), name lookups (which DNS
would answer) and datagrams sent without a connect. Native code (Qt, llama.cpp) bypasses these
hooks; the network-namespace tests cover it.
"""

import os
import sys

_LOG = os.environ.get("HEARTH_EGRESS_LOG")
_EVENTS = {
    "socket.connect": 1,  # (socket, address)
    "socket.sendto": 1,  # (socket, address)
    "socket.sendmsg": 1,  # (socket, address)
    "socket.getaddrinfo": 0,  # (host, port, family, type, protocol)
    "socket.gethostbyname": 0,  # (hostname,)
    "socket.gethostbyaddr": 0,  # (ip_address,)
}

if _LOG:

    def _record(event: str, args: tuple) -> None:  # type: ignore[type-arg]
        index = _EVENTS.get(event)
        if index is None:
            return
        target = args[index]
        if event == "socket.getaddrinfo":
            target = (args[0], args[1])  # the name looked up, with its port
        elif event.startswith("socket.gethostby"):
            target = (args[0], None)
        if target is None:  # sendmsg on a connected socket: its connect was recorded
            return
        with open(_LOG, "a", encoding="utf-8") as f:
            f.write(repr((event, target)) + "\n")

    sys.addaudithook(_record)
