"""Benchmark of the body bound: a server answers one instance's restores with a huge body.

`python -m dcs_restores_pipeline.bench --hostile-body-mb 1024` starts a loopback server that
answers like the DCS simulator, except that the restores page of one instance is N MiB: once
sent as is (N MiB on the wire, without a Content-Length), once as a gzip bomb (a small body that
inflates to N MiB). Each time a real `dcs-restores run` runs in a child process, with the
default max_body_mb; its peak RSS (from wait4) shows that memory stays bounded by max_body_mb,
not by what the server sends. An honest run gives the baseline. Not a test: nothing is asserted.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from dcs_restores.settings import ENV_PREFIX

MIB = 1024 * 1024
_CHUNK = b" " * MIB
_HEAD = b'{"total_num": 1, "restore_record_response": ['


def _plain(size_mb: int) -> Iterator[bytes]:
    yield _HEAD
    for _ in range(size_mb):
        yield _CHUNK


def _gzip(size_mb: int) -> Iterator[bytes]:
    # streamed: the bomb is built as it is sent, so this process stays small too
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    for part in _plain(size_mb):
        packed = packer.compress(part)
        if packed:
            yield packed
    yield packer.compress(b"]}") + packer.flush()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    simulator: Any
    mode = "honest"
    size_mb = 0
    sent = 0


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def do_GET(self) -> None:
        from dcs_simulator.api import route

        server = self.server
        kind = route("GET", self.path.partition("?")[0]).kind
        if kind == "restores" and server.mode != "honest":
            self.send_response(200)
            self.send_header("Content-Type", "application/json;charset=UTF-8")
            if server.mode == "gzip":
                self.send_header("Content-Encoding", "gzip")
            self.send_header("Connection", "close")  # no length: the body ends with it
            self.end_headers()
            self.close_connection = True
            chunks = _gzip(server.size_mb) if server.mode == "gzip" else _plain(server.size_mb)
            try:
                for chunk in chunks:
                    self.wfile.write(chunk)
                    server.sent += len(chunk)
            except OSError:
                pass  # the client hung up once it had seen enough: the point
            return
        headers = {name.lower(): value for name, value in self.headers.items()}
        reply = server.simulator.handle("GET", self.path, headers, b"")
        body = reply.body() if reply.status != 204 else b""
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        if reply.status != 204:
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


def _run_child(
    url: str, project_id: str, access_key: str, secret_key: str, concurrency: int | None
) -> dict[str, Any]:
    """`dcs-restores run` in a fresh child; returns its exit code, wall time and peak RSS."""
    with tempfile.TemporaryDirectory(prefix="dcs-hostile-bench-") as workdir:
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("SOURCES__", "DESTINATION__", "RUNTIME__"))
        }
        prefix = ENV_PREFIX
        env.update(
            {
                f"{prefix}ENDPOINT": url,
                f"{prefix}PROJECT_ID": project_id,
                f"{prefix}CREDENTIALS__ACCESS_KEY": access_key,
                f"{prefix}CREDENTIALS__SECRET_KEY": secret_key,
                f"{prefix}MAX_ATTEMPTS": "2",
                f"{prefix}MAX_RETRY_DELAY": "0.1",
                "DESTINATION__DUCKDB__CREDENTIALS": str(Path(workdir) / "bench.duckdb"),
                "DLT_DATA_DIR": str(Path(workdir) / "dlt"),
                "PYTHONPATH": str(Path(__file__).resolve().parents[1]),
            }
        )
        if concurrency:
            env[f"{prefix}CONCURRENCY"] = str(concurrency)
        started = time.monotonic()
        child = subprocess.Popen(
            [sys.executable, "-m", "dcs_restores_pipeline.cli", "run", "--quiet"],
            cwd=workdir,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        assert child.stderr is not None
        stderr = child.stderr.read().decode(errors="replace")
        # wait4: this child's own rusage (ru_maxrss in KiB on Linux)
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        lines = stderr.strip().splitlines()
        return {
            "exit": child.returncode,
            "wall_s": time.monotonic() - started,
            "peak_rss_mb": usage.ru_maxrss / 1024,
            "last_line": lines[-1][:200] if lines else "",
        }


def run_hostile_bench(size_mb: int, concurrency: int | None = None) -> list[dict[str, Any]]:
    """Measure an honest run, then the plain and the gzip body of `size_mb` MiB.

    Every instance gets the huge body, so `concurrency` of them are read at once: the peak is
    about the honest run's plus concurrency x max_body_mb.
    """
    from dcs_simulator import DEMO_ACCESS_KEY, DEMO_SECRET_KEY, DcsSimulator, World

    world = World.generate(seed=7, instances=3, restores_per_instance=20)
    server = _Server(("127.0.0.1", 0), _Handler)
    server.simulator = DcsSimulator(world)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    results = []
    try:
        for mode in ("honest", "plain", "gzip"):
            server.mode, server.size_mb, server.sent = mode, size_mb, 0
            figures = _run_child(
                url, world.project_id, DEMO_ACCESS_KEY, DEMO_SECRET_KEY, concurrency
            )
            figures |= {"mode": mode, "body_mb": 0 if mode == "honest" else size_mb}
            figures["sent_mb"] = server.sent / MIB
            results.append(figures)
    finally:
        server.shutdown()
        server.server_close()
    return results


def render(results: list[dict[str, Any]]) -> str:
    lines = [
        f"{'body':<22} {'exit':>4} {'wall s':>7} {'sent MiB':>9} {'peak RSS MiB':>13}  last line"
    ]
    for r in results:
        name = "honest" if r["mode"] == "honest" else f"{r['mode']} {r['body_mb']} MiB"
        lines.append(
            f"{name:<22} {r['exit']:>4} {r['wall_s']:>7.1f} {r['sent_mb']:>9.1f} "
            f"{r['peak_rss_mb']:>13.0f}  {r['last_line']}"
        )
    return "\n".join(lines)
