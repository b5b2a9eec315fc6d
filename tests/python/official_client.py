"""End-to-end checks with the official MCP Python SDK (mcp 2.x) as the client.

Run by scripts/test after the Rust tests:  python official_client.py <path-to-mistral-mcp>
Starts a small fake Mistral upstream on 127.0.0.1, then drives the server over stdio
(the initialize handshake and the 2026-07-28 server/discover lifecycle) and over
Streamable HTTP. Prints a cargo-style result line; exits non-zero on any failure.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from contextlib import AsyncExitStack
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

KEY = "sk-python-client-test-key-0123456789"
SEEN: list[tuple[str, str, str]] = []


class FakeMistral(BaseHTTPRequestHandler):
    def log_message(self, *args):  # keep test output clean
        pass

    def _send(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        SEEN.append(("GET", self.path, self.headers.get("authorization", "")))
        if self.path.startswith("/v1/models"):
            self._send(200, {"object": "list", "data": [{"id": "mistral-small-latest", "object": "model"}]})
        else:
            self._send(404, {"message": "no route"})

    def do_POST(self):
        length = int(self.headers.get("content-length", "0"))
        body = json.loads(self.rfile.read(length) or b"{}")
        SEEN.append(("POST", self.path, self.headers.get("authorization", "")))
        if self.path == "/v1/chat/completions":
            self._send(200, {
                "id": "c1", "object": "chat.completion", "created": 1, "model": body.get("model"),
                "choices": [{"index": 0, "message": {"role": "assistant", "content": "Paris."}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4},
            })
        else:
            self._send(404, {"message": "no route"})


results: list[tuple[str, bool, str]] = []


def check(name: str, ok: bool, detail: str = "") -> None:
    results.append((name, ok, detail))
    print(f"{'ok  ' if ok else 'FAIL'} {name}{'' if ok else ': ' + detail}", flush=True)


def text_of(result) -> str:
    return "".join(getattr(c, "text", "") for c in result.content)


def attr(obj, snake: str, camel: str):
    """mcp 2.x uses snake_case attributes, 1.x camelCase."""
    return getattr(obj, snake, None) if hasattr(obj, snake) else getattr(obj, camel, None)


def is_error(result) -> bool:
    return bool(attr(result, "is_error", "isError"))


def structured(result) -> dict:
    return attr(result, "structured_content", "structuredContent") or {}


async def exercise(session: ClientSession, label: str) -> None:
    tools = await session.list_tools()
    names = {t.name for t in tools.tools}
    check(f"{label}: tools/list has chat_complete and search_tools", {"chat_complete", "search_tools"} <= names, str(names))
    r = await session.call_tool("chat_complete", {"model": "mistral-small-latest", "messages": [{"role": "user", "content": "Capital of France?"}]})
    check(f"{label}: chat_complete succeeds", not is_error(r) and "Paris" in text_of(r), text_of(r))
    sc = structured(r)
    check(f"{label}: structuredContent carries the completion", sc.get("choices", [{}])[0].get("message", {}).get("content") == "Paris.", json.dumps(sc))
    r = await session.call_tool("chat_complete", {"model": 7, "messages": []})
    check(f"{label}: bad arguments give isError naming the field", is_error(r) and "model" in text_of(r), text_of(r))
    r = await session.call_tool("search_tools", {"query": "run OCR on an invoice PDF"})
    check(f"{label}: search_tools ranks OCR first", structured(r).get("results", [{}])[0].get("name") == "ocr_process", text_of(r))
    await new_user_walkthrough(session, label)


async def new_user_walkthrough(session: ClientSession, label: str) -> None:
    """What a new user tries first: the models resource, the RAG prompt with completed
    arguments, and models_list narrowed to the fields they want."""
    from mcp import types

    listed = await session.list_resources()
    uris = [str(r.uri) for r in listed.resources]
    check(f"{label}: resources/list names mistral://models", "mistral://models" in uris, str(uris))
    read = await session.read_resource("mistral://models")
    body = "".join(getattr(c, "text", "") for c in read.contents)
    check(f"{label}: reading mistral://models lists the models", "mistral-small-latest" in body, body)

    prompts = {p.name for p in (await session.list_prompts()).prompts}
    check(f"{label}: prompts/list has rag_setup", "rag_setup" in prompts, str(prompts))
    done = await session.complete(types.PromptReference(name="rag_setup"), {"name": "model", "value": "mistral-s"})
    values = done.completion.values
    check(f"{label}: completion offers the account's model", values == ["mistral-small-latest"], str(values))
    prompt = await session.get_prompt("rag_setup", {"library": "Handbook", "documents": "/docs/a.pdf", "model": values[0] if values else ""})
    steps = "".join(getattr(m.content, "text", "") for m in prompt.messages)
    check(f"{label}: the RAG prompt plans the library, the uploads and the agent",
          all(t in steps for t in ("libraries_create", "libraries_documents_upload", "agents_create", "mistral-small-latest")), steps)

    r = await session.call_tool("models_list", {"select": ["data[].id"]})
    data = structured(r).get("data", [])
    check(f"{label}: models_list with select keeps only the ids",
          not is_error(r) and data == [{"id": "mistral-small-latest"}], json.dumps(structured(r)))


async def over_stdio(binary: str, env: dict, discover: bool) -> None:
    label = "stdio/discover" if discover else "stdio/initialize"
    params = StdioServerParameters(command=binary, args=[], env=env)
    async with AsyncExitStack() as stack:
        read, write = (await stack.enter_async_context(stdio_client(params)))[:2]
        session = await stack.enter_async_context(ClientSession(read, write))
        if discover:
            from mcp.client._probe import negotiate_auto  # mcp 2.x: server/discover, then fallback

            await negotiate_auto(session)
            version = session.protocol_version
            check(f"{label}: negotiated 2026-07-28", version == "2026-07-28", str(version))
        else:
            init = await session.initialize()
            info = attr(init, "server_info", "serverInfo")
            check(f"{label}: initialize answered by mistral-mcp", info.name == "mistral-mcp", str(info))
        await exercise(session, label)


async def over_http(url: str) -> None:
    from mcp.client.streamable_http import streamable_http_client

    async with AsyncExitStack() as stack:
        streams = await stack.enter_async_context(streamable_http_client(url))
        session = await stack.enter_async_context(ClientSession(streams[0], streams[1]))
        await session.initialize()
        await exercise(session, "http")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> int:
    binary = sys.argv[1]
    fake = ThreadingHTTPServer(("127.0.0.1", 0), FakeMistral)
    threading.Thread(target=fake.serve_forever, daemon=True).start()
    env = dict(os.environ, MISTRAL_API_KEY=KEY, MISTRAL_BASE_URL=f"http://127.0.0.1:{fake.server_port}", RUST_LOG="warn")

    asyncio.run(over_stdio(binary, env, discover=False))
    asyncio.run(over_stdio(binary, env, discover=True))

    port = free_port()
    server = subprocess.Popen([binary, "serve", "--http", f"127.0.0.1:{port}"], env=env, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 20
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.1)
        asyncio.run(over_http(f"http://127.0.0.1:{port}/mcp"))
    finally:
        server.terminate()
        server.wait(timeout=10)

    check("the upstream saw the server's key on every request", bool(SEEN) and all(a == f"Bearer {KEY}" for _, _, a in SEEN), str(SEEN))
    passed = sum(ok for _, ok, _ in results)
    failed = len(results) - passed
    print(f"test result: {'ok' if failed == 0 else 'FAILED'}. {passed} passed; {failed} failed; 0 ignored (official Python MCP client)")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
