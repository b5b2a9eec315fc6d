#!/usr/bin/env python3
"""Drives MCP `tools/call` requests at a Streamable HTTP endpoint (Python 3 stdlib only).

Used by scripts/two-replicas. Each worker keeps one keep-alive connection and posts
stateless JSON-RPC `tools/call` requests (no initialize: the server is stateless and serves
a tools/call on its own), alternating `models_list` and `chat_complete`. A call succeeds when
the HTTP status is 200 and the JSON-RPC response has a `result` without `isError: true`.
Failed calls are not retried: whatever the client sees is counted.

Optionally sends a signal to a process once a given number of calls have completed (to stop
a replica mid-run). Prints one JSON object with the figures on stdout.

Environment: MCP_TOKEN, when set, is sent as `Authorization: Bearer $MCP_TOKEN`.
"""

import argparse
import http.client
import json
import os
import signal
import sys
import threading
import time
from urllib.parse import urlsplit


def percentile(sorted_values, p):
    if not sorted_values:
        return None
    k = min(len(sorted_values) - 1, max(0, round(p / 100.0 * len(sorted_values) + 0.5) - 1))
    return sorted_values[k]


def parse_body(content_type, body, want_id):
    """The JSON-RPC response with id `want_id`, from a JSON or an SSE body."""
    if content_type.startswith("text/event-stream"):
        for event in body.decode("utf-8", "replace").split("\n\n"):
            data = "\n".join(
                line[5:].lstrip() for line in event.splitlines() if line.startswith("data:")
            )
            if not data:
                continue
            msg = json.loads(data)
            if msg.get("id") == want_id:
                return msg
        raise ValueError("no response with our id in the event stream")
    return json.loads(body)


class Run:
    def __init__(self, args):
        self.args = args
        url = urlsplit(args.url)
        self.host, self.port, self.path = url.hostname, url.port or 80, url.path or "/"
        self.headers = {
            "Content-Type": "application/json",
            "Accept": "application/json, text/event-stream",
            "MCP-Protocol-Version": args.protocol_version,
        }
        if args.host_header:
            self.headers["Host"] = args.host_header
        token = os.environ.get("MCP_TOKEN")
        if token:
            self.headers["Authorization"] = f"Bearer {token}"
        self.lock = threading.Lock()
        self.next_call = 0
        self.completed = 0
        self.latencies = []
        self.failures = []
        self.by_tool = {}
        self.killed_at = None
        self.kill_error = None

    def take(self):
        with self.lock:
            if self.next_call >= self.args.calls:
                return None
            self.next_call += 1
            return self.next_call

    def request(self, n):
        if n % 2:
            return "models_list", {}
        return "chat_complete", {
            "model": "mistral-small-latest",
            "messages": [{"role": "user", "content": f"Load test question number {n}"}],
            "max_tokens": 16,
        }

    def one_call(self, conn, n):
        tool, arguments = self.request(n)
        payload = json.dumps(
            {"jsonrpc": "2.0", "id": n, "method": "tools/call",
             "params": {"name": tool, "arguments": arguments}}
        ).encode()
        conn.request("POST", self.path, body=payload, headers=self.headers)
        resp = conn.getresponse()
        body = resp.read()
        if resp.status != 200:
            return tool, f"HTTP {resp.status}: {body[:160]!r}", resp.will_close
        msg = parse_body(resp.getheader("Content-Type", ""), body, n)
        if "error" in msg:
            return tool, f"JSON-RPC error {msg['error'].get('code')}: {msg['error'].get('message')}", resp.will_close
        result = msg.get("result") or {}
        if result.get("isError"):
            text = " ".join(c.get("text", "") for c in result.get("content", []))
            return tool, f"isError: {text[:160]}", resp.will_close
        return tool, None, resp.will_close

    def worker(self):
        conn = None
        while True:
            n = self.take()
            if n is None:
                break
            if conn is None:
                conn = http.client.HTTPConnection(self.host, self.port, timeout=self.args.timeout)
            start = time.monotonic()
            try:
                tool, error, will_close = self.one_call(conn, n)
            except Exception as exc:  # transport errors count as failed calls
                tool, error, will_close = self.request(n)[0], f"{type(exc).__name__}: {exc}", True
            elapsed = time.monotonic() - start
            if will_close and conn is not None:
                conn.close()
                conn = None
            with self.lock:
                self.completed += 1
                self.latencies.append(elapsed)
                stats = self.by_tool.setdefault(tool, {"ok": 0, "failed": 0})
                if error:
                    stats["failed"] += 1
                    self.failures.append({"call": n, "tool": tool, "error": error,
                                          "after_kill": self.killed_at is not None})
                else:
                    stats["ok"] += 1
                kill_now = (self.args.kill_pid and self.killed_at is None
                            and self.completed >= self.args.kill_after)
                if kill_now:
                    self.killed_at = self.completed
            if kill_now:
                try:
                    os.kill(self.args.kill_pid, getattr(signal, f"SIG{self.args.kill_signal}"))
                except OSError as exc:
                    self.kill_error = str(exc)
        if conn is not None:
            conn.close()

    def run(self):
        started = time.monotonic()
        threads = [threading.Thread(target=self.worker) for _ in range(self.args.concurrency)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.monotonic() - started
        lat = sorted(self.latencies)
        ms = lambda v: None if v is None else round(v * 1000, 1)  # noqa: E731
        return {
            "calls": self.completed,
            "ok": self.completed - len(self.failures),
            "failed": len(self.failures),
            "failed_after_signal": sum(1 for f in self.failures if f["after_kill"]),
            "concurrency": self.args.concurrency,
            "wall_s": round(wall, 2),
            "calls_per_s": round(self.completed / wall, 1) if wall else None,
            "p50_ms": ms(percentile(lat, 50)),
            "p99_ms": ms(percentile(lat, 99)),
            "max_ms": ms(lat[-1] if lat else None),
            "by_tool": self.by_tool,
            "signal": (None if not self.args.kill_pid else
                       {"pid": self.args.kill_pid, "signal": f"SIG{self.args.kill_signal}",
                        "after_calls": self.killed_at, "error": self.kill_error}),
            "failure_samples": self.failures[:8],
        }


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--url", required=True, help="the /mcp endpoint, http:// only")
    p.add_argument("--host-header", help="Host header to send (the public name behind a proxy)")
    p.add_argument("--calls", type=int, default=2000)
    p.add_argument("--concurrency", type=int, default=16)
    p.add_argument("--timeout", type=float, default=30.0, help="seconds per call")
    p.add_argument("--protocol-version", default="2025-11-25")
    p.add_argument("--kill-pid", type=int, help="send a signal to this process mid-run")
    p.add_argument("--kill-signal", default="TERM", choices=["TERM", "KILL", "INT"])
    p.add_argument("--kill-after", type=int, help="calls completed before the signal (default half)")
    args = p.parse_args()
    if args.kill_after is None:
        args.kill_after = args.calls // 2
    print(json.dumps(Run(args).run(), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
