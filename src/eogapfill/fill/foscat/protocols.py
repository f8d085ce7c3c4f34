"""The protocols of the scattering-transform fill: starts, reference maps, masks, texture pairs.

Where the reference statistics come from decides what a score of the fill means
(:data:`PROTOCOL_NOTES`). This module builds the members' starts (:func:`member_starts`), checks
a reference map (:func:`reference_map`, :func:`check_units`), the masks of the statistics
(:func:`base_masks`, :func:`check_masked`) and the neighbour pairs of the texture term
(:func:`gap_pairs`).
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from eogapfill.fill.common import FillInputs
from eogapfill.fill.masks import local_masks
from eogapfill.healpix import HealpixGrid, grid_of

__all__ = [
    "PROTOCOL_NOTES",
    "REGION_MASK_FRACTION",
    "base_masks",
    "check_masked",
    "check_units",
    "continued",
    "gap_pairs",
    "member_starts",
    "neighbour_residual_std",
    "reference_map",
]

PROTOCOL_NOTES = {
    "honest": "reference statistics from the observed sea cells only; no value from the gaps",
    "previous-day": "reference statistics from another map on the same grid "
    "(another day's analysis or a climatology)",
    "oracle": "reference statistics from the same day's L4 analysis, the map a fill is "
    "scored against: scores are optimistic (the original tutorial's protocol)",
}


def continued(da: xr.DataArray, holes: np.ndarray) -> np.ndarray:
    """``da`` with its ``holes`` (land, ice: bool (npix,)) replaced by a smooth Laplace
    continuation: a finite full-sphere map, float64 (npix,)."""
    from eogapfill.fill.laplace import fill_laplace

    if holes.any():
        full = fill_laplace(da, da.copy(data=holes))["filled"].values
    else:
        full = da.values
    return np.asarray(full, dtype="float64")


def member_starts(
    inputs: FillInputs,
    sea: np.ndarray,
    start: str,
    n_members: int,
    seed: int,
    progress: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Full-sphere starts: the ``start`` fill in the gaps, a Laplace continuation on land.

    Returns ``(starts, smooth)``: ``starts`` (n_starts, npix) holds one map shared by every
    member, or one per member for ``start="oi"`` (the Gaussian conditional simulations of
    :func:`eogapfill.fill.oi.fill_oi`); ``smooth`` (npix,) is the smooth fill (the OI mean for
    ``"oi"``), the map of the honest reference statistics.

    Land always gets the Laplace continuation of the filled sea (bounded by the coastal
    values): the harmonic fit extrapolated over the continents reaches absurd values (above
    150 degC on the sample at nside 32), which the wavelets would carry into the coastal sea.
    """
    from eogapfill.fill.laplace import fill_laplace

    sst = inputs.sst
    land = ~sea
    if start == "laplace":
        smooth = continued(fill_laplace(sst, inputs.gaps_da)["filled"], land)
        starts = smooth[None, :]
    elif start == "alm":
        from eogapfill.fill.alm import fill_alm

        smooth = continued(fill_alm(sst, inputs.gaps_da, lmax=15)["filled"], land)
        starts = smooth[None, :]
    elif start == "oi":
        from eogapfill.fill.oi import fill_oi

        oi = fill_oi(sst, inputs.gaps_da, n_members=n_members, seed=seed, progress=progress)
        smooth = continued(oi["filled"], land)
        starts = np.stack(
            [continued(oi["filled"].copy(data=m), land) for m in oi["members"].values]
        )
    else:
        raise ValueError(f"start must be 'laplace', 'alm' or 'oi', got {start!r}")
    if not np.all(np.isfinite(starts)):
        raise RuntimeError(f"the {start} start left {int((~np.isfinite(starts)).sum())} cells NaN")
    return starts, smooth


def gap_pairs(
    values: np.ndarray, gaps: np.ndarray, nside: int | HealpixGrid
) -> tuple[np.ndarray, float]:
    """Neighbour pairs that hold a gap cell, and the clear-sky target of their texture.

    Parameters
    ----------
    values : array (npix,)
        The map, degC; finite on the observed cells, NaN elsewhere.
    gaps : bool array (npix,)
        The cells to fill.
    nside : int or HealpixGrid
        HEALPix resolution (NESTED ordering), or the grid of a region (``values`` on its
        cells; neighbours outside the region are left out).

    Returns
    -------
    pairs : int array (2, n_pairs)
        Ordered pairs ``(gap cell, neighbour)`` whose neighbour is a gap or an observed cell.
    target : float
        Mean squared difference of the ordered pairs of observed neighbours (degC**2).

    Examples
    --------
    >>> values = np.arange(48.0); gaps = np.zeros(48, bool); gaps[0] = True; values[0] = np.nan
    >>> pairs, target = gap_pairs(values, gaps, nside=2)
    >>> bool(np.all(pairs[0] == 0)), pairs.shape[1] == 8, target > 0
    (True, True, True)
    """
    from eogapfill.healpix import neighbours

    nb = nside.neighbours() if isinstance(nside, HealpixGrid) else neighbours(nside)
    observed = np.isfinite(values) & ~gaps
    cell = np.repeat(np.arange(nb.shape[0]), nb.shape[1])
    other = nb.reshape(-1)
    keep = other >= 0
    cell, other = cell[keep], other[keep]
    clear = observed[cell] & observed[other]
    if not clear.any():
        raise ValueError("texture_weight needs two neighbouring observed cells; set it to 0")
    target = float(np.mean((values[cell[clear]] - values[other[clear]]) ** 2))
    if not target > 0:
        raise ValueError(
            "the observed cells are all equal to their neighbours: "
            "texture_weight has no target; set it to 0"
        )
    held = gaps[cell] & (gaps[other] | observed[other])
    return np.stack([cell[held], other[held]]), target


def neighbour_residual_std(inputs: FillInputs) -> float:
    """The white-noise level of the start, degC (0 when it cannot be estimated).

    The same statistic as the noise control: :func:`eogapfill.fill.noise.observed_neighbour_std`.
    """
    from eogapfill.fill.noise import observed_neighbour_std

    try:
        return observed_neighbour_std(inputs.sst, inputs.gaps_da)
    except ValueError:  # fewer than 2 observed cells with an observed neighbour
        return 0.0


def reference_map(
    ref: xr.DataArray | xr.Dataset, nside: int | HealpixGrid, what: str
) -> tuple[xr.DataArray, np.ndarray]:
    """Check a reference map's grid (the map's nside, or the map's grid: the same region's
    cells) and return it with its finite mask."""
    grid = nside if isinstance(nside, HealpixGrid) else None
    nside = grid.nside if grid is not None else int(nside)
    if isinstance(ref, xr.Dataset):
        if "SST_L4" not in ref:
            raise ValueError(
                f"the {what} dataset has no 'SST_L4' variable (it has {list(ref.data_vars)}); "
                "pass the reference map as a DataArray"
            )
        ref = ref["SST_L4"]
    if not isinstance(ref, xr.DataArray):
        raise TypeError(
            f"the {what} must be a HEALPix DataArray or Dataset, got {type(ref).__name__}"
        )
    try:
        ref_grid = grid_of(ref)
    except ValueError as err:
        raise ValueError(
            f"the {what} is not on a HEALPix grid ({err}); regrid it with "
            f"eogapfill.regrid.to_healpix(day, nside={nside})"
        ) from err
    if ref_grid.nside != nside or (grid is not None and ref_grid != grid) or ref.dims != ("cells",):
        raise ValueError(
            f"the {what} is on another grid (nside {ref_grid.nside}, dims {ref.dims}) than the map "
            f"(nside {nside}, dims ('cells',)); regrid it to nside {nside}"
        )
    values = np.asarray(ref.values, dtype="float64")
    finite = np.isfinite(values)
    if not finite.any():
        raise ValueError(f"the {what} has no finite value")
    return ref, finite


def check_units(ref_values: np.ndarray, inputs: FillInputs, what: str) -> None:
    obs = inputs.values[inputs.observed]
    both = np.isfinite(ref_values) & inputs.observed
    if both.any() and abs(np.nanmean(ref_values[both]) - np.mean(inputs.values[both])) > 50:
        raise ValueError(
            f"the {what} and the map differ by more than 50 on average (means "
            f"{np.nanmean(ref_values[both]):.1f} and {np.mean(obs):.1f}): a kelvin/degC mix-up? "
            "convert both to degC"
        )


#: On a region, a named local mask is kept when its weight over the region's cells is at least
#: this fraction of the heaviest mask's: a window that barely reaches the region would measure
#: its statistics on a few edge cells.
REGION_MASK_FRACTION = 0.1


def base_masks(
    masks: str | np.ndarray, nside: int, cell_ids: np.ndarray | None = None
) -> tuple[np.ndarray, str]:
    """The masks of the statistics, ``(n_masks, npix)`` weights >= 0, and their name.

    ``cell_ids`` (npix,) restricts them to a region's cells (``npix = cell_ids.size``): the
    local windows that reach the region (:data:`REGION_MASK_FRACTION`), ``"global"`` one
    mask over the region, an array must already be on the region's cells.
    """
    npix = 12 * nside**2 if cell_ids is None else int(np.size(cell_ids))
    if isinstance(masks, str):
        if masks in ("local12", "local48"):
            windows = local_masks(nside, n_regions=12 if masks == "local12" else 48, cells=cell_ids)
            if cell_ids is None:
                return windows, masks
            weight = windows.sum(axis=1)
            keep = weight >= REGION_MASK_FRACTION * weight.max()
            return windows[keep], f"{masks} ({int(keep.sum())} reaching the region)"
        if masks == "global":
            return np.ones((1, npix)), masks
        raise ValueError(f"masks must be 'local12', 'local48', 'global' or an array, got {masks!r}")
    arr = np.asarray(masks, dtype="float64")
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[1] != npix:
        raise ValueError(f"masks array must have shape (n_masks, {npix}), got {arr.shape}")
    if not np.all(np.isfinite(arr)) or arr.min() < 0 or not np.all(arr.sum(axis=1) > 0):
        raise ValueError("masks must be finite weights >= 0, each mask with some weight")
    return arr, f"custom ({arr.shape[0]} masks)"


def check_masked(masks: np.ndarray, what: str) -> None:
    empty = np.flatnonzero(masks.sum(axis=1) <= 0)
    if empty.size:
        raise ValueError(
            f"local mask(s) {empty.tolist()} count no {what} cell: use masks='global' "
            "or a larger area"
        )
