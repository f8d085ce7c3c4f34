"""A store whose metadata comes and whose chunks never do, over HTTP and S3: a day's read fails
after one read timeout, naming a chunk, and leaves no request running (no traceback at exit)."""

from __future__ import annotations

import http.client
import http.server
import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

pytest.importorskip("aiohttp")

#: Seconds a silent chunk keeps its request waiting (far beyond the read timeout).
SILENT_SECONDS = 30
#: The chunks of the day that never come (every variable of the day's read).
SILENT_CHUNKS = ("l3s.zarr/sea_surface_temperature/1.0.0", "l3s.zarr/quality_level/1.0.0")

_READ_A_DAY = """
import json, sys, time
from eogapfill.data import StoreError, open_l3s

url, options = sys.argv[1], json.loads(sys.argv[2]) or None
for attempt in range(2):
    ds = open_l3s("2024-06-02", url=url + "/l3s.zarr", storage_options=options,
                  timeout=(10, 1.0))
    start = time.monotonic()
    try:
        ds.load()
    except StoreError as err:
        print("refused after %.1f s:" % (time.monotonic() - start), err)
"""


class _SilentOnChunks(http.server.BaseHTTPRequestHandler):
    """Forwards every request to ``upstream`` but those of :data:`SILENT_CHUNKS`."""

    upstream: str = ""

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass

    def _forward(self) -> None:
        if self.path.split("?", 1)[0].endswith(SILENT_CHUNKS):
            time.sleep(SILENT_SECONDS)
            self.close_connection = True
            return
        target = urlsplit(self.upstream)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        conn = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
        headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
        conn.request(self.command, self.path, body=body, headers=headers)
        reply = conn.getresponse()
        data = reply.read()
        self.send_response(reply.status)
        for key, value in reply.getheaders():
            if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        conn.close()

    do_GET = do_HEAD = do_PUT = do_POST = _forward  # noqa: N815 (the http.server names)


@pytest.fixture(scope="module")
def silent_s3(s3_sample: tuple[str, dict]) -> Iterator[tuple[str, dict]]:
    """The sample's S3 bucket behind a proxy that never sends the day's chunks."""
    bucket, options = s3_sample
    handler = type(
        "Handler",
        (_SilentOnChunks,),
        {"upstream": options["client_kwargs"]["endpoint_url"]},
    )
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    proxied = {
        **options,
        "client_kwargs": {
            **options["client_kwargs"],
            "endpoint_url": f"http://127.0.0.1:{server.server_address[1]}",
        },
    }
    yield bucket, proxied
    server.shutdown()
    server.server_close()


def _read_twice(url: str, options: dict | None, tmp_path) -> tuple[list[str], str, float]:
    script = tmp_path / "read_a_day.py"
    script.write_text(_READ_A_DAY)
    start = time.monotonic()
    run = subprocess.run(
        [sys.executable, str(script), url, json.dumps(options)],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return run.stdout.splitlines(), run.stderr, time.monotonic() - start


def _assert_one_timeout_each_and_quiet(lines: list[str], stderr: str) -> None:
    assert len(lines) == 2 and all(line.startswith("refused after") for line in lines), lines
    assert all(float(line.split()[2]) < 3.0 for line in lines), lines  # one read timeout
    assert all("no answer within the timeouts" in line for line in lines), lines
    assert all(any(chunk in line for chunk in SILENT_CHUNKS) for line in lines), lines
    for noise in ("Exception ignored", "Traceback", "different Context", "never retrieved",
                  "was destroyed", "Unclosed"):  # fmt: skip
        assert noise not in stderr, stderr[-3000:]


def test_http_chunks_that_never_come(faulty_http_server, tmp_path):
    url, faults = faulty_http_server
    for chunk in SILENT_CHUNKS:
        faults["/" + chunk] = "silent"
    lines, stderr, elapsed = _read_twice(url, None, tmp_path)
    _assert_one_timeout_each_and_quiet(lines, stderr)
    assert elapsed < SILENT_SECONDS  # the process did not wait for the server at exit


def test_s3_chunks_that_never_come(silent_s3, tmp_path):
    bucket, options = silent_s3
    lines, stderr, elapsed = _read_twice(bucket, options, tmp_path)
    _assert_one_timeout_each_and_quiet(lines, stderr)
    assert elapsed < SILENT_SECONDS
