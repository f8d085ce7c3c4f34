"""Bad inputs and faults of the data layer: each gives the right error type and says what to do.

Remote faults run against real local servers (``tests/conftest.py``): a socket that accepts
connections and never answers, and an HTTP server over the sample that answers 404, 500 or
nothing for one chunk that the store's metadata lists.
"""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import sys
import time
import uuid
import warnings

import aiohttp
import numpy as np
import pandas as pd
import pytest
import xarray as xr

from eogapfill.data import (
    DEFAULT_TIMEOUT,
    TIMEOUT_ENV,
    StoreError,
    open_l3s,
    open_l4,
    open_store,
    select_time,
    store_timeout,
)
from eogapfill.healpix import MAX_NSIDE, HealpixGrid, check_nside
from eogapfill.preprocess import (
    MAX_BAD_FRACTION,
    ImplausibleSSTWarning,
    check_sst,
    prepare_day,
    to_celsius,
)
from eogapfill.sample import SAMPLE_START

DAY = SAMPLE_START
SECOND_DAY = "2024-06-02"
#: The chunk of the second day's L3S temperatures (time-chunked store, one day a chunk).
L3S_CHUNK = "/l3s.zarr/sea_surface_temperature/1.0.0"
#: One geo tile of the L4 (all days, the first 256 longitudes): a hole there blanks one region.
L4_GEO_TILE = "/l4_geo.zarr/analysed_sst/0.0.0"
FAST = 1.0  # seconds: the read timeout the tests set
#: (connect, read): a local server connects at once, but a busy test machine may take a while
QUICK = (10.0, FAST)


@pytest.fixture(autouse=True)
def _no_timeout_env(monkeypatch):
    monkeypatch.delenv(TIMEOUT_ENV, raising=False)


# --------------------------------------------------------------------------------------------
# 4. remote faults: a silent server, a chunk the server cannot give, no consolidated metadata
# --------------------------------------------------------------------------------------------
def _s3_options(endpoint: str) -> dict:
    return {
        "key": "testing",
        "secret": "testing",
        "client_kwargs": {"endpoint_url": endpoint, "region_name": "us-east-1"},
    }


@pytest.mark.parametrize(
    ("opener", "scheme"),
    [
        pytest.param(open_l3s, "http", id="l3s-over-http"),
        pytest.param(open_l4, "http", id="l4-over-http"),
        pytest.param(open_l3s, "s3", id="l3s-over-s3"),
    ],
)
def test_silent_server_times_out_with_the_way_to_wait_longer(silent_server, opener, scheme):
    if scheme == "http":
        kwargs = {"url": f"http://{silent_server}/store.zarr"}
    else:
        kwargs = {
            "url": "s3://sst/store.zarr",
            "storage_options": _s3_options(f"http://{silent_server}"),
        }
    start = time.monotonic()
    with pytest.raises(StoreError) as err:
        opener(DAY, timeout=QUICK, **kwargs)
    elapsed = time.monotonic() - start
    message = str(err.value)
    assert "cannot open the Zarr store" in message and "no answer within the timeouts" in message
    assert "timeout=(10, 60)" in message and f"{TIMEOUT_ENV}=60" in message
    assert "read 1 s" in message
    # one request, tried once: one read timeout (s3fs's 5 x 5 and botocore's retries are off)
    assert elapsed < 4 * FAST, elapsed


@pytest.mark.parametrize("scheme", ["s3", "http"])
def test_a_silent_server_costs_one_read_timeout_whatever_the_timeout(silent_server, scheme):
    """The whole open is bounded by the timeout given: one request, tried once."""
    import s3fs  # noqa: F401 (imported before the clock starts: slow to import)

    read = 2.0
    url = "s3://sst/l3s.zarr" if scheme == "s3" else f"http://{silent_server}/l3s.zarr"
    options = _s3_options(f"http://{silent_server}") if scheme == "s3" else None
    start = time.monotonic()
    with pytest.raises(StoreError, match=rf"read {read:g} s"):
        open_store(url, storage_options=options, timeout=(read, read))
    elapsed = time.monotonic() - start
    assert 0.9 * read <= elapsed < 1.9 * read, elapsed  # a second try would take 2 x read


_TWO_SILENT_OPENS = """
import sys
from eogapfill.data import StoreError, open_l3s

endpoint = sys.argv[1]
options = {"key": "testing", "secret": "testing",
           "client_kwargs": {"endpoint_url": endpoint, "region_name": "us-east-1"}}
for url in ("s3://sst/l3s.zarr", "s3://sst/l3s.zarr", endpoint + "/l3s.zarr"):
    try:
        open_l3s("2024-06-01", url=url, storage_options=options if url[:2] == "s3" else None,
                 timeout=(10, 0.5))
    except StoreError as err:
        print("refused", type(err.__cause__).__name__)
"""


def test_silent_opens_leave_nothing_running_at_exit(silent_server, tmp_path):
    """Requests left running after a failed open were torn down at exit, with tracebacks."""
    script = tmp_path / "two_opens.py"
    script.write_text(_TWO_SILENT_OPENS)
    run = subprocess.run(
        [sys.executable, str(script), f"http://{silent_server}"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.count("refused") == 3, run.stdout
    for noise in ("Exception ignored", "Traceback", "different Context", "never retrieved",
                  "was destroyed", "Unclosed"):  # fmt: skip
        assert noise not in run.stderr, run.stderr[-3000:]


def test_timeout_from_the_environment(silent_server, monkeypatch):
    monkeypatch.setenv(TIMEOUT_ENV, "10,1")
    start = time.monotonic()
    with pytest.raises(StoreError, match=r"connect 10 s, read 1 s"):
        open_l3s(DAY, url=f"http://{silent_server}/l3s.zarr")
    assert time.monotonic() - start < 5 * FAST


def test_the_default_timeout_is_the_one_applied(silent_server, monkeypatch):
    import eogapfill.stores

    monkeypatch.setattr(eogapfill.stores, "DEFAULT_TIMEOUT", QUICK)  # no keyword, no variable
    start = time.monotonic()
    with pytest.raises(StoreError, match=r"connect 10 s, read 1 s"):
        open_l4(DAY, url=f"http://{silent_server}/l4_time.zarr")
    assert time.monotonic() - start < 5 * FAST


@pytest.mark.parametrize(
    ("url", "given", "expected"),
    [
        pytest.param(
            "https://host/a.zarr",
            {"client_kwargs": {"headers": {"X": "1"}}},
            {"client_kwargs": {"headers": {"X": "1"}}},
            id="http-keeps-the-user-client-options",
        ),
        pytest.param(
            "s3://bucket/a.zarr",
            {"anon": True, "config_kwargs": {"read_timeout": 300}},
            {
                "anon": True,
                "config_kwargs": {
                    "read_timeout": 300,
                    "connect_timeout": 10.0,
                    "retries": {"total_max_attempts": 1, "mode": "standard"},
                },
            },
            id="s3-user-read-timeout-wins",
        ),
        pytest.param("memory://a.zarr", {"x": 1}, {"x": 1}, id="other-protocols-untouched"),
    ],
)
def test_timeouts_join_the_storage_options(url, given, expected):
    from eogapfill.stores import _remote_options

    options = _remote_options(url, given, DEFAULT_TIMEOUT)
    timeout = options.get("client_kwargs", {}).pop("timeout", None)
    if url.startswith("https"):
        assert timeout.sock_connect == 10 and timeout.sock_read == 20 and timeout.total is None
    assert options == expected


def test_chunk_that_never_comes_times_out_naming_its_url(faulty_http_server):
    url, faults = faulty_http_server
    ds = open_l3s(SECOND_DAY, url=f"{url}/l3s.zarr", timeout=QUICK)
    faults[L3S_CHUNK] = "silent"
    start = time.monotonic()
    with pytest.raises(StoreError) as err:
        ds.load()
    assert time.monotonic() - start < 5 * FAST
    assert f"reading {url}{L3S_CHUNK} failed" in str(err.value)
    assert "no answer within the timeouts" in str(err.value)


@pytest.mark.parametrize(
    ("timeout", "env", "expected"),
    [
        pytest.param(None, None, DEFAULT_TIMEOUT, id="default"),
        pytest.param(30, None, (30.0, 30.0), id="one-number"),
        pytest.param((5, 120), None, (5.0, 120.0), id="connect-read-pair"),
        pytest.param(None, "45", (45.0, 45.0), id="env-one-number"),
        pytest.param(None, " 3, 90 ", (3.0, 90.0), id="env-pair"),
        pytest.param(None, "(10, 60)", (10.0, 60.0), id="env-pair-as-the-messages-write-it"),
        pytest.param(None, "[10,60]", (10.0, 60.0), id="env-pair-in-brackets"),
        pytest.param(7, "45", (7.0, 7.0), id="keyword-beats-env"),
    ],
)
def test_timeout_settings(monkeypatch, timeout, env, expected):
    if env is not None:
        monkeypatch.setenv(TIMEOUT_ENV, env)
    assert store_timeout(timeout) == expected
    assert all(0 < x < 301 for x in store_timeout())  # never the HTTP client's 300 s default


@pytest.mark.parametrize(
    ("timeout", "env", "match"),
    [
        pytest.param(0, None, "positive number of seconds", id="zero"),
        pytest.param(-5, None, "positive number of seconds", id="negative"),
        pytest.param(True, None, "positive number of seconds", id="bool"),
        pytest.param("30", None, "positive number of seconds", id="text"),
        pytest.param((1, 2, 3), None, r"\(connect, read\) pair", id="three-numbers"),
        pytest.param(float("inf"), None, "positive number of seconds", id="infinite"),
        pytest.param(None, "soon", rf"\${TIMEOUT_ENV} must be .*got 'soon'", id="env-not-a-number"),
        pytest.param(None, "1,2,3", rf"\${TIMEOUT_ENV} must be", id="env-three-numbers"),
        pytest.param(None, "(10,", rf"{TIMEOUT_ENV}=10,60; got '\(10,'", id="env-cut"),
    ],
)
def test_bad_timeouts_raise(monkeypatch, timeout, env, match):
    if env is not None:
        monkeypatch.setenv(TIMEOUT_ENV, env)
    with pytest.raises(ValueError, match=match):
        store_timeout(timeout)


def test_explicit_client_timeout_in_storage_options_wins(faulty_http_server):
    url, faults = faulty_http_server
    faults[L3S_CHUNK] = "silent"
    options = {"client_kwargs": {"timeout": aiohttp.ClientTimeout(total=None, sock_read=FAST)}}
    ds = open_l3s(SECOND_DAY, url=f"{url}/l3s.zarr", storage_options=options, timeout=600)
    start = time.monotonic()
    with pytest.raises(StoreError, match="no answer within the timeouts"):
        ds.load()
    assert time.monotonic() - start < 5 * FAST


@pytest.mark.parametrize(
    ("store", "chunk", "opener"),
    [
        pytest.param(
            "l3s.zarr", L3S_CHUNK, lambda url: open_l3s(SECOND_DAY, url=url), id="l3s-time-chunk"
        ),
        pytest.param(
            "l4_geo.zarr",
            L4_GEO_TILE,
            lambda url: open_l4(SECOND_DAY, chunking="geo", url=url),
            id="l4-geo-tile",
        ),
    ],
)
def test_chunk_answered_404_raises_naming_its_url(faulty_http_server, store, chunk, opener):
    url, faults = faulty_http_server
    faults[chunk] = 404
    ds = opener(f"{url}/{store}")  # the metadata is fine: opening works
    with pytest.raises(StoreError) as err:
        ds.load()
    message = str(err.value)
    assert f"the chunk {url}{chunk} is missing" in message
    assert "'not found'" in message and "metadata lists it" in message
    assert "missing_chunks='fill'" in message


def test_chunk_404_fails_prepare_day_instead_of_blaming_the_clouds(faulty_http_server):
    url, faults = faulty_http_server
    faults[L3S_CHUNK] = 404
    l3s = open_l3s(SECOND_DAY, url=f"{url}/l3s.zarr")
    l4 = open_l4(SECOND_DAY, url=f"{url}/l4_time.zarr")
    with pytest.raises(StoreError, match=r"sea_surface_temperature/1\.0\.0 is missing"):
        prepare_day(l3s, l4).load()


def test_missing_chunks_fill_reads_a_sparse_store(faulty_http_server):
    url, faults = faulty_http_server
    faults[L3S_CHUNK] = 404
    ds = open_l3s(SECOND_DAY, url=f"{url}/l3s.zarr", missing_chunks="fill").load()
    assert ds["sea_surface_temperature"].isnull().all()  # what a sparse store means by absent
    assert (ds["quality_level"] > 0).any()  # the other variable's chunk is there


def test_chunk_answered_500_is_wrapped_as_a_store_error(faulty_http_server):
    url, faults = faulty_http_server
    faults[L3S_CHUNK] = 500
    ds = open_l3s(SECOND_DAY, url=f"{url}/l3s.zarr")
    with pytest.raises(StoreError) as err:
        ds.load()
    message = str(err.value)
    assert f"reading {url}{L3S_CHUNK} failed" in message
    assert "HTTP 500" in message and "Retry later" in message
    assert isinstance(err.value.__cause__, aiohttp.ClientResponseError)


def test_metadata_answered_500_fails_the_open(faulty_http_server):
    url, faults = faulty_http_server
    faults["/l3s.zarr/.zmetadata"] = 500
    with pytest.raises(StoreError, match=r"cannot open the Zarr store .*HTTP 500"):
        open_l3s(DAY, url=f"{url}/l3s.zarr")


def test_chunk_missing_on_s3_raises(s3_sample, sample_dir):
    import s3fs

    bucket, options = s3_sample
    fs = s3fs.S3FileSystem(**options)
    fs.put(str(sample_dir / "l3s.zarr"), "sst/holed/l3s.zarr", recursive=True)
    fs.rm("sst/holed/l3s.zarr/sea_surface_temperature/1.0.0")
    ds = open_l3s(SECOND_DAY, url=f"{bucket}/holed/l3s.zarr", storage_options=options)
    with pytest.raises(
        StoreError, match=r"s3://sst/holed/l3s.zarr/sea_surface_temperature/1\.0\.0 is missing"
    ):
        ds.load()


def test_chunk_missing_from_a_local_copy_raises(tmp_path, sample_dir):
    copy = tmp_path / "l3s.zarr"
    shutil.copytree(sample_dir / "l3s.zarr", copy)
    (copy / "sea_surface_temperature" / "1.0.0").unlink()
    ds = open_l3s(SECOND_DAY, url=copy)
    with pytest.raises(StoreError, match="is missing.*copy it again"):
        ds.load()


@pytest.mark.parametrize("where", ["path", "http"])
def test_store_without_consolidated_metadata_says_what_to_do(
    tmp_path, sample_dir, faulty_http_server, where
):
    if where == "path":
        url = tmp_path / "l3s.zarr"
        shutil.copytree(sample_dir / "l3s.zarr", url)
        (url / ".zmetadata").unlink()
    else:
        base, faults = faulty_http_server
        faults["/l3s.zarr/.zmetadata"] = 404
        url = f"{base}/l3s.zarr"
    with pytest.raises(StoreError) as err:
        open_l3s(DAY, url=url)
    message = str(err.value)
    assert "no consolidated metadata (.zmetadata)" in message
    assert "zarr.consolidate_metadata" in message and "consolidated=False" in message
    ds = select_time(open_store(url, consolidated=False), DAY)  # the way it names works
    assert ds.sizes["time"] == 1 and "sea_surface_temperature" in ds


@pytest.mark.parametrize("what", ["a-file", "an-empty-folder"])
def test_a_local_path_that_is_not_a_store_says_so_without_blaming_the_network(tmp_path, what):
    path = tmp_path / "hostname"
    if what == "a-file":
        path.write_text("a host name\n")
    else:
        path.mkdir()
    with pytest.raises(StoreError) as err:
        open_l3s(url=path)
    message = str(err.value)
    assert str(path) in message and "not a Zarr store" in message and "Check the path" in message
    assert "network" not in message and "credentials" not in message


@pytest.mark.parametrize("where", ["path", "http"])
def test_damaged_metadata_of_an_input_store_is_named(tmp_path, sample_dir, http_server, where):
    # the HTTP server serves the sample's folder: the damaged store goes there, then away
    folder = (tmp_path if where == "path" else sample_dir) / f"damaged-{uuid.uuid4().hex}.zarr"
    folder.mkdir()
    for name in (".zgroup", ".zattrs"):
        shutil.copy(sample_dir / "l3s.zarr" / name, folder / name)
    (folder / ".zmetadata").write_text('{"metadata": {".zattrs": ')
    url = str(folder) if where == "path" else f"{http_server}/{folder.name}"
    try:
        with pytest.raises(StoreError) as err:
            open_l3s(DAY, url=url, timeout=QUICK)
    finally:
        shutil.rmtree(folder)
    message = str(err.value)
    assert url in message and "damaged metadata" in message and "not valid JSON" in message
    assert "copy it again" in message and "network" not in message


def test_an_unusable_cache_folder_names_the_variable(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("EOGAPFILL_CACHE", str(blocker / "cache"))
    with pytest.raises(StoreError) as err:
        open_l3s(DAY)
    message = str(err.value)
    assert "$EOGAPFILL_CACHE" in message and str(blocker / "cache") in message
    assert "Set EOGAPFILL_CACHE to a folder you can write to" in message
    assert isinstance(err.value.__cause__, NotADirectoryError)


def test_bad_missing_chunks_value(sample_dir):
    with pytest.raises(ValueError, match="missing_chunks must be 'raise' or 'fill'"):
        open_store(sample_dir / "l3s.zarr", missing_chunks="ignore")


# --------------------------------------------------------------------------------------------
# 5. values that must not pass: wrong or mixed units, inf, glitches
# --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def raw_day(sample_dir) -> tuple[xr.Dataset, xr.Dataset]:
    l3s = open_l3s(DAY, url=sample_dir / "l3s.zarr").load()
    l4 = open_l4(DAY, url=sample_dir / "l4_time.zarr").load()
    return l3s, l4


def _observed_cells(l3s: xr.Dataset, l4: xr.Dataset, n: int) -> np.ndarray:
    """Indices (lat, lon) of ``n`` kept observations over the open sea, spread over the map."""
    kept = (
        (l4["mask"] == 1) & (l3s["quality_level"] == 5) & l3s["sea_surface_temperature"].notnull()
    ).values[0]
    cells = np.argwhere(kept)
    return cells[np.linspace(0, len(cells) - 1, n).astype(int)]


def _with(l3s: xr.Dataset, change) -> xr.Dataset:
    out = l3s.copy(deep=True)
    change(out["sea_surface_temperature"].values[0])
    return out


def _kelvin_to_fahrenheit_numbers(v: np.ndarray) -> None:
    v[...] = (v - 273.15) * 1.8 + 32


def _mixed_units(l3s: xr.Dataset, fraction: float) -> xr.Dataset:
    rng = np.random.default_rng(1)

    def change(v):
        v[rng.random(v.shape) < fraction] -= 273.15  # degC numbers in a field labelled K

    return _with(l3s, change)


@pytest.mark.parametrize(
    ("change", "units", "error", "words"),
    [
        pytest.param(
            lambda d: _mixed_units(d, 0.42),
            "K",
            ValueError,
            ["not plausible sea temperatures", "look like degC", "mixes units"],
            id="42-percent-degC-in-a-kelvin-field",
        ),
        pytest.param(
            lambda d: _mixed_units(d, 0.58),
            "K",
            ValueError,
            ["look like degC", "mixes units"],
            id="58-percent-degC-in-a-kelvin-field",
        ),
        pytest.param(
            lambda d: _mixed_units(d, 1.0),
            "kelvin",
            ValueError,
            ["look like degC", "Fix the 'units' attribute"],
            id="degC-labelled-kelvin",
        ),
        pytest.param(
            lambda d: d, "degC", ValueError, ["look like kelvin"], id="kelvin-labelled-degC"
        ),
        pytest.param(
            lambda d: _with(d, _kelvin_to_fahrenheit_numbers),
            "degC",
            ValueError,
            ["look like degF"],
            id="degF-labelled-degC",
        ),
        pytest.param(
            lambda d: d, "kelvn", ValueError, ["pint cannot read", "'kelvin'"], id="unknown-unit"
        ),
        pytest.param(lambda d: d, "", ValueError, ["not a temperature", "'degC'"], id="empty-unit"),
        pytest.param(
            lambda d: d,
            "m s-1",
            ValueError,
            ["not a temperature", "'degF'"],
            id="not-a-temperature",
        ),
        pytest.param(
            lambda d: _with(d, lambda v: v.__setitem__(np.s_[::7], 1e6)),
            "kelvin",
            ValueError,
            ["too many to be glitches", "_FillValue"],
            id="many-glitches",
        ),
    ],
)
def test_implausible_fields_are_refused(raw_day, change, units, error, words):
    l3s, l4 = raw_day
    bad = change(l3s.copy(deep=True))
    bad["sea_surface_temperature"].attrs["units"] = units
    with pytest.raises(error) as err:
        prepare_day(bad, l4)
    for word in words:
        assert word in str(err.value), (word, str(err.value))


def test_genuine_degf_is_converted(raw_day):
    l3s, l4 = raw_day
    # the best level: the cold-biased edge levels of near-freezing water may fall below
    # -2.5 degC, and those are rightly flagged
    best = l3s["sea_surface_temperature"].where(l3s["quality_level"] == 5)
    sst = best.assign_attrs(l3s["sea_surface_temperature"].attrs)
    fahrenheit = ((sst - 273.15) * 1.8 + 32).assign_attrs(units="degF")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        degc = to_celsius(fahrenheit)
    np.testing.assert_allclose(degc.values, sst.values - 273.15, rtol=0, atol=1e-4)
    assert degc.attrs["units"] == "degC"


@pytest.mark.parametrize(
    ("values", "count", "words"),
    [
        pytest.param(
            [1e6],
            1,
            ["1 of the", "is not a plausible sea temperature", "(1e+06 kelvin)"],
            id="one-glitch-1e6",
        ),
        pytest.param([np.inf], 1, ["+-inf"], id="plus-inf"),
        pytest.param(
            [np.inf, -np.inf, -40.0],
            3,
            ["3 of the", "2 of them +-inf", "(-40 kelvin)"],
            id="inf-minus-inf-and-cold",
        ),
    ],
)
def test_glitches_are_masked_with_a_warning_that_says_where(raw_day, values, count, words):
    l3s, l4 = raw_day
    cells = _observed_cells(l3s, l4, len(values))

    def change(v):
        for (i, j), x in zip(cells, values, strict=True):
            v[i, j] = x

    with pytest.warns(ImplausibleSSTWarning) as record:
        day = prepare_day(_with(l3s, change), l4)
    message = str(record[0].message)
    for word in words:
        assert word in message, (word, message)
    assert "look like" not in message and "is it kelvin" not in message  # not a unit problem
    lat, lon = l3s.latitude.values[cells[0][0]], l3s.longitude.values[cells[0][1]]
    assert f"latitude {lat:g}, longitude {lon:g}" in message
    assert "masked" in message and "implausible='raise'" in message
    sst = day["SST_L3S"].sel(
        latitude=l3s.latitude[cells[:, 0]], longitude=l3s.longitude[cells[:, 1]]
    )
    assert np.isnan(np.diag(sst.values)).all()  # masked: no observation there ...
    assert (
        day["sea"].values[day.latitude.values == lat, day.longitude.values == lon].all()
    )  # ... over the sea: a gap, not land
    assert (
        np.isfinite(day["SST_L3S"]).sum()
        == np.isfinite(prepare_day(l3s, l4)["SST_L3S"]).sum() - count
    )
    assert float(day["SST_L3S"].max()) < 40 and float(day["SST_L3S"].min()) > -2.5


def test_glitch_in_the_l4_is_named(raw_day):
    l3s, l4 = raw_day
    i, j = _observed_cells(l3s, l4, 1)[0]
    l4_bad = l4.copy(deep=True)
    l4_bad["analysed_sst"].values[0, i, j] = np.inf
    with pytest.warns(ImplausibleSSTWarning, match="'analysed_sst'"):
        day = prepare_day(l3s, l4_bad)
    assert np.isnan(day["SST_L4"].values[i, j])


def test_glitches_raise_when_asked(raw_day):
    l3s, l4 = raw_day
    i, j = _observed_cells(l3s, l4, 1)[0]
    bad = _with(l3s, lambda v: v.__setitem__((i, j), -np.inf))
    with pytest.raises(ValueError, match=r"1 of the \d+ values .*\+-inf.*Mask them"):
        prepare_day(bad, l4, implausible="raise")


def test_junk_in_rejected_pixels_is_not_checked(raw_day):
    """A low-quality or land pixel may hold anything: it is dropped, not reported."""
    l3s, l4 = raw_day
    bad = l3s.copy(deep=True)
    low = np.argwhere((bad["quality_level"] < 5).values[0])[0]
    bad["sea_surface_temperature"].values[0, low[0], low[1]] = 1e6
    land = np.argwhere((l4["mask"] != 1).values[0])[0]
    bad["sea_surface_temperature"].values[0, land[0], land[1]] = np.inf
    bad["quality_level"].values[0, land[0], land[1]] = 5
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        prepare_day(bad, l4)


@pytest.mark.parametrize(
    ("values", "match"),
    [
        pytest.param([10.0] * 99 + [1e6], r"1 of the 100 values .*masked", id="one-in-a-hundred"),
        pytest.param([10.0] * 9 + [np.inf], r"too many to be glitches", id="one-in-ten"),
    ],
)
def test_check_sst_threshold(values, match):
    assert MAX_BAD_FRACTION == 0.01
    sst = xr.DataArray(values, dims="x", name="sst", attrs={"units": "degC"})
    if "masked" in match:
        with pytest.warns(ImplausibleSSTWarning, match=match):
            out = check_sst(sst)
        assert np.isnan(out.values[-1]) and np.isfinite(out.values[:-1]).all()
    else:
        with pytest.raises(ValueError, match=match):
            check_sst(sst)


def test_check_sst_stays_lazy_on_dask():
    sst = xr.DataArray(np.full(1000, 12.0), dims="x", attrs={"units": "degC"}).chunk(100)
    out = check_sst(sst)
    assert out.chunks is not None


# --------------------------------------------------------------------------------------------
# 6. malformed dates and nsides
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("when", "error", "match"),
    [
        pytest.param(
            "2024-13-01",
            ValueError,
            r"'2024-13-01' is not a date: write it as YYYY-MM-DD",
            id="month-13",
        ),
        pytest.param(
            "2024-06-31", ValueError, "is not a date: write it as YYYY-MM-DD", id="june-31"
        ),
        pytest.param(
            "01/06/2024", ValueError, "is not a date: write it as YYYY-MM-DD", id="day-first"
        ),
        pytest.param(
            "June 1 2024", ValueError, "is not a date: write it as YYYY-MM-DD", id="words"
        ),
        pytest.param("", ValueError, "is not a date", id="empty"),
        pytest.param(
            "2024-06-01T00:00+02:00",
            ValueError,
            r"time zone UTC\+02:00.*UTC days.*'2024-05-31'",
            id="tz-offset-text",
        ),
        pytest.param(
            pd.Timestamp("2024-06-01 12:00", tz="America/New_York"),
            ValueError,
            r"time zone America/New_York.*'2024-06-01'",
            id="tz-aware-timestamp",
        ),
        pytest.param(
            20240601, TypeError, r"must be a day, got int 20240601.*YYYY-MM-DD", id="integer"
        ),
        pytest.param(np.datetime64("NaT"), ValueError, r"not a time \(NaT\)", id="nat"),
        pytest.param(
            slice("2024-06-05", "2024-06-02"),
            ValueError,
            r"end 2024-06-02 is before the start 2024-06-05: swap them",
            id="end-before-start",
        ),
        pytest.param(
            slice(DAY, "2024-06-05", 2), ValueError, "takes no step", id="slice-with-step"
        ),
        pytest.param(
            slice("2024-06-01", "tomorrow"),
            ValueError,
            r"the end 'tomorrow' is not a date",
            id="bad-slice-end",
        ),
    ],
)
def test_malformed_times_say_the_accepted_form(silent_server, when, error, match):
    start = time.monotonic()
    with pytest.raises(error, match=match):  # before any network: the silent server is not asked
        open_l3s(when, url=f"http://{silent_server}/l3s.zarr", timeout=30)
    with pytest.raises(error, match=match):
        open_l4(when, url=f"http://{silent_server}/l4_time.zarr", timeout=30)
    assert time.monotonic() - start < 5


@pytest.mark.parametrize(
    "when",
    [
        pytest.param(DAY, id="iso-text"),
        pytest.param("2024-06-01T18:30", id="time-of-day-ignored"),
        pytest.param("2024-06-01T00:00Z", id="utc-suffix"),
        pytest.param("2024-06-01T23:00+00:00", id="zero-offset"),
        pytest.param(dt.date(2024, 6, 1), id="datetime-date"),
        pytest.param(np.datetime64("2024-06-01"), id="numpy"),
        pytest.param(pd.Timestamp("2024-06-01", tz="UTC"), id="utc-timestamp"),
    ],
)
def test_accepted_day_forms_select_the_same_day(sample_dir, when):
    ds = open_l3s(when, url=sample_dir / "l3s.zarr")
    assert ds.sizes["time"] == 1 and str(ds["time"].values[0])[:10] == DAY


def test_select_time_checks_the_day_too(sample_dir):
    ds = open_store(sample_dir / "l3s.zarr")
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        select_time(ds, "2024/06/01")
    with pytest.raises(
        StoreError, match=r"no data for 1999-01-01 .*covers 2024-06-01 to .*write_sample"
    ):
        select_time(ds, "1999-01-01")
    assert select_time(ds, slice(None, "2024-06-02")).sizes["time"] == 2


@pytest.mark.parametrize(
    ("nside", "match"),
    [
        pytest.param(
            2**14, r"nside 16384 is above the largest the package handles, 8192", id="2-to-the-14"
        ),
        pytest.param(2**30, r"above the largest .*8192", id="2-to-the-30"),
        pytest.param(12, r"power of two, got 12; use 8 or 16", id="not-a-power-of-two"),
        pytest.param(0, r"positive integer power of two \(1, 2, 4, ... 8192\)", id="zero"),
        pytest.param(64.0, r"positive integer power of two", id="float"),
    ],
)
def test_bad_nsides_are_refused_before_any_allocation(nside, match):
    start = time.monotonic()
    with pytest.raises(ValueError, match=match):
        check_nside(nside)
    with pytest.raises(ValueError, match=match):
        HealpixGrid(nside)
    assert time.monotonic() - start < 1


def test_the_nside_limit_is_the_one_the_messages_state():
    assert MAX_NSIDE == 8192
    assert check_nside(MAX_NSIDE) == 13 and check_nside(np.int64(64)) == 6
    with pytest.raises(ValueError, match=str(MAX_NSIDE)):
        check_nside(2 * MAX_NSIDE)


def test_regrid_refuses_nside_2_to_the_14_without_a_memory_error(raw_day):
    from eogapfill.regrid import to_healpix

    day = prepare_day(*raw_day)
    with pytest.raises(ValueError, match="above the largest the package handles"):
        to_healpix(day, 2**14)
