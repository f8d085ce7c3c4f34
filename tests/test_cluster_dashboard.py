"""The run's own local cluster when the usual dashboard port is taken: no warning on the
command's error stream (which says only what went wrong), the dashboard's link in the log."""

from __future__ import annotations

import contextlib
import logging
import socket
import warnings

import pytest

pytest.importorskip("distributed")

from eogapfill.pipeline.cluster import _close_client, _default_cluster  # noqa: E402


def _hold_port(port: int) -> socket.socket | None:
    """A socket listening on ``port`` (None when something else holds it already)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind(("", port))
    except OSError:
        sock.close()
        return None
    sock.listen(1)
    return sock


def test_a_taken_dashboard_port_is_logged_not_warned(caplog):
    held = _hold_port(8787)
    try:
        with warnings.catch_warnings(record=True) as caught, caplog.at_level(logging.INFO):
            warnings.simplefilter("always")
            client = _default_cluster(1, 1)
            try:
                link = client.dashboard_link
                assert sum(client.nthreads().values()) == 1
            finally:
                _close_client(client, own_cluster=True)
    finally:
        with contextlib.suppress(Exception):
            if held is not None:
                held.close()
    assert not [w for w in caught if "already in use" in str(w.message)]
    assert ":8787" not in link
    assert any(link in record.getMessage() for record in caplog.records)
