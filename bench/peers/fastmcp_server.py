"""The FastMCP peer: FastMCP.from_openapi over Mistral's spec, upstream = the bench stub.

usage: python fastmcp_server.py SPEC.json UPSTREAM_URL [stdio | http PORT]

SPEC.json is the spec prepared by patch_spec.py. Every operation becomes a tool (FastMCP's
default route map). HTTP mode is Streamable HTTP at /mcp, stateless with JSON responses, the
same shape as `mistral-mcp serve --http`.
"""
import json
import os
import sys

import httpx2
from fastmcp import FastMCP

spec_path, upstream = sys.argv[1], sys.argv[2]
mode = sys.argv[3] if len(sys.argv) > 3 else "stdio"
with open(spec_path) as f:
    spec = json.load(f)
client = httpx2.AsyncClient(
    base_url=upstream,
    headers={"Authorization": f"Bearer {os.environ.get('MISTRAL_API_KEY', 'bench')}"},
    timeout=30.0,
)
mcp = FastMCP.from_openapi(spec, client=client, name="Mistral AI API (FastMCP OpenAPI)")

if __name__ == "__main__":
    if mode == "http":
        mcp.run(
            transport="http",
            host="127.0.0.1",
            port=int(sys.argv[4]),
            stateless_http=True,
            json_response=True,
            show_banner=False,
            log_level="WARNING",
        )
    else:
        mcp.run(transport="stdio", show_banner=False, log_level="WARNING")
