"""Option values are checked once, before any work: by the registry's rules, for the command
line, the pipeline and the fills alike; failures say whether a re-run can get past them."""

from __future__ import annotations

import contextlib
import errno
import io
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("distributed")

from eogapfill import cli, pipeline  # noqa: E402
from eogapfill.fill import METHODS, get_method  # noqa: E402
from eogapfill.healpix import healpix_dataset  # noqa: E402
from eogapfill.pipeline import day as day_task  # noqa: E402
from eogapfill.pipeline import plan, region, runner, writer  # noqa: E402
from tests.pipeline_fixtures import NSIDE, RESOLUTION  # noqa: E402

FILL = ["fill", "--start", "2024-06-01", "--end", "2024-06-02", "--quiet"]
QUICK = ["--nside", "16", "--resolution", "1.0"]

#: (method, --option, the words of the refusal): every kind of rule, every HEALPix method.
BAD_VALUES = [
    ("alm", "lmax=-5", "option lmax must be >= 0, got -5"),
    ("alm", "ridge=-1", "option ridge must be >= 0, got -1"),
    ("oi", "lmax=-5", "option lmax must be >= 0, got -5"),
    ("oi", "n_neighbours=0", "option n_neighbours must be >= 1, got 0"),
    ("oi", "background=bogus", "option background must be one of 'blended', 'continued'"),
    ("oi", "nu=0", "option nu must be > 0, got 0"),
    ("laplace", "max_iter=0", "option max_iter must be >= 1, got 0"),
    ("noise", "std=-1", "option std must be >= 0, got -1"),
    ("foscat", "n_epochs=0", "option n_epochs must be >= 1, got 0"),
    ("foscat", "masks=bogus", "option masks must be one of 'local12', 'local48', 'global'"),
    ("foscat", "near_gaps_km=-5", "option near_gaps_km must be > 0, got -5"),
    ("oi", "variance_scale_km=-5", "option variance_scale_km must be > 0, got -5"),
    ("foscat", "coarse_epochs=[30, 0]", "option coarse_epochs must be a list of integers >= 1"),
    ("spacetime_oi", "rho=1.5", "option rho must be in [0, 1), got 1.5"),
    ("spacetime_oi", "n_neighbours_other=-1", "option n_neighbours_other must be >= 0, got -1"),
    ("eof", "cv_fraction=0.7", "option cv_fraction must be in (0, 0.5), got 0.7"),
    ("eof", "max_modes=0", "option max_modes must be >= 1, got 0"),
]


def _no_work(*args: object, **kwargs: object) -> None:
    raise AssertionError("a bad option value must be refused before any work starts")


@pytest.fixture()
def no_work(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if a cluster starts, a day is computed or the source is read."""
    for name in ("_default_cluster", "connect_scheduler", "process_day"):
        monkeypatch.setattr(runner, name, _no_work)
    for module, name in (
        (plan, "open_l3s"),
        (region, "open_l4"),
        (day_task, "open_l3s"),
        (day_task, "open_l4"),
    ):  # where the run reads the source: the days it holds, the land mask, a day
        monkeypatch.setattr(module, name, _no_work)


def _skip_unavailable(method: str) -> None:
    if not METHODS[method].available():
        pytest.skip(f"{method} needs {', '.join(METHODS[method].missing())}")


@pytest.mark.parametrize(("method", "option", "words"), BAD_VALUES)
def test_the_command_refuses_a_bad_option_value_before_any_work(
    tmp_path: Path, no_work: None, method: str, option: str, words: str
) -> None:
    _skip_unavailable(method)
    out = tmp_path / "x.zarr"
    args = [*FILL, *QUICK, "--method", method, "--option", option, "--out", str(out)]
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        status = cli.main(args)
    line = err.getvalue().strip()
    assert status == 2 and len(line.splitlines()) == 1, line
    assert line.startswith(f"eogapfill fill: error: --option: the {method} fill's {words}")
    assert "run the same command" not in line
    assert not out.exists() and not list(tmp_path.iterdir())


@pytest.mark.parametrize(("method", "option", "words"), BAD_VALUES[:6])
def test_the_pipeline_refuses_the_same_values_before_any_work(
    tmp_path: Path, no_work: None, method: str, option: str, words: str
) -> None:
    key, value = cli._option(option)
    with pytest.raises(ValueError, match=words.replace("(", r"\(")):
        pipeline.run(
            "2024-06-01",
            "2024-06-02",
            method=method,
            nside=NSIDE,
            resolution=RESOLUTION,
            out=tmp_path / "x.zarr",
            method_options={key: value},
            progress=False,
        )
    assert not (tmp_path / "x.zarr").exists()


def _small_map() -> tuple:
    rng = np.random.default_rng(0)
    sst = 20 + rng.normal(0, 1, 12 * 16**2)
    gaps = np.zeros(sst.size, bool)
    gaps[::7] = True
    sst[gaps] = np.nan
    return healpix_dataset({"SST_L3S": sst, "gap": gaps}, nside=16), sst


@pytest.mark.parametrize(
    ("method", "option"),
    [(m, o) for m, o, _ in BAD_VALUES if m in ("alm", "oi", "laplace", "noise")],
)
def test_the_fills_refuse_what_the_rules_refuse(method: str, option: str) -> None:
    """The rules never refuse a value that the fill itself would take."""
    key, value = cli._option(option)
    ds, _ = _small_map()
    with pytest.raises(ValueError):
        get_method(method)(ds, **{key: value})


def test_the_rules_take_every_value_the_fills_take() -> None:
    from eogapfill.fill.oi import BACKGROUNDS

    oi = METHODS["oi"]
    for background in BACKGROUNDS:
        assert oi.check_options({"background": background}) == {"background": background}
    assert oi.check_options({"lmax": 0, "radius_km": None, "n_members": 0, "nu": 1.5})
    assert METHODS["alm"].check_options({"lmax": 0, "ridge": 0.0})
    with pytest.raises(ValueError, match=r"option nu must be > 0, got nan"):
        oi.check_options({"nu": float("nan")})
    assert METHODS["oi"].gives_std() is True and METHODS["alm"].gives_std() is False


def test_the_spacetime_fills_refuse_what_the_rules_refuse() -> None:
    """The space-time rules refuse what the fills refuse, and take what they take."""
    from tests.test_fill_eof import low_rank_stack

    stack, _ = low_rank_stack(1, n_days=5)
    for method, option, _ in BAD_VALUES:
        if not METHODS[method].spacetime:
            continue
        key, value = cli._option(option)
        with pytest.raises(ValueError):
            get_method(method)(stack, 2, **{key: value})
    assert METHODS["spacetime_oi"].check_options({"rho": 0.0, "n_neighbours_other": 0})
    assert METHODS["eof"].check_options({"cv_fraction": 0.02, "max_modes": 1, "seed": None})


# --------------------------------------------------------------------------------------------
# a day that fails: a re-run advised only when it can get past the failure
# --------------------------------------------------------------------------------------------
def _writer(tmp_path: Path, committed: int = 0, written: int = 0) -> runner._Writer:
    writer = runner._Writer(tmp_path / "x.zarr", [], {}, committed)
    writer.written = written
    return writer


def test_an_input_error_is_not_sent_back_to_a_rerun(tmp_path: Path) -> None:
    day = runner.day_range("2024-06-02", "2024-06-02")[0]
    message = str(runner._failure(day, ValueError("lmax too large"), _writer(tmp_path)))
    assert "would stop on 2024-06-02 again" in message and "end the run on 2024-06-01" in message
    assert "run the same command again to resume" not in message
    # nothing was written: no store to speak of
    assert f"nothing was written ({tmp_path / 'x.zarr'} was not created)" in message
    assert "0 day(s)" not in message


def test_a_fault_of_the_network_or_a_worker_is_sent_back_to_a_rerun(tmp_path: Path) -> None:
    day = runner.day_range("2024-06-02", "2024-06-02")[0]
    for err in (TimeoutError("no answer"), OSError(errno.ENOSPC, "No space left on device")):
        message = str(runner._failure(day, err, _writer(tmp_path)))
        assert "run the same command again to resume" in message


def test_a_write_failure_says_the_finished_days_are_safe(tmp_path, monkeypatch) -> None:
    """A full disk on the second day: one line, the first day kept, a re-run resumes."""
    from tests.pipeline_fixtures import in_process_cluster

    writes = []
    append = writer._append_day

    def full_disk_on_second_day(ds, out):
        writes.append(out)
        if len(writes) == 2:
            raise OSError(errno.ENOSPC, "No space left on device", str(out / "SST_filled"))
        append(ds, out)

    monkeypatch.setattr(writer, "_append_day", full_disk_on_second_day)
    monkeypatch.setattr(runner, "_default_cluster", in_process_cluster)
    out = tmp_path / "x.zarr"
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        status = cli.main([*FILL, *QUICK, "--out", str(out)])
    line = err.getvalue().strip()
    assert status == 1 and len(line.splitlines()) == 1 and "Traceback" not in line, line
    assert "writing 2024-06-02 to" in line and "No space left on device" in line
    assert f"the 1 day(s) of this run before it are safe in {out}" in line
    assert "run the same command again to resume" in line
    assert [str(d.date()) for d in pipeline.stored_days(out)] == ["2024-06-01"]
