"""A minimal LSP client over a subprocess's standard input and output.

The tests and ``benchmarks/bench_lsp.py`` drive ``kvpspec lsp`` with it exactly
as an editor does: JSON-RPC messages framed by ``Content-Length`` headers.
"""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any, BinaryIO


class LspClient:
    """Starts ``python -m kvpspec lsp`` and exchanges messages with it."""

    def __init__(self, command: list[str] | None = None, timeout: float = 30.0) -> None:
        self.timeout = timeout
        self.proc = subprocess.Popen(
            command or [sys.executable, "-m", "kvpspec", "lsp"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )
        self._next = 0
        self._messages: queue.Queue[dict[str, Any] | None] = queue.Queue()
        #: notifications received and not yet taken, in order
        self.notifications: list[dict[str, Any]] = []
        self._responses: dict[int, dict[str, Any]] = {}
        assert self.proc.stdout is not None
        threading.Thread(target=self._read, args=(self.proc.stdout,), daemon=True).start()

    def _read(self, stream: BinaryIO) -> None:
        while True:
            length = None
            while True:
                line = stream.readline()
                if not line:
                    self._messages.put(None)
                    return
                line = line.strip()
                if not line:
                    break
                name, _, value = line.decode("ascii").partition(":")
                if name.lower() == "content-length":
                    length = int(value)
            if length is None:
                continue
            self._messages.put(json.loads(stream.read(length).decode("utf-8")))

    def send(self, message: dict[str, Any]) -> None:
        body = json.dumps({"jsonrpc": "2.0", **message}).encode("utf-8")
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.proc.stdin.flush()

    def notify(self, method: str, params: dict[str, Any]) -> None:
        self.send({"method": method, "params": params})

    def request(self, method: str, params: dict[str, Any]) -> Any:
        """Send a request and wait for its answer; raise on an error answer."""
        self._next += 1
        ident = self._next
        self.send({"id": ident, "method": method, "params": params})
        while ident not in self._responses:
            self._take()
        answer = self._responses.pop(ident)
        if "error" in answer:
            raise RuntimeError(f"{method}: {answer['error']}")
        return answer.get("result")

    def _take(self) -> None:
        try:
            msg = self._messages.get(timeout=self.timeout)
        except queue.Empty:
            raise TimeoutError("the server did not answer in time") from None
        if msg is None:
            assert self.proc.stderr is not None
            raise RuntimeError("the server exited: " + self.proc.stderr.read().decode("utf-8", "replace"))
        if "id" in msg and "method" not in msg:
            self._responses[msg["id"]] = msg
        elif "id" in msg:  # a request from the server (registration, ...): accept it
            self.send({"id": msg["id"], "result": None})
        else:
            self.notifications.append(msg)

    def wait_for(self, method: str, predicate: Any = None) -> dict[str, Any]:
        """The next notification of ``method`` (matching ``predicate``), waiting for it."""
        while True:
            for i, msg in enumerate(self.notifications):
                if msg["method"] == method and (predicate is None or predicate(msg["params"])):
                    return self.notifications.pop(i)["params"]
            self._take()

    def initialize(self, root: Path) -> Any:
        result = self.request("initialize", {"processId": None, "rootUri": root.as_uri(), "capabilities": {}})
        self.notify("initialized", {})
        return result

    def open(self, path: Path, text: str | None = None, version: int = 1) -> str:
        uri = path.resolve().as_uri()
        body = text if text is not None else path.read_text(encoding="utf-8")
        self.notify("textDocument/didOpen", {
            "textDocument": {"uri": uri, "languageId": "kvpspec", "version": version, "text": body}
        })
        return uri

    def close(self) -> None:
        try:
            self.request("shutdown", {})
            self.notify("exit", {})
            self.proc.wait(timeout=10)
        except (RuntimeError, TimeoutError, OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()
