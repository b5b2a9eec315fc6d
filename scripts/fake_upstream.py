#!/usr/bin/env python3
"""A tiny stand-in for the Mistral API, for scripts/two-replicas (Python 3 stdlib only).

Answers GET /v1/models and POST /v1/chat/completions with realistic JSON after a small
delay (so calls are in flight when a replica is stopped), on one loopback port per
replica, and counts requests per port so the caller can see which replica did the work.
GET /_stats (on any port) returns the counts as JSON, with the number of chat questions
that arrived more than once. Every other path answers 404 in
Mistral's error shape; a missing bearer key answers 401.

    fake_upstream.py --ports 2 --delay-ms 20 --port-file ports.txt

The chosen ports are written, space-separated, to --port-file once all are listening.
"""

import argparse
import json
import os
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODELS = [
    ("mistral-small-latest", "Efficient model for everyday tasks", True, 131072),
    ("mistral-large-latest", "Flagship model for complex reasoning", True, 131072),
    ("codestral-latest", "Code generation and fill-in-the-middle", False, 256000),
]


def model_card(model_id, description, vision, context):
    return {
        "id": model_id,
        "object": "model",
        "created": 1732460000,
        "owned_by": "mistralai",
        "capabilities": {
            "completion_chat": True,
            "completion_fim": model_id.startswith("codestral"),
            "function_calling": True,
            "fine_tuning": False,
            "vision": vision,
            "classification": False,
        },
        "name": model_id,
        "description": description,
        "max_context_length": context,
        "aliases": [],
        "deprecation": None,
        "default_model_temperature": 0.3,
        "type": "base",
    }


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.counts = {}
        self.questions = {}

    def add(self, port, key, question=None):
        with self.lock:
            per_port = self.counts.setdefault(str(port), {})
            per_port[key] = per_port.get(key, 0) + 1
            if question is not None:
                self.questions[question] = self.questions.get(question, 0) + 1

    def snapshot(self):
        """Requests per port, and how many chat questions arrived more than once (a
        client's one call that reached the API twice, e.g. retried by a proxy)."""
        with self.lock:
            return {
                "ports": json.loads(json.dumps(self.counts)),
                "chat_repeats": sum(n - 1 for n in self.questions.values() if n > 1),
            }


def make_handler(stats, delay):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the real API
        # Headers and body go out in two writes: without this, Nagle's algorithm and the
        # client's delayed ACK add ~40 ms to every answer.
        disable_nagle_algorithm = True

        def log_message(self, *_args):
            pass

        def send_json(self, status, body):
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def error(self, status, message, kind="invalid_request_error"):
            self.send_json(
                status,
                {"object": "error", "message": message, "type": kind, "param": None, "code": None},
            )

        def authorized(self):
            auth = self.headers.get("Authorization", "")
            if auth.startswith("Bearer ") and len(auth) > len("Bearer "):
                return True
            self.error(401, "Unauthorized", "authentication_error")
            return False

        def do_GET(self):
            port = self.server.server_address[1]
            if self.path == "/_stats":
                return self.send_json(200, stats.snapshot())
            if self.path.split("?")[0] != "/v1/models":
                return self.error(404, f"no route GET {self.path}")
            if not self.authorized():
                return None
            stats.add(port, "GET /v1/models")
            time.sleep(delay)
            return self.send_json(200, {"object": "list", "data": [model_card(*m) for m in MODELS]})

        def do_POST(self):
            port = self.server.server_address[1]
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            if self.path != "/v1/chat/completions":
                return self.error(404, f"no route POST {self.path}")
            if not self.authorized():
                return None
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                return self.error(400, "Invalid JSON body")
            messages = body.get("messages")
            if not isinstance(messages, list) or not messages or "model" not in body:
                return self.error(422, "model and a non-empty messages list are required")
            question = str(messages[-1].get("content", ""))
            stats.add(port, "POST /v1/chat/completions", question)
            time.sleep(delay)
            answer = f"Fake answer to: {question[:80]}"
            prompt_tokens = sum(len(str(m.get("content", "")).split()) for m in messages) + 5
            completion_tokens = len(answer.split())
            return self.send_json(
                200,
                {
                    "id": f"cmpl-fake{int(time.time() * 1e6):x}",
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": body["model"],
                    "choices": [
                        {
                            "index": 0,
                            "message": {
                                "role": "assistant",
                                "content": answer,
                                "tool_calls": None,
                                "prefix": False,
                            },
                            "finish_reason": "stop",
                        }
                    ],
                    "usage": {
                        "prompt_tokens": prompt_tokens,
                        "completion_tokens": completion_tokens,
                        "total_tokens": prompt_tokens + completion_tokens,
                    },
                },
            )

    return Handler


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ports", type=int, default=1, help="how many ports to listen on")
    parser.add_argument("--delay-ms", type=float, default=20.0, help="delay before each answer")
    parser.add_argument("--port-file", required=True, help="where to write the chosen ports")
    args = parser.parse_args()

    stats = Stats()
    handler = make_handler(stats, args.delay_ms / 1000.0)
    servers = []
    for _ in range(args.ports):
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        server.daemon_threads = True
        servers.append(server)
        threading.Thread(target=server.serve_forever, daemon=True).start()
    with open(args.port_file + ".tmp", "w") as f:
        f.write(" ".join(str(s.server_address[1]) for s in servers) + "\n")
    # Renamed into place, so a reader never sees a half-written file.
    os.replace(args.port_file + ".tmp", args.port_file)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    for server in servers:
        server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
