"""A real MCP server for the tests, written with the `mcp` SDK's MCPServer (FastMCP before the
SDK's 2.0): arithmetic, a tool that hangs, one that ends the server, and one that says whether
the secret it was given (its environment over stdio, a header over HTTP) arrived.

    python tests/mcp_lab_server.py                  # over stdio
    python tests/mcp_lab_server.py http PORT        # streamable HTTP on 127.0.0.1:PORT/mcp
"""

from __future__ import annotations

import os
import sys
import time

from mcp.server.mcpserver import Context, MCPServer

EXPECTED_SECRET = "lab-secret-0123456789"

server = MCPServer("lab")


@server.tool()
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@server.tool()
def hang(seconds: float = 3600) -> str:
    """Answers only after `seconds`."""
    time.sleep(seconds)
    return "late"


@server.tool()
def crash() -> str:
    """Ends the server's process at once."""
    os._exit(3)


@server.tool()
def secret_arrived(ctx: Context) -> str:
    """Whether the expected secret arrived (never the secret itself): over HTTP in the
    X-Lab-Token header of the request, over stdio in LAB_TOKEN."""
    headers = ctx.headers
    given = headers.get("x-lab-token") if headers is not None else os.environ.get("LAB_TOKEN")
    return "yes" if given == EXPECTED_SECRET else "no"


@server.tool()
def big() -> str:
    """A result far longer than a context should take."""
    return "x" * 50_000


if __name__ == "__main__":
    if sys.argv[1:2] == ["http"]:
        server.run("streamable-http", host="127.0.0.1", port=int(sys.argv[2]))
    else:
        server.run("stdio")
