"""Shared fixtures: a small generated sample, local HTTP and S3 servers that serve it, and
servers that fail as real ones do (silent, or answering 404 / 500 for one chunk)."""

from __future__ import annotations

import functools
import http.server
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")

#: Grid spacing of the sample used by the tests, degrees (small and fast).
TEST_RESOLUTION = 1.0
#: How long the fault servers stay silent, seconds: far beyond the timeouts the tests set.
SILENT_SECONDS = 30


@pytest.fixture(scope="session", autouse=True)
def sample_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Point the sample cache at a temporary folder: tests never write to the home cache."""
    cache = tmp_path_factory.mktemp("eogapfill-cache")
    old = os.environ.get("EOGAPFILL_CACHE")
    os.environ["EOGAPFILL_CACHE"] = str(cache)
    yield cache
    if old is None:
        os.environ.pop("EOGAPFILL_CACHE", None)
    else:
        os.environ["EOGAPFILL_CACHE"] = old


@pytest.fixture(autouse=True)
def _no_stale_distributed_scheduler() -> Iterator[None]:
    """Each test starts on dask's own scheduler unless a client is open.

    A distributed ``Client`` sets dask's ``scheduler`` to ``"dask.distributed"`` and restores
    what it found when it closes; clients closed out of the order they opened leave that
    setting behind with no client, and a later lazy read fails with "no Client active".
    """
    yield
    import dask

    if dask.config.get("scheduler", None) != "dask.distributed":
        return
    try:
        from distributed import default_client

        default_client()
    except (ImportError, ValueError):
        dask.config.set(scheduler=None)


@pytest.fixture(scope="session")
def sample_dir(sample_cache: Path) -> Path:
    """The folder holding the test-resolution sample stores (l3s.zarr, l4_time.zarr, ...)."""
    from eogapfill.sample import sample_store

    return Path(sample_store("l3s", resolution=TEST_RESOLUTION)).parent


@pytest.fixture(scope="session")
def sample_day(sample_dir: Path):
    """A prepared lat/lon day of the test sample (degC, 1 deg)."""
    from eogapfill.data import open_l3s, open_l4
    from eogapfill.preprocess import prepare_day
    from eogapfill.sample import SAMPLE_START

    l3s = open_l3s(SAMPLE_START, resolution=TEST_RESOLUTION)
    l4 = open_l4(SAMPLE_START, resolution=TEST_RESOLUTION)
    return prepare_day(l3s, l4).load()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


class _Server(http.server.ThreadingHTTPServer):
    request_queue_size = 64  # zarr reads up to 10 keys at once: no connection waits for a slot


@pytest.fixture(scope="session")
def http_server(sample_dir: Path) -> Iterator[str]:
    """Base URL of a local HTTP server (a thread) serving the sample folder."""
    handler = functools.partial(_QuietHandler, directory=str(sample_dir))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def _faulty_http(sample_dir: Path) -> Iterator[tuple[str, dict]]:
    faults: dict[str, int | str] = {}

    class FaultyHandler(_QuietHandler):
        def _fault(self) -> bool:
            fault = faults.get(self.path.split("?", 1)[0])
            if fault is None:
                return False
            if fault == "silent":  # reads the request, then says nothing for a long while
                time.sleep(SILENT_SECONDS)
                self.close_connection = True
            else:
                self.send_error(int(fault))
            return True

        def do_GET(self) -> None:  # noqa: N802 (the http.server name)
            if not self._fault():
                super().do_GET()

        def do_HEAD(self) -> None:  # noqa: N802
            if not self._fault():
                super().do_HEAD()

    handler = functools.partial(FaultyHandler, directory=str(sample_dir))
    server = _Server(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", faults
    server.shutdown()
    server.server_close()


@pytest.fixture
def faulty_http_server(_faulty_http: tuple[str, dict]) -> Iterator[tuple[str, dict]]:
    """A local HTTP server over the sample folder and its faults: ``(base_url, faults)``.

    ``faults`` maps a URL path (``"/l3s.zarr/sea_surface_temperature/0.0.0"``) to the status
    the server answers for it instead of the file (404, 500), or to ``"silent"``: no answer for
    :data:`SILENT_SECONDS`. Cleared after each test.
    """
    url, faults = _faulty_http
    faults.clear()
    yield url, faults
    faults.clear()


@pytest.fixture(scope="session")
def silent_server() -> Iterator[str]:
    """``127.0.0.1:PORT`` of a server that accepts connections and never answers (a hung host)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    held: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:  # closed at teardown
                return
            held.append(conn)  # kept open, never read, never answered

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"127.0.0.1:{listener.getsockname()[1]}"
    try:
        listener.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread
    except OSError:
        pass
    listener.close()
    for conn in held:
        conn.close()


@pytest.fixture(scope="session")
def s3_server() -> Iterator[dict]:
    """A moto S3 server on 127.0.0.1; yields the s3fs storage options to reach it."""
    pytest.importorskip("moto")
    s3fs = pytest.importorskip("s3fs")
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    options = {
        "key": "testing",
        "secret": "testing",
        "client_kwargs": {"endpoint_url": f"http://127.0.0.1:{port}", "region_name": "us-east-1"},
    }
    deadline = time.monotonic() + 30
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                pytest.fail("the moto S3 server did not start")
            time.sleep(0.2)
    s3fs.S3FileSystem.clear_instance_cache()
    yield options
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture(scope="session")
def s3_sample(s3_server: dict, sample_dir: Path) -> tuple[str, dict]:
    """The sample stores uploaded to a bucket of the moto server: (``s3://bucket``, options)."""
    import s3fs

    fs = s3fs.S3FileSystem(**s3_server)
    fs.call_s3("create_bucket", Bucket="sst")
    for store in sorted(sample_dir.glob("*.zarr")):
        fs.put(str(store), f"sst/{store.name}", recursive=True)
    fs.invalidate_cache()
    return "s3://sst", s3_server
