"""The Dask cluster of a run: a scheduler reached in time, or local workers, closed quietly."""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
import warnings
from collections.abc import Iterator
from typing import Any

__all__ = ["connect_scheduler"]

logger = logging.getLogger(__name__)


def _connect_timeout(timeout: float | str | None) -> float:
    import dask
    from dask.utils import parse_timedelta

    if timeout is None:
        timeout = dask.config.get("distributed.comm.timeouts.connect")
    try:
        seconds = float(parse_timedelta(timeout, default="seconds"))
    except (TypeError, ValueError, KeyError) as err:
        raise ValueError(f"cannot read the timeout {timeout!r}: give seconds, e.g. 30") from err
    if not seconds > 0:
        raise ValueError(f"the timeout must be positive, got {timeout!r}")
    return seconds


def _check_scheduler_address(address: str) -> None:
    from distributed.comm import parse_address

    try:
        parse_address(address, strict=True)
    except (ValueError, TypeError) as err:
        raise ValueError(
            f"{address!r} is not a Dask scheduler address: give it as tcp://HOST:PORT "
            "(the scheduler prints it when it starts)"
        ) from err


def connect_scheduler(address: str, timeout: float | str | None = None) -> Any:
    """A ``dask.distributed.Client`` of the scheduler at ``address``, or a clear error in time.

    The connection and the scheduler's handshake must both come within ``timeout`` seconds
    (default: the Dask config ``distributed.comm.timeouts.connect``, 30 s unless changed): a
    port that accepts the connection and never answers fails like a closed one.

    Raises
    ------
    TimeoutError
        No Dask scheduler answered in time; the message says what to check.
    ValueError
        ``address`` is not an address (``tcp://host:8786``).
    """
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    from distributed import Client
    from distributed.comm import connect
    from distributed.security import Security

    seconds = _connect_timeout(timeout)
    _check_scheduler_address(address)
    connection_args = Security().get_connection_args("client")

    async def probe() -> None:
        # distributed's connect() bounds the TCP connection but not the handshake after it
        comm = await asyncio.wait_for(connect(address, timeout=seconds, **connection_args), seconds)
        await comm.close()

    with ThreadPoolExecutor(1) as pool:  # its own event loop, even inside a notebook's
        try:
            pool.submit(asyncio.run, probe()).result()
        except OSError as err:  # TimeoutError too
            raise TimeoutError(
                f"no Dask scheduler answered at {address} within {seconds:g} s: check the "
                "address and that the scheduler runs and is reachable from here, or raise "
                "the limit: --scheduler-timeout SECONDS, or the Dask config "
                "distributed.comm.timeouts.connect"
            ) from err
    return Client(address, timeout=seconds)


@contextlib.contextmanager
def _children_ignore_ctrl_c() -> Iterator[None]:
    """Processes started in the block ignore Ctrl-C (SIGINT), which reaches the whole group.

    The run stops its worker processes itself when it is interrupted; left to themselves they
    would each print a traceback. (An ignored signal stays ignored in a child process.)
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _default_cluster(n_workers: int, threads_per_worker: int) -> Any:
    from distributed import Client, LocalCluster

    threads = str(threads_per_worker)
    env = {"OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads, "OPENBLAS_NUM_THREADS": threads}
    with _children_ignore_ctrl_c(), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cluster = LocalCluster(
            n_workers=n_workers, threads_per_worker=threads_per_worker, processes=True, env=env
        )
    client = Client(cluster)
    for warning in caught:
        if "already in use" in str(warning.message):  # another cluster holds the usual port
            logger.info("the Dask dashboard of this run is at %s", client.dashboard_link)
        else:
            warnings.warn_explicit(
                warning.message, warning.category, warning.filename, warning.lineno
            )
    return client


def _silence_task_cancellations() -> None:
    logging.getLogger("distributed.worker.state_machine").setLevel(logging.ERROR)


def _quiet_cancelled_tasks(client: Any) -> None:
    """Stop the run's own workers from logging each task that closing them cancels."""
    with contextlib.suppress(Exception):
        client.run(_silence_task_cancellations)


@contextlib.contextmanager
def _quiet_logger(name: str) -> Iterator[None]:
    """Only errors of the logger ``name`` in the block."""
    log = logging.getLogger(name)
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        yield
    finally:
        log.setLevel(level)


def _close_client(client: Any, *, own_cluster: bool) -> None:
    cluster = client.cluster if own_cluster else None
    client.close()
    if cluster is not None:
        cluster.close()


def _window(client: Any) -> int:
    try:
        threads = sum(client.nthreads().values())
    except Exception:  # a client that cannot tell (e.g. still scaling): a small window
        threads = 2
    return max(2, 2 * threads)
