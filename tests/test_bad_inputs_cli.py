"""Bad inputs at the command line: each one stops early with one line that says what to do."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("distributed")

from eogapfill import cli, pipeline  # noqa: E402
from eogapfill.pipeline import cluster, plan, runner, store  # noqa: E402

FILL = ["fill", "--start", "2024-06-01", "--end", "2024-06-02"]
QUICK = ["--nside", "16", "--resolution", "1.0", "--quiet"]
RESUME = "eogapfill: interrupted; finished days are kept, run the same command again to resume"


def _one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def _no_work(*args: object, **kwargs: object) -> None:
    raise AssertionError("a bad input must be refused before any work starts")


@pytest.fixture()
def no_work(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if a cluster starts, a day is computed or prepared, or a sample written."""
    from eogapfill import preprocess, sample

    monkeypatch.setattr(runner, "_default_cluster", _no_work)
    monkeypatch.setattr(runner, "connect_scheduler", _no_work)
    monkeypatch.setattr(runner, "process_day", _no_work)
    monkeypatch.setattr(preprocess, "prepare_day", _no_work)
    monkeypatch.setattr(sample, "write_sample", _no_work)


# --------------------------------------------------------------------------------------------
# refused by the parser or before any work: status 2
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("args", "words"),
    [
        pytest.param(
            ["fill", "--start", "2024-06-41", "--end", "2024-06-42", "--out", "x"],
            ["argument --start: '2024-06-41' is not a date", "YYYY-MM-DD"],
            id="date-not-a-day",
        ),
        pytest.param(
            ["fill", "--start", "2024-06-01T00:00+02:00", "--end", "2024-06-02", "--out", "x"],
            ["is not a date", "no time zone", "UTC days"],
            id="date-with-time-zone",
        ),
        pytest.param(
            ["fill", "--start", "2024-06-01", "--end", "2024-06-02Z", "--out", "x"],
            ["--end", "'2024-06-02Z' is not a date", "no time zone"],
            id="date-with-utc-suffix",
        ),
        pytest.param(
            ["validate", "--date", "1 June 2024"],
            ["--date", "'1 June 2024' is not a date", "e.g. 2024-06-01"],
            id="validate-date-in-words",
        ),
        pytest.param(
            ["fill", "--start", "2024-06-03", "--end", "2024-06-01", "--out", "x"],
            ["--end 2024-06-01 is before --start 2024-06-03"],
            id="end-before-start",
        ),
        pytest.param(
            [*FILL, "--out", "x", "--nside", str(2**14)],
            ["--nside", "16384", "8192"],
            id="nside-2-to-the-14",
        ),
        pytest.param(
            [*FILL, "--out", "x", "--nside", "64.0"],
            ["'64.0' is not an integer"],
            id="nside-not-an-integer",
        ),
        pytest.param(
            [*FILL, "--out", "x", "--method", "oi", "--option", "n_members=true"],
            ["--option: the oi fill's option n_members must be int", "got True (bool)"],
            id="option-bool-for-a-count",
        ),
        pytest.param(
            [*FILL, "--out", "x", "--method", "alm", "--option", "lmaxx=20"],
            ["--option: the alm fill has no option 'lmaxx'", "its options:", "lmax"],
            id="option-unknown-name",
        ),
        pytest.param(
            [*FILL, "--out", "x", "--method", "alm", "--option", "lmax=twenty"],
            ["the alm fill's option lmax must be int", "'twenty' (str)", "e.g. lmax="],
            id="option-text-for-an-integer",
        ),
        pytest.param(
            [*FILL, "--out", "x", "--method", "oi", "--option", "seed=-3"],
            ["seed must be an integer in [0, 2**32)", "-3"],
            id="option-negative-seed",
        ),
        pytest.param(
            [*FILL, "--out", "x", "--method", "oi", "--option", "seed=1.5"],
            ["seed must be int", "1.5 (float)"],
            id="option-fractional-seed",
        ),
        pytest.param(
            [*FILL, "--out", "x", "--method", "foscat", "--option", "threads=0"],
            ["threads must be an integer >= 1", "got 0"],
            id="option-zero-threads",
        ),
        pytest.param(
            [*FILL, "--out", "x", "--option", "client=1"],
            ["the laplace fill has no option 'client'"],
            id="option-of-the-pipeline",
        ),
        pytest.param(
            [*FILL, "--out", "x", "--scheduler-timeout", "0"],
            ["--scheduler-timeout", "positive number of seconds"],
            id="scheduler-timeout-zero",
        ),
        pytest.param(
            [*FILL, "--out", "x", "--wait", "soon"],
            ["--wait", "'soon' is not a number of seconds"],
            id="wait-not-a-number",
        ),
        pytest.param(
            ["validate", "--date", "2024-06-03", "--clouds-from", "2024-06-03"],
            ["--clouds-from must be another day than --date"],
            id="validate-clouds-from-the-same-day",
        ),
    ],
)
def test_bad_arguments_stop_with_status_2(args, words, capsys, no_work, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert cli.main(args) == 2
    captured = capsys.readouterr()
    line = _one_line(captured.err)
    assert line.startswith(f"eogapfill {args[0]}: error: ") or line.startswith("eogapfill")
    for word in words:
        assert word in line, word
    assert captured.out == ""
    assert not (tmp_path / "x").exists()


# --------------------------------------------------------------------------------------------
# refused while starting, before any work: status 1
# --------------------------------------------------------------------------------------------
def _out_is_a_file(tmp_path: Path) -> list[str]:
    (tmp_path / "store.zarr").write_text("not a store")
    return [*FILL, *QUICK, "--out", str(tmp_path / "store.zarr")]


def _out_inside_a_file(tmp_path: Path) -> list[str]:
    (tmp_path / "notes.txt").write_text("a file")
    return [*FILL, *QUICK, "--out", str(tmp_path / "notes.txt" / "store.zarr")]


def _out_read_only(tmp_path: Path) -> list[str]:
    if os.geteuid() == 0:
        pytest.skip("root writes to read-only folders")
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    return [*FILL, *QUICK, "--out", str(folder / "store.zarr")]


def _out_in_proc(tmp_path: Path) -> list[str]:
    if not Path("/proc/self").is_dir():
        pytest.skip("no /proc here")
    return [*FILL, *QUICK, "--out", "/proc/self/store.zarr"]  # not writable, even by root


def _days_outside_sample(tmp_path: Path) -> list[str]:
    return [
        "fill",
        "--start",
        "2030-01-01",
        "--end",
        "2030-01-02",
        *QUICK,
        "--out",
        str(tmp_path / "store.zarr"),
    ]


def _scheduler_not_an_address(tmp_path: Path) -> list[str]:
    return [*FILL, *QUICK, "--out", str(tmp_path / "store.zarr"), "--scheduler", "localhost:8786"]


def _sample_exists(tmp_path: Path) -> list[str]:
    (tmp_path / "sample" / "l3s.zarr").mkdir(parents=True)
    return ["sample", "--out", str(tmp_path / "sample"), "--days", "1", "--resolution", "1.0"]


def _validate_last_day(tmp_path: Path) -> list[str]:
    return ["validate", "--date", "2024-06-10", *QUICK[:4]]


def _validate_date_outside(tmp_path: Path) -> list[str]:
    return ["validate", "--date", "2030-01-01", *QUICK[:4]]


def _validate_clouds_outside(tmp_path: Path) -> list[str]:
    return ["validate", "--date", "2024-06-01", "--clouds-from", "2030-01-01", *QUICK[:4]]


@pytest.mark.parametrize(
    ("make_args", "words", "absent"),
    [
        pytest.param(
            _out_is_a_file,
            ["store.zarr is a file, not a Zarr store", "choose another output path"],
            [],
            id="out-is-a-file",
        ),
        pytest.param(
            _out_inside_a_file,
            [
                "cannot create the folder",
                "notes.txt",
                "choose an output path in a folder you can write to",
            ],
            [],
            id="out-inside-a-file",
        ),
        pytest.param(
            _out_read_only,
            [
                "read-only",
                "permission denied",
                "choose an output path in a folder you can write to",
            ],
            [],
            id="out-read-only",
        ),
        pytest.param(
            _out_in_proc,
            [
                "cannot write to /proc/self",
                "permission denied",
                "choose an output path in a folder you can write to",
            ],
            [],
            id="out-in-a-system-folder",
        ),
        pytest.param(
            _days_outside_sample,
            [
                "no data for 2 of the days asked (first: 2030-01-01)",
                "holds 2024-06-01 to 2024-06-10",
                "pick days in that range",
                "source 'cmems'",
            ],
            ["eogapfill sample"],
            id="days-outside-the-sample",
        ),
        pytest.param(
            _scheduler_not_an_address,
            ["'localhost:8786' is not a Dask scheduler address", "tcp://HOST:PORT"],
            [],
            id="scheduler-not-an-address",
        ),
        pytest.param(
            _sample_exists,
            ["l3s.zarr already exist", "pass --overwrite"],
            ["overwrite=True"],
            id="sample-exists-without-overwrite",
        ),
        pytest.param(
            _validate_last_day,
            [
                "--clouds-from is by default the day after --date, 2024-06-11",
                "holds 2024-06-01 to 2024-06-10",
                "pass --clouds-from 2024-06-09",
            ],
            [],
            id="validate-last-day-default-clouds",
        ),
        pytest.param(
            _validate_date_outside,
            ["--date 2030-01-01 is not in the data", "holds 2024-06-01 to 2024-06-10"],
            ["--clouds-from"],
            id="validate-date-outside-the-sample",
        ),
        pytest.param(
            _validate_clouds_outside,
            ["--clouds-from 2030-01-01 is not in the data", "pass --clouds-from 2024-06-02"],
            ["by default"],
            id="validate-clouds-outside-the-sample",
        ),
    ],
)
def test_bad_inputs_found_while_starting_stop_with_status_1(
    make_args, words, absent, capsys, no_work, tmp_path, sample_dir
):
    args = make_args(tmp_path)
    assert cli.main(args) == 1
    captured = capsys.readouterr()
    line = _one_line(captured.err)
    assert line.startswith(f"eogapfill {args[0]}: error: ")
    for word in words:
        assert word in line, word
    for word in absent:
        assert word not in line, word
    assert not (tmp_path / "store.zarr").is_dir()


def test_a_busy_store_is_refused_with_its_holder(tmp_path, capsys, no_work, sample_dir):
    out = tmp_path / "store.zarr"
    with store._store_lock(out):
        assert cli.main([*FILL, *QUICK, "--out", str(out)]) == 1
    line = _one_line(capsys.readouterr().err)
    for word in (
        f"{out} is being written by another run (pid {os.getpid()}",
        "one writer at a time",
        "--wait",
        "even if it is killed",
    ):
        assert word in line, word


# --------------------------------------------------------------------------------------------
# a scheduler that never answers
# --------------------------------------------------------------------------------------------
@pytest.fixture()
def silent_port() -> Iterator[int]:
    """A local TCP port that accepts connections and never says a word."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    accepted: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                accepted.append(server.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    yield server.getsockname()[1]
    server.close()
    for conn in accepted:
        conn.close()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize(
    ("how", "silent"),
    [
        pytest.param("flag", True, id="silent-port-flag"),
        pytest.param("dask-config", True, id="silent-port-dask-config"),
        pytest.param("flag", False, id="closed-port-flag"),
    ],
)
def test_a_scheduler_that_never_answers_fails_in_time(
    how, silent, silent_port, tmp_path, sample_dir
):
    port = silent_port if silent else _closed_port()
    address = f"tcp://127.0.0.1:{port}"
    env = dict(os.environ)
    args = [*FILL, *QUICK, "--out", str(tmp_path / "store.zarr"), "--scheduler", address]
    if how == "flag":
        args += ["--scheduler-timeout", "2"]
    else:
        env["DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT"] = "2s"
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "eogapfill", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    elapsed = time.monotonic() - started
    assert proc.returncode == 1, proc.stderr
    line = _one_line(proc.stderr)
    for word in (
        f"no Dask scheduler answered at {address} within 2 s",
        "check the address",
        "--scheduler-timeout SECONDS",
        "distributed.comm.timeouts.connect",
    ):
        assert word in line, word
    assert elapsed < 60, f"{elapsed:.0f} s"
    assert not (tmp_path / "store.zarr").exists()
    assert not store._lock_path(tmp_path / "store.zarr").exists()


def test_the_default_scheduler_timeout_is_the_dask_config():
    import dask

    assert cluster._connect_timeout(None) == 30.0
    with dask.config.set({"distributed.comm.timeouts.connect": "7s"}):
        assert cluster._connect_timeout(None) == 7.0
    assert cluster._connect_timeout(2.5) == 2.5
    with pytest.raises(ValueError, match="must be positive"):
        cluster._connect_timeout(0)


# --------------------------------------------------------------------------------------------
# Ctrl-C
# --------------------------------------------------------------------------------------------
_SLOW_FILL = textwrap.dedent(
    """
    import time

    from eogapfill.fill.laplace import fill_laplace


    def slow_laplace(day, **options):
        # the first day is written after 2 s; the others take a minute, so that the run is
        # surely still going when it is interrupted, whichever day a worker finishes first
        first = str(day["time"].values)[:10] == "2024-06-01"
        time.sleep(2 if first else 60)
        return fill_laplace(day, **options)
    """
)

_SLOW_CLI = textwrap.dedent(
    """
    import signal
    import sys

    from eogapfill import cli
    from eogapfill.fill import register_method

    if __name__ == "__main__":
        # Ctrl-C live as in a terminal, even when the tests run as a background job (which
        # starts every child with SIGINT ignored)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        register_method("laplace", "slowfill:slow_laplace")
        sys.exit(cli.main(sys.argv[1:]))
    """
)


def test_ctrl_c_prints_one_resume_line_and_the_run_resumes(tmp_path, sample_dir):
    (tmp_path / "slowfill.py").write_text(_SLOW_FILL)
    (tmp_path / "slow_cli.py").write_text(_SLOW_CLI)
    out = tmp_path / "store.zarr"
    args = [
        "fill",
        "--start",
        "2024-06-01",
        "--end",
        "2024-06-08",
        *QUICK,
        "--out",
        str(out),
        "--workers",
        "2",
    ]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(
            [str(tmp_path), *filter(None, [os.environ.get("PYTHONPATH")])]
        ),
    }
    proc = subprocess.Popen(
        [sys.executable, str(tmp_path / "slow_cli.py"), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,
    )  # its own group: Ctrl-C reaches all of it
    try:
        deadline = time.monotonic() + 180
        while not (out / ".zmetadata").exists():
            assert proc.poll() is None, proc.communicate()[1][-3000:]
            assert time.monotonic() < deadline, "no day written in time"
            time.sleep(0.1)
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130, (stdout[-1000:], stderr[-3000:])
    assert _one_line(stderr) == RESUME
    assert stdout == ""
    kept = pipeline.stored_days(out)
    assert 1 <= len(kept) < 8
    assert not store._lock_path(out).exists()

    import distributed

    with (
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        ds = pipeline.run(
            "2024-06-01",
            "2024-06-08",
            nside=16,
            resolution=1.0,
            out=out,
            client=client,
            progress=False,
        )
    assert [str(t)[:10] for t in ds["time"].values] == [f"2024-06-0{d}" for d in range(1, 9)]


# --------------------------------------------------------------------------------------------
# the words of the Python API, turned into those of the command line
# --------------------------------------------------------------------------------------------
def test_an_unreachable_source_speaks_of_options_not_arguments(
    tmp_path, capsys, monkeypatch, no_work
) -> None:
    """``--source cmems`` offline: the store's own error, in the command's words."""
    from eogapfill.data import open_l3s

    def unreachable_l3s(*args: object, **kwargs: object) -> object:  # a closed local port
        return open_l3s(None, url=f"http://127.0.0.1:{_closed_port()}/l3s.zarr")

    monkeypatch.setattr(plan, "open_l3s", unreachable_l3s)  # the days the source holds
    out = tmp_path / "x.zarr"
    status = cli.main([*FILL, *QUICK, "--source", "cmems", "--out", str(out)])
    line = _one_line(capsys.readouterr().err)
    assert status == 1 and line.startswith("eogapfill fill: error: cannot open the Zarr store")
    assert "to work offline use --source sample" in line
    assert "storage_options" not in line and "source='" not in line
    assert not out.exists()
