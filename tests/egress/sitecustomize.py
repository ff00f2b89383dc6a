"""Loaded by Python at start-up when this folder is on PYTHONPATH (engines under test only).

When HEARTH_EGRESS_LOG names a file, every socket.connect the process makes is appended to it,
through the interpreter's audit hook, so a test can check where the engine tried to go.
"""

import os
import sys

_LOG = os.environ.get("HEARTH_EGRESS_LOG")

if _LOG:

    def _record(event: str, args: tuple) -> None:  # type: ignore[type-arg]
        if event == "socket.connect":
            address = args[1]
            with open(_LOG, "a", encoding="utf-8") as f:
                f.write(repr(address) + "\n")

    sys.addaudithook(_record)
