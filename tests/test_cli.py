"""The ``eogapfill`` command and the demo."""

from __future__ import annotations

import subprocess
import sys
import typing
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from eogapfill import cli, data, pipeline, sample
from eogapfill.data import open_l3s, open_l4
from eogapfill.fill import METHODS, method_names

DAYS = ["2024-06-01", "2024-06-02"]
QUICK = ["--nside", "16", "--resolution", "1.0"]  # small grids for the tests


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "eogapfill", *args], capture_output=True, text=True, timeout=300
    )


def _one_line_error(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


# --------------------------------------------------------------------------------------------
# help and argument errors
# --------------------------------------------------------------------------------------------
def test_help_lists_the_commands_with_examples() -> None:
    proc = _run("--help")
    assert proc.returncode == 0, proc.stderr
    for word in ("fill", "sample", "validate", "demo", "examples:", "offline"):
        assert word in proc.stdout


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        pytest.param(
            "fill",
            [
                "--start",
                "--end",
                "--method",
                "--nside",
                "--workers",
                "eogapfill fill --start 2024-06-01",
                "resume",
                "--wait",
                "One run at a time",
                "--scheduler-timeout",
                "--region LON0 LON1 LAT0 LAT1",
                "--window K",
                "2K+1 days",
                "spacetime_oi",
            ],
            id="fill",
        ),
        pytest.param("sample", ["--out", "--days", "--resolution", "l3s.zarr"], id="sample"),
        pytest.param("validate", ["--date", "--methods", "--clouds-from", "hidden"], id="validate"),
        pytest.param("demo", ["--out", "eogapfill demo --out"], id="demo"),
    ],
)
def test_each_command_has_help_with_an_example(command, expected, capsys) -> None:
    assert cli.main([command, "--help"]) == 0
    text = capsys.readouterr().out
    for word in expected:
        assert word in text, word


def test_console_script_is_installed() -> None:
    script = Path(sys.executable).parent / "eogapfill"
    if not script.exists():
        pytest.skip("the package is not installed with its console script here")
    proc = subprocess.run([str(script), "--version"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stdout.startswith("eogapfill ")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(
            ["fill", "--start", "2024-06-41", "--end", "2024-06-02", "--out", "x"],
            "not a date",
            id="bad-date",
        ),
        pytest.param(
            ["fill", "--start", "2024-06-03", "--end", "2024-06-01", "--out", "x"],
            "is before --start",
            id="end-before-start",
        ),
        pytest.param(
            [
                "fill",
                "--start",
                "2024-06-01",
                "--end",
                "2024-06-01",
                "--out",
                "x",
                "--nside",
                "100",
            ],
            "power of two",
            id="nside-not-power-of-two",
        ),
        pytest.param(
            [
                "fill",
                "--start",
                "2024-06-01",
                "--end",
                "2024-06-01",
                "--out",
                "x",
                "--method",
                "kriging",
            ],
            "invalid choice: 'kriging'",
            id="unknown-method",
        ),
        pytest.param(
            ["fill", "--start", "2024-06-01", "--end", "2024-06-01"], "--out", id="missing-out"
        ),
        pytest.param(
            [
                "fill",
                "--start",
                "2024-06-01",
                "--end",
                "2024-06-01",
                "--out",
                "x",
                "--option",
                "lmax",
            ],
            "KEY=VALUE",
            id="bad-option",
        ),
        pytest.param(
            [
                "fill",
                "--start",
                "2024-06-01",
                "--end",
                "2024-06-01",
                "--out",
                "x",
                "--workers",
                "0",
            ],
            "at least 1",
            id="no-workers",
        ),
        pytest.param(
            ["sample", "--out", "x", "--resolution", "0.3"],
            "sample exists at",
            id="resolution-not-in-sample",
        ),
        pytest.param(
            ["validate", "--methods", "laplace,magic"],
            "unknown method 'magic'",
            id="unknown-validate-method",
        ),
        pytest.param(["sail"], "invalid choice: 'sail'", id="unknown-command"),
    ],
)
def test_bad_arguments_give_one_line_and_status_2(args, message, capsys) -> None:
    assert cli.main(args) == 2
    captured = capsys.readouterr()
    line = _one_line_error(captured.err)
    assert message in line and line.startswith("eogapfill")
    assert captured.out == ""


def test_bad_arguments_exit_2_through_python_m() -> None:
    proc = _run(
        "fill", "--start", "2024-06-01", "--end", "2024-06-01", "--nside", "12", "--out", "x.zarr"
    )
    assert proc.returncode == 2
    assert "use 8 or 16 instead" in _one_line_error(proc.stderr)


def test_a_failure_while_running_gives_one_line_and_status_1(tmp_path, sample_dir) -> None:
    proc = _run(
        "fill",
        "--start",
        "2030-01-01",
        "--end",
        "2030-01-02",
        *QUICK,
        "--out",
        str(tmp_path / "x.zarr"),
    )
    assert proc.returncode == 1
    line = _one_line_error(proc.stderr)
    assert "no data" in line and "2030-01-01" in line
    assert not (tmp_path / "x.zarr").exists()


def _choices(command: str, option: str) -> tuple:
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if a.dest == "command").choices[command]
    return tuple(next(a for a in sub._actions if option in a.option_strings).choices)


def test_choices_come_from_the_package(monkeypatch, capsys) -> None:
    assert _choices("fill", "--method") == method_names("healpix") + method_names("healpix-stack")
    for command in ("fill", "validate"):
        assert _choices(command, "--source") == typing.get_args(data.Source)
    defaults = cli.build_parser().parse_args(["validate"])
    assert defaults.date.isoformat() == sample.SAMPLE_START
    assert cli.main(["sample", "--out", "x", "--resolution", "0.3"]) == 2
    assert ", ".join(map(str, sample.RESOLUTIONS)) in capsys.readouterr().err
    # a method registered before the parser is built is offered
    monkeypatch.setitem(METHODS, "laplace2", METHODS["laplace"])
    assert "laplace2" in _choices("fill", "--method")


# --------------------------------------------------------------------------------------------
# commands end to end
# --------------------------------------------------------------------------------------------
def test_sample_writes_stores_that_open_l3s_reads(tmp_path, capsys) -> None:
    out = tmp_path / "sample"
    assert (
        cli.main(
            [
                "sample",
                "--out",
                str(out),
                "--start",
                "2024-07-01",
                "--days",
                "2",
                "--resolution",
                "1.0",
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    l3s = open_l3s("2024-07-02", url=out / "l3s.zarr")
    l4 = open_l4(url=out / "l4_time.zarr")
    assert str(out / "l3s.zarr") in printed
    assert l3s.sizes["time"] == 1 and l4.sizes["time"] == 2
    assert (out / "l4_geo.zarr" / ".zmetadata").exists()
    assert cli.main(["sample", "--out", str(out), "--days", "1", "--resolution", "1.0"]) == 1
    assert "overwrite" in _one_line_error(capsys.readouterr().err)


def test_fill_end_to_end_then_resume(tmp_path, capsys, sample_dir) -> None:
    out = tmp_path / "filled.zarr"
    args = [
        "fill",
        "--start",
        DAYS[0],
        "--end",
        DAYS[1],
        "--method",
        "laplace",
        *QUICK,
        "--out",
        str(out),
        "--workers",
        "2",
        "--quiet",
    ]
    assert cli.main(args) == 0
    assert capsys.readouterr().out.startswith("2 day(s) written")
    ds = pipeline.open_output(out)
    assert [str(t)[:10] for t in ds["time"].values] == DAYS
    filled, sea = ds["SST_filled"].values, ds["sea"].values
    assert np.isfinite(filled[sea]).all() and ds.dggs.grid_info.level == 4

    assert cli.main(args) == 0
    assert capsys.readouterr().out.startswith("0 day(s) written")


def test_validate_writes_a_score_table(tmp_path, capsys, sample_dir) -> None:
    table = tmp_path / "scores.csv"
    assert (
        cli.main(
            ["validate", "--date", DAYS[0], *QUICK, "--methods", "laplace,alm", "--out", str(table)]
        )
        == 0
    )
    printed = capsys.readouterr().out
    scores = pd.read_csv(table)
    assert list(scores["method"]) == ["laplace", "alm"]
    assert (scores["protocol"] == "honest").all()
    assert (scores["rmse"] > 0).all() and (scores["n_hidden"] > 0).all()
    assert "laplace" in printed and table.with_suffix(".md").read_text().count("| alm |") == 1


# --------------------------------------------------------------------------------------------
# the demo
# --------------------------------------------------------------------------------------------
def test_demo_writes_figures_and_a_validation_table(tmp_path, capsys, sample_dir) -> None:
    from eogapfill.demo import run_demo

    written = run_demo(tmp_path, nside=16, resolution=1.0, methods=("laplace", "alm"))
    names = {p.name for p in written.values()}
    assert {
        "sample_day.png",
        "healpix_observed.png",
        "fill_laplace.png",
        "fill_alm.png",
        "validation.csv",
        "validation.md",
    } <= names
    for path in written.values():
        assert path.stat().st_size > 500, path
    scores = pd.read_csv(tmp_path / "validation.csv")
    assert list(scores["method"]) == ["laplace", "alm"]
    assert (scores["protocol"] == "honest").all()
    assert str(tmp_path.resolve()) in capsys.readouterr().out


def test_demo_skips_missing_modules_with_a_note(tmp_path, capsys, monkeypatch, sample_dir):
    from eogapfill.demo import run_demo

    monkeypatch.setitem(sys.modules, "eogapfill.validate", None)
    monkeypatch.setitem(sys.modules, "eogapfill.fill.oi", None)
    monkeypatch.setitem(sys.modules, "eogapfill.plot", None)
    written = run_demo(tmp_path, nside=16, resolution=1.0, methods=("laplace", "oi"))
    printed = capsys.readouterr().out
    assert "note: oi fill skipped" in printed
    assert "note: the validation table skipped" in printed
    assert "note: the figures skipped" in printed
    assert "laplace" in printed and written == {}
    assert not (tmp_path / "validation.csv").exists()


def test_the_demo_command_checks_its_arguments(capsys) -> None:
    assert cli.main(["demo", "--nside", "12"]) == 2
    assert "use 8 or 16 instead" in _one_line_error(capsys.readouterr().err)


def test_the_demo_runs_the_registry_methods_without_extra_or_control() -> None:
    from eogapfill.demo import demo_methods

    assert demo_methods() == tuple(
        m for m in method_names("healpix") if METHODS[m].extra is None and not METHODS[m].control
    )
    assert demo_methods() == ("laplace", "alm", "oi")  # the figures of the demo


def test_cli_is_the_only_entry_point() -> None:
    """The demo does not import the command line (no import cycle cli <-> demo)."""
    import ast
    import inspect

    from eogapfill import demo

    tree = ast.parse(inspect.getsource(demo))
    imported = {
        f"{n.module}.{a.name}"
        for n in ast.walk(tree)
        if isinstance(n, ast.ImportFrom)
        for a in n.names
    }
    imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert not {"eogapfill.cli", "eogapfill.cli.main"} & imported
    assert not [name for name in imported if name.startswith("eogapfill.cli.")]
