"""Open a Zarr store, local or remote, that fails loudly and in bounded time.

Every request to an ``http(s)://`` or ``s3://`` store is tried once and gives up after
:data:`DEFAULT_TIMEOUT` (10 s to connect, 20 s without an answer; change it with ``timeout=``
or ``$EOGAPFILL_TIMEOUT``): a server that does not answer fails the open after one timeout.
A chunk that the store's metadata lists but the server does not give (404, 500, a timeout)
raises :class:`StoreError` naming its URL instead of reading as missing data.
:mod:`eogapfill.data` opens the Copernicus products with it.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

import xarray as xr
from zarr.storage import FsspecStore, LocalStore, WrapperStore

__all__ = [
    "DEFAULT_TIMEOUT",
    "TIMEOUT_ENV",
    "StoreError",
    "open_store",
    "store_timeout",
]

DEFAULT_TIMEOUT = (10.0, 20.0)
#: Environment variable that replaces :data:`DEFAULT_TIMEOUT`: ``"SECONDS"`` for both or
#: ``"CONNECT,READ"``, e.g. ``EOGAPFILL_TIMEOUT=60`` on a slow link.
TIMEOUT_ENV = "EOGAPFILL_TIMEOUT"
# Tries of an S3 request, the first included (botocore's ``total_max_attempts``), as over HTTP:
# one. A retried timeout doubles the wait (botocore's ``max_attempts: 2`` meant 3 tries and
# backoff, 3.1 read timeouts for a silent server), and s3fs's own retry loop, nested twice around
# each read (5 x 5 tries), is turned off too: a silent S3 server is given up after one timeout.
_S3_TRIES = 1
# Keys of Zarr metadata (format 2 and 3); every other key of a store is a chunk.
_METADATA_KEYS = frozenset({".zmetadata", ".zgroup", ".zattrs", ".zarray", "zarr.json"})

MissingChunks = Literal["raise", "fill"]
Timeout = float | tuple[float, float] | None


class StoreError(OSError):
    """A store cannot be opened, read, or does not hold what was asked for."""


# --------------------------------------------------------------------------------------------
# timeouts
# --------------------------------------------------------------------------------------------
def store_timeout(timeout: Timeout = None) -> tuple[float, float]:
    """The ``(connect, read)`` timeouts of remote stores, seconds.

    Parameters
    ----------
    timeout
        Seconds for both, or a ``(connect, read)`` pair. None: ``$EOGAPFILL_TIMEOUT``
        (``"30"`` or ``"10,60"``) if set, else :data:`DEFAULT_TIMEOUT`.

    >>> store_timeout(5)
    (5.0, 5.0)
    >>> store_timeout((3, 60))
    (3.0, 60.0)
    """
    where = "timeout"
    if timeout is None:
        text = os.environ.get(TIMEOUT_ENV, "").strip()
        if not text:
            return DEFAULT_TIMEOUT
        where = f"${TIMEOUT_ENV}"
        timeout = _parse_timeout_text(text)
    pair: tuple
    if isinstance(timeout, int | float) and not isinstance(timeout, bool):
        pair = (timeout, timeout)
    elif isinstance(timeout, tuple | list) and len(timeout) == 2:
        pair = tuple(timeout)
    else:
        pair = ()
    if not pair or not all(
        isinstance(x, int | float) and not isinstance(x, bool) and 0 < x < float("inf")
        for x in pair
    ):
        if where == "timeout":
            raise ValueError(
                "timeout must be a positive number of seconds or a (connect, read) pair, e.g. "
                f"30 or (10, 60); got {timeout!r}"
            )
        raise ValueError(
            f"{where} must be a positive number of seconds or a CONNECT,READ pair, e.g. "
            f"{TIMEOUT_ENV}=30 or {TIMEOUT_ENV}=10,60; got {os.environ.get(TIMEOUT_ENV)!r}"
        )
    return float(pair[0]), float(pair[1])


def _parse_timeout_text(text: str) -> Any:
    """``"30"`` -> 30.0; ``"10,60"``, ``"(10, 60)"``, ``"10 60"`` -> (10.0, 60.0); else ``()``.

    >>> _parse_timeout_text("(10, 60)")
    (10.0, 60.0)
    """
    inner = text.strip()
    if inner[:1] + inner[-1:] in ("()", "[]"):
        inner = inner[1:-1]
    try:
        parts = tuple(float(x) for x in inner.replace(",", " ").split())
    except ValueError:
        return ()
    return parts[0] if len(parts) == 1 else parts


def _timeout_hint(timeout: tuple[float, float]) -> str:
    return (
        f"the server gave no answer within the timeouts (connect {timeout[0]:g} s, read "
        f"{timeout[1]:g} s). If the link is only slow, allow more: timeout=(10, 60) in "
        f"open_l3s/open_l4/open_store, or the environment variable {TIMEOUT_ENV}=60 (seconds, or "
        "'CONNECT,READ')"
    )


def _remote_options(url: str, storage_options: dict | None, timeout: tuple[float, float]) -> dict:
    """fsspec options with the timeouts added; timeouts already in ``storage_options`` win."""
    options = dict(storage_options or {})
    protocol = url.split("://", 1)[0].lower()
    connect, read = timeout
    if protocol in ("http", "https"):
        import aiohttp

        client = dict(options.get("client_kwargs") or {})
        client.setdefault(
            "timeout", aiohttp.ClientTimeout(total=None, sock_connect=connect, sock_read=read)
        )
        options["client_kwargs"] = client
    elif protocol in ("s3", "s3a"):
        config = dict(options.get("config_kwargs") or {})
        config.setdefault("connect_timeout", connect)
        config.setdefault("read_timeout", read)
        config.setdefault("retries", {"total_max_attempts": _S3_TRIES, "mode": "standard"})
        options["config_kwargs"] = config
    return options


_S3_CLASS: type | None = None


def _s3_filesystem_class() -> type:
    """:class:`s3fs.S3FileSystem` without its own retry loop (botocore retries instead)."""
    global _S3_CLASS
    if _S3_CLASS is None:
        import s3fs

        class _S3FileSystem(s3fs.S3FileSystem):
            retries = 1

        _S3FileSystem.__module__ = __name__
        _S3FileSystem.__qualname__ = "_S3FileSystem"
        _S3_CLASS = _S3FileSystem
    return _S3_CLASS


def __getattr__(name: str) -> Any:
    if name == "_S3FileSystem":  # created on first use (s3fs is slow to import); pickle finds it
        return _s3_filesystem_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# --------------------------------------------------------------------------------------------
# a store that reports its faults
# --------------------------------------------------------------------------------------------
def _is_timeout(err: BaseException) -> bool:
    seen: set[int] = set()
    e: BaseException | None = err
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if isinstance(e, TimeoutError) or "Timeout" in type(e).__name__:
            return True
        e = e.__cause__ or e.__context__
    return False


def _describe(err: BaseException) -> str:
    status = getattr(err, "status", None)  # aiohttp.ClientResponseError
    if isinstance(status, int):
        reason = getattr(err, "message", "") or ""
        return f"the server answered HTTP {status} {reason}".rstrip()
    return f"{type(err).__name__}: {err}"


class _ReadFault(StoreError):
    """A read of a store failed (network, server); the cause is chained."""


class _CheckedStore(WrapperStore):
    """A read-only Zarr store that turns every fault of a read into a :class:`StoreError`.

    A chunk key that the server does not have (404, missing file) raises too unless
    ``missing_chunks="fill"``: the Copernicus ARCO stores and the sample are dense, so a missing
    chunk is a fault, not a region of fill values. Metadata keys may be absent (zarr probes).
    """

    def __init__(
        self,
        store: Any,
        *,
        url: str,
        missing_chunks: MissingChunks = "raise",
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
    ) -> None:
        super().__init__(store)
        self.url = url.rstrip("/")
        self.missing_chunks = missing_chunks
        self.timeout = timeout
        self._probed: dict[str, Any] = {}

    def _with_store(self, store: Any) -> _CheckedStore:
        return type(self)(
            store, url=self.url, missing_chunks=self.missing_chunks, timeout=self.timeout
        )

    def _key_url(self, key: str) -> str:
        return f"{self.url}/{key}"

    def _fault(self, key: str, err: BaseException) -> _ReadFault:
        where = self._key_url(key)
        if _is_timeout(err):
            return _ReadFault(f"reading {where} failed: {_timeout_hint(self.timeout)}")
        return _ReadFault(
            f"reading {where} failed ({_describe(err)}): the store opened but the server did not "
            "give this part of it. Retry later; if it persists, the store is damaged (tell its "
            "provider), or use source='sample' to work offline."
        )

    def _check_missing(self, key: str, value: Any) -> Any:
        if value is None and self.missing_chunks == "raise":
            if key.rsplit("/", 1)[-1] not in _METADATA_KEYS:
                raise StoreError(
                    f"the chunk {self._key_url(key)} is missing (the server answered 'not "
                    "found'), though the store's metadata lists it: reading on would give NaN "
                    "where the data should be. Retry later; a copy of the store may be "
                    "incomplete (copy it again). Only for a sparse store whose absent chunks "
                    "mean fill values, open it with missing_chunks='fill'."
                )
        return value

    def probe(self, key: str) -> None:
        """Read ``key`` alone, now; the next read of the whole ``key`` gets what came.

        zarr opens a store by asking for several metadata keys at once: from a server that
        does not answer, the first timeout fails the open while the other requests run on in
        the background (and are torn down at exit, with tracebacks). One key first bounds the
        open by one timeout and leaves nothing running.
        """
        from zarr.core.buffer import default_buffer_prototype
        from zarr.core.sync import sync

        self._probed[key] = sync(self.get(key, default_buffer_prototype()))

    def release(self) -> None:
        """Close the network session of a remote store whose open failed.

        Its connections to a server that did not answer are closed now, on the loop that made
        them, instead of being torn down at exit ("Unclosed client session"). The file system
        makes a new session if it is used again.
        """
        fs = getattr(self._store, "fs", None)
        if fs is None or not getattr(fs, "async_impl", False):
            return
        from zarr.core.sync import sync

        with contextlib.suppress(Exception):  # closing is best effort: the open failed anyway
            sync(_close_session(fs))

    async def get(self, key: str, prototype: Any, byte_range: Any = None) -> Any:
        if byte_range is None and key in self._probed:
            return self._probed.pop(key)
        try:
            value = await self._store.get(key, prototype, byte_range)
        except StoreError:
            raise
        except Exception as err:  # aiohttp, botocore and fsspec errors come in many types
            raise self._fault(key, err) from err
        return self._check_missing(key, value)

    async def get_partial_values(
        self, prototype: Any, key_ranges: Iterable[tuple[str, Any]]
    ) -> list[Any]:
        key_ranges = list(key_ranges)
        try:
            values = await self._store.get_partial_values(prototype, key_ranges)
        except Exception as err:
            raise self._fault(key_ranges[0][0] if key_ranges else "", err) from err
        return [self._check_missing(k, v) for (k, _), v in zip(key_ranges, values, strict=True)]


async def _close_session(fs: Any) -> None:
    """Close the aiohttp session of an asynchronous s3fs or fsspec HTTP file system."""
    if getattr(fs, "_s3", None) is not None:  # s3fs: the client, and its session with it
        creator, fs._s3 = fs._s3creator, None
        await creator.__aexit__(None, None, None)
    elif getattr(fs, "_session", None) is not None:  # fsspec's HTTPFileSystem
        session, fs._session = fs._session, None
        await session.close()


def _zarr_store(
    url: str,
    storage_options: dict | None,
    timeout: tuple[float, float],
    missing_chunks: MissingChunks,
) -> _CheckedStore:
    if url.lower().startswith(("s3://", "s3a://")):
        cls = _s3_filesystem_class()
        options = _remote_options(url, storage_options, timeout)
        fs = cls(asynchronous=True, **options)
        inner = FsspecStore(fs, path=cls._strip_protocol(url), read_only=True)
    elif "://" in url:
        options = _remote_options(url, storage_options, timeout)
        inner = FsspecStore.from_url(url, storage_options=options, read_only=True)
    else:
        inner = LocalStore(url, read_only=True)
    return _CheckedStore(inner, url=url, missing_chunks=missing_chunks, timeout=timeout)


def open_store(
    url: str | Path,
    *,
    storage_options: dict | None = None,
    timeout: Timeout = None,
    missing_chunks: MissingChunks = "raise",
    consolidated: bool = True,
) -> xr.Dataset:
    """Open a Zarr store lazily (dask-backed) from a local path, ``http(s)://`` or ``s3://``.

    Parameters
    ----------
    url
        The store.
    storage_options
        fsspec options (credentials, ``endpoint_url``, ...); timeouts given there win.
    timeout
        Seconds, or ``(connect, read)`` seconds, for each request to a remote store; None:
        ``$EOGAPFILL_TIMEOUT`` or :data:`DEFAULT_TIMEOUT` (see :func:`store_timeout`).
    missing_chunks
        ``"raise"`` (default): a chunk the server cannot give raises :class:`StoreError` when
        read. ``"fill"``: absent chunks read as the fill value (sparse stores only).
    consolidated
        Read the consolidated metadata (``.zmetadata``, one request), as the ARCO stores have.

    Raises :class:`StoreError` naming the URL when the store cannot be reached, read or is not
    a store, and when a later read of its data fails.
    """
    url = str(url)
    if missing_chunks not in ("raise", "fill"):
        raise ValueError(f"missing_chunks must be 'raise' or 'fill', got {missing_chunks!r}")
    seconds = store_timeout(timeout)
    if "://" not in url and not Path(url).exists():
        raise StoreError(
            f"no Zarr store at {url!r}: check the path, or use source='sample' for the "
            "embedded sample"
        )
    try:
        store = _zarr_store(url, storage_options, seconds, missing_chunks)
        try:
            if "://" in url:
                store.probe(".zmetadata" if consolidated else "zarr.json")
            return xr.open_zarr(store, chunks={}, consolidated=consolidated)
        except BaseException:
            store.release()
            raise
    except _ReadFault as fault:  # reported as a failure to open, with the network's own words
        err = fault.__cause__ or fault
        if _is_timeout(err):
            hint = _timeout_hint(seconds)
            raise StoreError(f"cannot open the Zarr store {url!r}: {hint}") from err
        raise StoreError(
            f"cannot open the Zarr store {url!r} ({_describe(err)}). Check the URL, your "
            "network and credentials (storage_options); to work offline use source='sample'."
        ) from err
    except StoreError:
        raise
    except Exception as err:  # format errors and what fsspec raises before any read
        text = str(err).strip("'\"")
        if consolidated and (text == ".zmetadata" or "consolidated metadata" in text.lower()):
            raise StoreError(
                f"the Zarr store {url!r} has no consolidated metadata (.zmetadata). If you can "
                "write to it, add it once with zarr.consolidate_metadata(store); otherwise open "
                "it with eogapfill.data.open_store(url, consolidated=False) (slower: one request "
                "per array) and select days with select_time."
            ) from err
        if _is_timeout(err):
            hint = _timeout_hint(seconds)
            raise StoreError(f"cannot open the Zarr store {url!r}: {hint}") from err
        if _caused_by(err, json.JSONDecodeError, UnicodeDecodeError):
            raise StoreError(
                f"the Zarr store {url!r} has damaged metadata ({type(err).__name__}: {err}): "
                "it is not valid JSON. If the store is a copy, copy it again; if it is the "
                "provider's, retry later and tell the provider if it persists; to work "
                "offline use source='sample'."
            ) from err
        if "://" not in url:
            kind = "a file" if Path(url).is_file() else "a folder without Zarr metadata"
            raise StoreError(
                f"{url!r} is {kind}, not a Zarr store (a folder holding .zmetadata, .zgroup "
                f"or zarr.json; {type(err).__name__}: {err}). Check the path; to work offline "
                "use source='sample' (the embedded sample)."
            ) from err
        raise StoreError(
            f"cannot open the Zarr store {url!r} ({type(err).__name__}: {err}). Check the URL, "
            "your network and credentials (storage_options); to work offline use "
            "source='sample'."
        ) from err


def _caused_by(err: BaseException, *types: type[BaseException]) -> bool:
    """Whether ``err`` or an exception it was raised from is one of ``types``."""
    seen: set[int] = set()
    e: BaseException | None = err
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if isinstance(e, types):
            return True
        e = e.__cause__ or e.__context__
    return False
