"""The whole story on the embedded sample day, from the raw products to a score table.

Run it with ``eogapfill demo --out outputs`` (or ``python -m eogapfill demo --out outputs``).
It takes about a minute on two cores once the sample is cached (the first call generates
the 0.25 degree sample, about half a minute more), and writes under ``--out``:

=========================  ===============================================================
``sample_day.png``         the L3S observations (white = clouds) and the L4 analysis
``healpix_observed.png``   the observations regridded to HEALPix (grey = land and clouds)
``fill_<method>.png``      the day filled by each method (:func:`demo_methods`)
``validation.csv``/``.md`` scores on observed pixels hidden under the next day's clouds
=========================  ===============================================================

The validation follows the "honest" protocol: the fills never see the pixels they are
scored on, and the truth is observed SST, not the L4 analysis. A step whose module is not
installed is skipped with a printed note.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["demo_methods", "run_demo"]


def demo_methods() -> tuple[str, ...]:
    """The fills the demo runs: the registry's HEALPix methods that need no optional extra
    (foscat is slow) and are not a control (noise), in registry order.

    >>> demo_methods()
    ('laplace', 'alm', 'oi')
    """
    from eogapfill.fill import METHODS, method_names

    return tuple(
        name
        for name in method_names("healpix")
        if METHODS[name].extra is None and not METHODS[name].control
    )


def _note(message: str) -> None:
    print(f"  note: {message}")


def _optional(module: str, what: str) -> ModuleType | None:
    """Import ``module``, or print that the step ``what`` is skipped when it is not installed."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as err:
        if err.name is not None and module.startswith(err.name):
            _note(f"{what} skipped: {module} is not available in this installation")
            return None
        raise


def _save(fig: Any, path: Path) -> Path:
    fig.savefig(path, dpi=110, bbox_inches="tight")
    return path


def run_demo(
    out: str | Path = "outputs",
    *,
    nside: int = 64,
    resolution: float = 0.25,
    methods: Sequence[str] | None = None,
) -> dict[str, Path]:
    """Open, prepare, draw, regrid, fill and validate the sample day; save what it shows.

    Parameters
    ----------
    out
        Folder for the figures and tables (created).
    nside
        HEALPix resolution of the fills (64: 49 152 cells of about 100 km).
    resolution
        Grid spacing of the sample, degrees (0.25 default; 1.0 for a very quick run).
    methods
        Fill methods to run, among the registry's HEALPix methods
        (:data:`eogapfill.fill.METHODS`); default: :func:`demo_methods`.

    Returns
    -------
    dict
        Name -> path of every file written.

    Examples
    --------
    >>> paths = run_demo("outputs", nside=16, resolution=1.0)  # doctest: +SKIP
    """
    from eogapfill.data import open_l3s, open_l4
    from eogapfill.fill import method_info
    from eogapfill.healpix import HealpixGrid, check_nside
    from eogapfill.preprocess import prepare_day
    from eogapfill.regrid import to_healpix
    from eogapfill.sample import SAMPLE_START

    check_nside(nside)
    methods = demo_methods() if methods is None else tuple(methods)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    started = time.perf_counter()
    date = SAMPLE_START
    clouds_from = str((pd.Timestamp(date) + pd.Timedelta(days=1)).date())

    print(
        f"1. Open the sample day {date} (L3S observations and L4 analysis, {resolution} deg grid)"
    )
    l3s = open_l3s(date, resolution=resolution).load()
    l4 = open_l4(date, resolution=resolution).load()
    plot = _optional("eogapfill.plot", "the figures")
    if plot is not None:
        written["sample_day"] = _save(plot.plot_sample_day(l3s, l4), out / "sample_day.png")

    print("2. Prepare it: kelvin to degC, best-quality observations only, open-sea mask")
    day = prepare_day(l3s, l4).load()
    sea = day["sea"].values
    cloud = sea & np.isnan(day["SST_L3S"].values)
    print(f"   {cloud.sum() / sea.sum():.0%} of the open-sea grid points have no observation")

    grid = HealpixGrid(nside)
    print(
        f"3. Regrid to HEALPix nside {nside} ({grid.npix} cells of about "
        f"{grid.resolution_km:.0f} km)"
    )
    hp_day = to_healpix(day, nside)
    n_gap, n_sea = int(hp_day["gap"].sum()), int(hp_day["sea"].sum())
    print(f"   {n_gap} of {n_sea} sea cells are gaps to fill")
    sst_range = np.nanpercentile(hp_day["SST_L4"].values, [1, 99])
    vmin, vmax = (float(v) for v in sst_range)
    if plot is not None:
        fig = plot.plot_healpix(
            hp_day["SST_L3S"], title=f"Observed SST, nside {nside}", vmin=vmin, vmax=vmax
        )
        written["healpix_observed"] = _save(fig, out / "healpix_observed.png")

    print(
        "4. Fill the gaps (the L4 analysis is smoother than the ocean: a difference to it is "
        "not a score, see step 5)"
    )
    fills: dict[str, Callable[..., Any]] = {}
    for name in methods:
        entry = method_info(name)
        if missing := entry.missing():
            _note(
                f"{name} fill skipped: {', '.join(missing)} is not available in this installation"
            )
            continue
        fills[name] = entry.load()
    for name, fill in fills.items():
        tick = time.perf_counter()
        result = fill(hp_day)
        seconds = time.perf_counter() - tick
        gap = hp_day["gap"].values
        change = result["filled"].values[gap] - hp_day["SST_L4"].values[gap]
        print(
            f"   {name:8s} {seconds:5.1f} s; in the gaps, filled minus the L4 analysis: mean "
            f"{np.nanmean(change):+.2f} degC, rms {np.sqrt(np.nanmean(change**2)):.2f} degC"
        )
        if plot is not None:
            fig = plot.plot_healpix(
                result["filled"], title=f"{name} fill, nside {nside}", vmin=vmin, vmax=vmax
            )
            written[f"fill_{name}"] = _save(fig, out / f"fill_{name}.png")

    validate = _optional("eogapfill.validate", "the validation table")
    if validate is not None and fills:
        print(
            f"5. Validate: hide observed pixels under the clouds of {clouds_from}, fill, "
            "score on them (protocol 'honest')"
        )
        l3s_b = open_l3s(clouds_from, resolution=resolution)
        l4_b = open_l4(clouds_from, resolution=resolution)
        other = prepare_day(l3s_b, l4_b).load()
        case = validate.validation_experiment(hp_day, to_healpix(other, nside), nside)
        table = case.compare({name: fills[name] for name in fills}, progress=False)
        table.to_csv(out / "validation.csv", index=False)
        header = (
            f"Sample day {date}, nside {nside}: scores on {int(case.hidden_mask.sum())} "
            f"observed cells hidden under the clouds of {clouds_from} (degC; protocol "
            "'honest'). The truth is observed SST the fills never saw.\n\n"
        )
        (out / "validation.md").write_text(header + validate.markdown_table(table))
        written["validation_csv"] = out / "validation.csv"
        written["validation_md"] = out / "validation.md"
        shown = [
            c
            for c in ("method", "protocol", "n_hidden", "rmse", "bias", "mu", "seconds")
            if c in table.columns
        ]
        print(table[shown].to_string(index=False, float_format=lambda x: f"{x:.3f}"))

    print(f"Done in {time.perf_counter() - started:.0f} s. Written in {out.resolve()}:")
    for path in written.values():
        print(f"  {path.name}")
    return written


def __getattr__(name: str) -> Any:
    if name == "markdown_table":  # it lives with the reports (eogapfill.validate); older imports
        from eogapfill.validate import markdown_table

        return markdown_table
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
