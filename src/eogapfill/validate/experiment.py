"""The comparison experiment: hide a day's pixels, fill them with several methods, score."""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
import xarray as xr

from eogapfill.fill import METHODS, method_names
from eogapfill.healpix import (
    HealpixGrid,
    Region,
    check_nside,
    grid_of,
    region_cells,
    with_positions,
)
from eogapfill.validate.hide import cloud_pattern_from, hide_pixels
from eogapfill.validate.inputs import ArrayLike, map_of, mask_of
from eogapfill.validate.report import COLUMNS, score_fill
from eogapfill.validate.texture import large_scale_fit

__all__ = ["ValidationCase", "compare_methods", "default_methods", "validation_experiment"]


def _accepts(fn: Callable, name: str) -> bool:
    params = inspect.signature(fn).parameters
    return name in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


def default_methods(
    n_members: int = 4,
    seed: int = 0,
    *,
    include_foscat: bool = False,
    options: Mapping[str, Mapping[str, Any]] | None = None,
    regional: bool = False,
) -> dict[str, Callable[..., xr.Dataset]]:
    """The package's HEALPix fills present at run time, as ``name -> fill(sst, gaps)``.

    Every HEALPix method of the registry (:data:`eogapfill.fill.METHODS`), in its order,
    whose modules are installed: Laplace, the Laplace + noise control, Alm and optimal
    interpolation (with ``n_members`` conditional simulations), and any method registered
    since; the methods of the ``foscat`` extra only with ``include_foscat=True`` (slow).
    ``n_members`` and ``seed`` are passed to the stochastic fills that take them; ``options``
    gives any method its own options (``{"foscat": {"n_epochs": 8}}``), checked against the
    method's signature before anything runs. ``regional=True`` keeps only the methods that
    fill a regional (partial) map (the registry's ``regional`` flag).

    Raises
    ------
    ImportError
        With ``include_foscat=True`` when foscat or torch is not installed, saying what to
        install.
    ValueError
        For ``options`` of a method that is not among these, or that the method does not take.
    """
    options = dict(options or {})
    methods: dict[str, Callable[..., xr.Dataset]] = {}
    for name in method_names("healpix"):
        entry = METHODS[name]
        if entry.extra == "foscat" and not include_foscat:
            continue
        if regional and not entry.regional:
            continue  # needs the full sphere
        if entry.extra != "foscat" and not entry.available():
            continue  # the module is not installed: skip this fill
        fn = entry.load()  # an ImportError says what to install
        values = {"n_members": n_members, "seed": seed}
        kwargs = {k: v for k, v in values.items() if entry.stochastic and _accepts(fn, k)}
        kwargs.update(entry.check_options(options.pop(name, None)))
        methods[name] = _bind(fn, kwargs)
    if options:
        raise ValueError(
            f"options given for {sorted(options)}, which are not among the methods compared "
            f"({', '.join(methods)}); pass include_foscat=True for foscat"
            + ("; on a region only the regional methods run" if regional else "")
        )
    return methods


def _bind(fn: Callable[..., xr.Dataset], kwargs: dict) -> Callable[..., xr.Dataset]:
    def call(sst: xr.DataArray, gaps: xr.DataArray) -> xr.Dataset:
        return fn(sst, gaps, **kwargs)

    call.__name__ = getattr(fn, "__name__", "fill")
    return call


def compare_methods(
    ds_hpx: xr.Dataset,
    truth: ArrayLike,
    hidden_mask: ArrayLike,
    methods: Mapping[str, Callable[..., xr.Dataset]] | None = None,
    *,
    n_members: int = 4,
    seed: int = 0,
    protocol_of: Mapping[str, str] | None = None,
    progress: bool = True,
    include_truth: bool = False,
    include_foscat: bool = False,
    large_scale: ArrayLike | None = None,
    return_fills: bool = False,
) -> pd.DataFrame | tuple[pd.DataFrame, dict[str, xr.Dataset]]:
    """Fill a day with hidden pixels by several methods and score each on the hidden cells.

    Parameters
    ----------
    ds_hpx : xr.Dataset
        The day *with its pixels hidden* (first output of :func:`hide_pixels`): what the fills
        see. Each method is called as ``fill(ds_hpx.SST_L3S, ds_hpx.gap)``.
    truth : array or DataArray (npix,)
        The truth, finite on the hidden cells (the day's ``SST_L3S`` before hiding).
    hidden_mask : bool array or DataArray (npix,)
        The hidden cells (second output of :func:`hide_pixels`).
    methods : mapping name -> callable, optional
        Fills with the contract signature ``fill(sst, gaps) -> Dataset``; default
        :func:`default_methods` (``n_members``, ``seed``, ``include_foscat``); on a regional
        day only the methods that fill a region.
    protocol_of : mapping name -> protocol, optional
        The protocol of each method; by default the one the fill records in its result's
        ``attrs["protocol"]`` (foscat does), else ``"honest"`` (the package's other fills use
        the observed pixels only). See :func:`score_fill`.
    progress : bool
        Show a progress bar.
    include_truth : bool
        Add a ``"truth"`` row (the truth put in the hidden cells; protocol ``"oracle"``): it
        scores perfectly and shows the best value of each column.
    large_scale : array (npix,), optional
        Common large-scale map of the spectra; default: the ``l <= 15`` fit
        (:func:`large_scale_fit`) of the observed cells of ``ds_hpx``, the same for all rows
        (on a regional day: the quadratic fit in local coordinates, and the texture columns
        use the region's own neighbours and structure functions).
    return_fills : bool
        Also return the fills, so that they can be mapped or scored again without
        recomputing them.

    Returns
    -------
    table : pandas.DataFrame
        One row per method, columns :data:`COLUMNS` (see :func:`score_fill`).
    fills : dict name -> xr.Dataset
        Only with ``return_fills=True``: each method's result, in the order of the rows
        (the ``"truth"`` row has none).

    Examples
    --------
    >>> from eogapfill.healpix import healpix_dataset
    >>> truth = np.linspace(10.0, 20.0, 768)
    >>> sea = np.ones(768, bool)
    >>> day = healpix_dataset({"SST_L3S": truth, "sea": sea, "gap": ~sea}, 8)
    >>> hidden, mask = hide_pixels(day, np.arange(768) % 4 == 0)
    >>> def mean_fill(sst, gaps):
    ...     return xr.Dataset({"filled": sst.fillna(float(sst.mean()))})
    >>> table, fills = compare_methods(
    ...     hidden, truth, mask, {"mean": mean_fill}, progress=False, return_fills=True
    ... )
    >>> table.method.tolist(), list(fills)
    (['mean'], ['mean'])
    """
    from tqdm.auto import tqdm

    grid = grid_of(ds_hpx)
    t = map_of(truth, "truth", grid.npix)
    m = mask_of(hidden_mask, grid.npix, "hidden_mask")
    sst = with_positions(ds_hpx)  # where each observed value was measured (for the OI)
    gaps = ds_hpx["gap"]
    seen = np.isfinite(np.asarray(sst.values)) | ~np.asarray(gaps.values, dtype=bool)
    if (m & seen).any():
        raise ValueError(
            f"{int((m & seen).sum())} hidden cell(s) are still observed in ds_hpx: pass the "
            "dataset returned by hide_pixels (the fills must not see the truth)"
        )
    if methods is None:
        methods = default_methods(
            n_members, seed, include_foscat=include_foscat, regional=grid.is_partial
        )
    protocol_of = dict(protocol_of or {})
    unknown = set(protocol_of) - set(methods) - {"truth"}
    if unknown:
        raise ValueError(f"protocol_of names unknown method(s) {sorted(unknown)}")
    if not methods and not include_truth:
        raise ValueError(
            "no fill method to compare: pass methods={'name': fill_function} "
            "(none of the package's fills is importable)"
        )
    if large_scale is None:
        observed = np.isfinite(np.asarray(sst.values, dtype="float64")) & ~np.asarray(gaps.values)
        large = large_scale_fit(sst, observed, nside=grid)
    else:
        large = map_of(large_scale, "large_scale", grid.npix)

    rows = []
    if include_truth:
        perfect = np.where(m, t, np.asarray(sst.values, dtype="float64"))
        result = xr.Dataset({"filled": sst.copy(data=perfect)})
        rows.append(
            score_fill(
                result,
                t,
                m,
                nside=grid,
                large_scale=large,
                method="truth",
                protocol=protocol_of.get("truth", "oracle"),
            )
        )
    fills: dict[str, xr.Dataset] = {}
    for name, fill in tqdm(list(methods.items()), desc="fills", disable=not progress):
        start = time.perf_counter()
        try:
            result = fill(sst, gaps)
        except Exception as err:
            raise RuntimeError(f"fill {name!r} failed: {err}") from err
        seconds = time.perf_counter() - start
        fills[name] = result
        rows.append(
            score_fill(
                result,
                t,
                m,
                nside=grid,
                large_scale=large,
                method=name,
                protocol=protocol_of.get(name),
                seconds=seconds,
            )
        )
    table = pd.DataFrame(rows, columns=list(COLUMNS))
    return (table, fills) if return_fills else table


@dataclass(frozen=True)
class ValidationCase:
    """A day prepared for validation by :func:`validation_experiment`.

    Attributes
    ----------
    hidden : xr.Dataset
        The day with extra pixels hidden: give this to the fills.
    truth : xr.DataArray (cells,)
        The day's observed SST before hiding (degC, NaN under its own clouds and on land):
        finite on every hidden cell. An honest truth: real observations the fill never saw.
    hidden_mask : xr.DataArray (cells,) bool
        The hidden cells, where the scores are computed.
    truth_l4 : xr.DataArray (cells,) or None
        The day's L4 analysis, a full-field truth (finite on all sea cells) for texture or
        maps over all the gaps, e.g. ``gradient_histogram_distance(filled, truth_l4,
        hidden.gap, nside)``. It is an optimal-interpolation analysis, smoother than real SST
        and built from the same day's observations: it favours smooth fills, and statistics
        taken from it are the "oracle" protocol.
    large_scale : np.ndarray (npix,)
        ``l <= 15`` fit of the observed cells of ``hidden`` (on a region: the quadratic
        fit), the common map removed before spectra.
    nside : int
    grid : HealpixGrid, optional
        The grid of the maps (a regional one for a regional day); None: the full sphere.
    """

    hidden: xr.Dataset
    truth: xr.DataArray
    hidden_mask: xr.DataArray
    truth_l4: xr.DataArray | None
    large_scale: np.ndarray = field(repr=False)
    nside: int
    grid: HealpixGrid | None = field(default=None, repr=False)

    @property
    def _grid(self) -> int | HealpixGrid:
        return self.grid if self.grid is not None else self.nside

    def score(self, result: xr.Dataset, **kwargs: object) -> dict[str, object]:
        """:func:`score_fill` of a fill's result on this case."""
        return score_fill(
            result,
            self.truth,
            self.hidden_mask,
            nside=self._grid,
            large_scale=self.large_scale,
            **kwargs,
        )

    def compare(
        self, methods: Mapping[str, Callable[..., xr.Dataset]] | None = None, **kwargs: object
    ) -> pd.DataFrame | tuple[pd.DataFrame, dict[str, xr.Dataset]]:
        """:func:`compare_methods` on this case (``return_fills=True`` also gives the fills)."""
        return compare_methods(
            self.hidden,
            self.truth,
            self.hidden_mask,
            methods,
            large_scale=self.large_scale,
            **kwargs,
        )


def _on_healpix(day: xr.Dataset, nside: int, regrid_kw: Mapping[str, object]) -> xr.Dataset:
    if "cell_ids" in day.coords:
        grid = grid_of(day)
        if grid.nside != nside:
            raise ValueError(
                f"a day is already on nside {grid.nside}, not {nside}: regrid it again"
            )
        region = regrid_kw.get("region")
        if region is None:
            return day
        ids = region_cells(nside, region)
        at = grid.position(ids)
        if (at < 0).any():
            raise ValueError(
                f"the HEALPix day lacks {int((at < 0).sum())} of the region's {ids.size} cells: "
                "regrid the lat/lon day on the region"
            )
        if at.size == grid.npix:
            return day
        return day.isel(cells=at).assign_attrs(healpix_partial=1)
    from eogapfill.regrid import to_healpix

    return to_healpix(day, nside, **regrid_kw)


def validation_experiment(
    day: xr.Dataset,
    other_day: xr.Dataset,
    nside: int,
    *,
    lon_shift: float | Literal["random"] = 0.0,
    fraction: float | None = None,
    seed: int | None = 0,
    regrid_kw: Mapping[str, object] | None = None,
    region: Region | Mapping[str, object] | None = None,
) -> ValidationCase:
    """Hide a day's pixels under another day's clouds, ready to fill and score.

    Parameters
    ----------
    day, other_day : xr.Dataset
        Prepared lat/lon days (:func:`eogapfill.preprocess.prepare_day`), regridded here with
        :func:`eogapfill.regrid.to_healpix` (``regrid_kw`` passed on), or days already on
        HEALPix at this ``nside``.
    nside : int
        HEALPix nside of the experiment.
    lon_shift, fraction, seed
        Passed to :func:`hide_pixels`.
    region : tuple or mapping, optional
        Validate on a region only: a box ``(lon0, lon1, lat0, lat1)`` in degrees or
        ``{"cells": ids, "level": level}`` (see :func:`eogapfill.regrid.to_healpix`). Lat/lon
        days are regridded on it; HEALPix days keep only its cells. The other day's clouds
        are taken on the same cells and ``lon_shift`` moves them within the region.

    Returns
    -------
    ValidationCase
        ``case.compare()`` fills with the package's methods and returns the score table;
        ``case.score(result, method=...)`` scores one fill.
    """
    check_nside(nside)
    regrid_kw = dict(regrid_kw or {})
    if region is not None:
        if regrid_kw.get("region") is not None:
            raise ValueError("give the region once: region= or regrid_kw['region'], not both")
        regrid_kw["region"] = region
    ds = _on_healpix(day, nside, regrid_kw)
    other = _on_healpix(other_day, nside, regrid_kw)
    hidden, mask = hide_pixels(
        ds, cloud_pattern_from(other), seed=seed, fraction=fraction, lon_shift=lon_shift
    )
    truth = (
        ds["SST_L3S"]
        .rename("truth")
        .assign_attrs(long_name="observed SST before hiding (truth on the hidden cells)")
    )
    observed = np.isfinite(np.asarray(hidden["SST_L3S"].values)) & ~np.asarray(hidden["gap"].values)
    grid = grid_of(ds)
    large = large_scale_fit(hidden["SST_L3S"], observed, nside=grid)
    return ValidationCase(
        hidden=hidden,
        truth=truth,
        hidden_mask=mask,
        truth_l4=ds["SST_L4"] if "SST_L4" in ds else None,
        large_scale=large,
        nside=nside,
        grid=grid if grid.is_partial else None,
    )
