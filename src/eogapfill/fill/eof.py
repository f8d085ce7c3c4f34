"""DINEOF: the gaps of a series of maps filled from its own empirical orthogonal functions.

The algorithm of Beckers and Rixen (2003, J. Atmos. Oceanic Technol. 20, 1839-1856) with the
cross-validated choice of the number of modes of Alvera-Azcarate et al. (2005, Ocean
Modelling 9, 325-346):

1. the days x cells matrix of the observations; each cell's temporal mean (of its observed
   days) is removed, and the missing entries (gaps) are set to 0, the mean of the anomalies;
2. a random ``cv_fraction`` of the observed entries is set aside as missing too;
3. for ``k = 1, 2, ...`` modes: the ``k``-mode truncated SVD of the matrix replaces the
   missing entries, again and again, until they change by less than ``tol`` (relative); the
   set-aside entries then score the ``k``-mode reconstruction (``cv_rmse``). Each ``k`` starts
   from the converged ``k - 1``;
4. the fewest modes whose error is within one standard error of the smallest one win (a
   curve flat beyond the field's rank otherwise picks its noise); the set-aside entries are put back as observations
   and the ``k``-mode iteration runs to convergence once more.

One departure from the papers: each cell's temporal mean is re-estimated from the completed
matrix at every step (the expectation-maximisation form of a PCA with missing data). The mean
of a cell's observed days is biased when its cloudy days are the warm or the cold ones; kept
fixed, that bias is constant in time and costs one extra mode (measured on a 1-, 2- and
3-mode series with a moving cloud band: the cross-validation chose 2, 3 and 4 modes).

The observed entries are never changed in the output. A cell observed on no day of the series
has no temporal mean: DINEOF cannot reconstruct it; each day's map is then completed there by
the Laplace fill (:func:`eogapfill.fill.laplace.fill_laplace`) of that day's reconstruction.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from eogapfill.fill.common import (
    FillInputs,
    NothingToFillError,
    check_count,
    check_seed,
    checked_options,
    finish_fill,
)
from eogapfill.stack import check_stack

__all__ = ["dineof", "fill_eof"]

#: At least this many set-aside entries score each number of modes.
MIN_CV_ENTRIES = 30


def _truncate(matrix: np.ndarray, k: int) -> np.ndarray:
    """The ``k``-mode truncated SVD of ``matrix`` (shape ``(m, n)``), as its projection on the
    ``k`` leading singular vectors of the shorter side, found from the small Gram matrix
    (``m x m`` or ``n x n``): ten times faster than a full SVD of a wide matrix, equal to
    it within rounding (1e-12 relative on 10 x 196 608)."""
    if matrix.shape[0] <= matrix.shape[1]:
        _, vectors = np.linalg.eigh(matrix @ matrix.T)
        lead = vectors[:, ::-1][:, :k]
        return lead @ (lead.T @ matrix)
    _, vectors = np.linalg.eigh(matrix.T @ matrix)
    lead = vectors[:, ::-1][:, :k]
    return (matrix @ lead) @ lead.T


def _iterate(
    matrix: np.ndarray, missing: np.ndarray, k: int, tol: float, max_iter: int
) -> tuple[int, float]:
    """Replace the ``missing`` entries of ``matrix`` (in place) by its ``k``-mode SVD until
    they change by less than ``tol`` (RMS change over RMS value). The SVD is of the matrix
    minus its column (temporal) means, re-estimated at each step from the completed matrix.
    Returns the iterations made and the last relative change."""
    change = np.inf
    for it in range(1, max_iter + 1):
        centre = matrix.mean(axis=0)
        recon = centre + _truncate(matrix - centre, k)
        new = recon[missing]
        old = matrix[missing]
        size = np.sqrt(np.mean(new**2)) if new.size else 0.0
        change = float(np.sqrt(np.mean((new - old) ** 2)) / size) if size > 0 else 0.0
        matrix[missing] = new
        if change < tol:
            return it, change
    return max_iter, change


def _fewest_modes(errors: list[np.ndarray]) -> int:
    """Index of the fewest modes whose set-aside errors are not worse than the best's by more
    than one standard error of the paired difference of squared errors (the one-standard-error
    rule: beyond the field's rank the errors differ by noise only)."""
    squares = [e**2 for e in errors]
    best = int(np.argmin([q.mean() for q in squares]))
    for k in range(best + 1):
        diff = squares[k] - squares[best]
        if diff.mean() <= diff.std(ddof=1) / np.sqrt(diff.size):
            return k
    return best


def dineof(
    values: np.ndarray,
    missing: np.ndarray,
    *,
    max_modes: int | None = None,
    cv_fraction: float = 0.02,
    tol: float = 1e-4,
    max_iter: int = 300,
    seed: int = 0,
) -> tuple[np.ndarray, dict[str, object]]:
    """DINEOF on a days x cells matrix: the missing entries reconstructed by truncated SVD.

    Parameters
    ----------
    values : numpy.ndarray, shape ``(n_days, n_cells)``
        The observations (degC); entries under ``missing`` are ignored. Every column must
        have at least one observed entry.
    missing : numpy.ndarray of bool, same shape
        The entries to reconstruct.
    max_modes : int, optional
        Most modes tried (default ``min(n_days - 1, 20)``); the search stops earlier once the
        cross-validation error has grown for three modes in a row.
    cv_fraction : float
        Fraction of the observed entries set aside to choose the number of modes (0.01-0.03
        in the papers); at least :data:`MIN_CV_ENTRIES` entries.
    tol, max_iter
        Convergence of each iteration: relative RMS change of the missing entries.
    seed : int
        Seed of the random choice of the set-aside entries.

    Returns
    -------
    filled : numpy.ndarray, shape ``(n_days, n_cells)``
        ``values`` with the missing entries reconstructed (degC).
    info : dict
        ``n_modes`` (chosen), ``cv_rmse`` (degC, of the chosen number of modes),
        ``cv_rmse_by_mode`` (list, degC, for 1, 2, ... modes), ``n_cv`` (set-aside entries),
        ``n_iterations`` (all SVDs made), ``converged`` (bool, the final iteration).
    """
    values = np.asarray(values, dtype="float64")
    missing = np.asarray(missing, dtype=bool)
    if values.ndim != 2 or missing.shape != values.shape:
        raise ValueError(
            f"dineof: values and missing must be one (days, cells) shape, got {values.shape} "
            f"and {missing.shape}"
        )
    n_days = values.shape[0]
    if n_days < 3:
        raise ValueError(f"dineof: needs at least 3 days, got {n_days}; pass a longer series")
    observed = ~missing & np.isfinite(values)
    counts = observed.sum(axis=0)
    if (counts == 0).any():
        raise ValueError(
            f"dineof: {int((counts == 0).sum())} cell(s) are observed on no day; drop them "
            "first (fill_eof does)"
        )
    if not 0 < cv_fraction < 0.5:
        raise ValueError(f"dineof: cv_fraction must be in (0, 0.5), got {cv_fraction!r}")
    limit = min(n_days - 1, 20) if max_modes is None else check_count(max_modes, "max_modes")
    limit = min(limit, n_days - 1)
    mean = np.where(observed, values, 0.0).sum(axis=0) / counts
    anomalies = np.where(observed, values - mean, 0.0)

    rng = np.random.default_rng(seed)
    obs_index = np.flatnonzero(observed)
    n_cv = max(MIN_CV_ENTRIES, int(round(cv_fraction * obs_index.size)))
    if n_cv > obs_index.size // 2:
        raise ValueError(
            f"dineof: {obs_index.size} observed entries are too few to set {n_cv} aside for "
            "cross-validation; pass more days or a finer grid"
        )
    cv = np.zeros(values.shape, dtype=bool)
    cv.flat[rng.choice(obs_index, size=n_cv, replace=False)] = True
    truth = anomalies[cv]
    hidden = ~observed | cv

    matrix = anomalies.copy()
    matrix[hidden] = 0.0
    errors: list[np.ndarray] = []
    states: list[np.ndarray] = []
    iterations = 0
    for k in range(1, limit + 1):
        n_it, _ = _iterate(matrix, hidden, k, tol, max_iter)
        iterations += n_it
        errors.append(matrix[cv] - truth)
        states.append(matrix[hidden].copy())
        scores = [float(np.sqrt(np.mean(e**2))) for e in errors]
        if len(scores) - 1 - int(np.argmin(scores)) >= 3:
            break
    scores = [float(np.sqrt(np.mean(e**2))) for e in errors]
    best = _fewest_modes(errors)
    n_modes = best + 1
    # the chosen reconstruction, the set-aside entries back as observations
    matrix[hidden] = states[best]
    matrix[cv] = truth
    missing_only = ~observed
    n_it, change = _iterate(matrix, missing_only, n_modes, tol, max_iter)
    iterations += n_it
    filled = np.where(observed, values, matrix + mean)
    info: dict[str, object] = {
        "n_modes": n_modes,
        "cv_rmse": scores[best],
        "cv_rmse_by_mode": scores,
        "n_cv": int(n_cv),
        "n_iterations": iterations,
        "converged": bool(change < tol),
    }
    return filled, info


def _complete_day(sst: xr.DataArray, values: np.ndarray, holes: np.ndarray) -> np.ndarray:
    """A day's reconstruction with its ``holes`` (cells no day observed) Laplace-filled."""
    from eogapfill.fill.laplace import fill_laplace

    if not holes.any():
        return values
    known = np.where(holes, np.nan, values)
    if not np.isfinite(known).any():
        raise ValueError("eof: a day has no value to continue from; pass a longer series")
    return np.asarray(fill_laplace(sst.copy(data=known), holes).filled.values, dtype="float64")


@checked_options("eof")
def fill_eof(
    stack: xr.Dataset,
    target: int | None = None,
    *,
    max_modes: int | None = None,
    cv_fraction: float = 0.02,
    tol: float = 1e-4,
    max_iter: int = 300,
    seed: int | None = 0,
) -> xr.Dataset:
    """Fill every day of a HEALPix stack by DINEOF (module docstring).

    Parameters
    ----------
    stack : xarray.Dataset
        ``SST_L3S`` (degC), ``gap`` and ``sea`` on ``(time, cells)`` with ``cell_ids``
        (:func:`eogapfill.stack.healpix_stack`, :func:`~eogapfill.stack.open_stack`), at least
        3 days.
    target : int, optional
        Index of the one day to return (the space-time fill contract of the registry,
        ``fill(stack, target)``: the DINEOF of the whole stack, that day's map); it must
        have a gap. None (default): every day.
    max_modes, cv_fraction, tol, max_iter, seed
        As in :func:`dineof`.

    Returns
    -------
    xarray.Dataset
        ``filled`` ``(time, cells)`` (degC), or ``(cells,)`` for a ``target``: the observed
        cells as observed, the gap cells reconstructed, NaN elsewhere (land). Attributes: ``n_modes``, ``cv_rmse`` (degC, on
        the set-aside observed cells, as anomalies), ``n_cv``, ``n_iterations``,
        ``converged``, ``n_never_observed`` (gap cells of cells that no day observes, filled
        by Laplace), ``protocol`` = ``"honest"`` (the fill sees the observed cells only).
    """
    values, gaps, sea = check_stack(stack, "eof")
    seed = check_seed(seed, method="eof")
    observed = np.isfinite(values) & ~gaps
    n_days = values.shape[0]
    if target is not None:
        if isinstance(target, bool) or not isinstance(target, int | np.integer):
            raise ValueError(f"eof: target must be a day index in 0..{n_days - 1}, got {target!r}")
        if not 0 <= target < n_days:
            raise ValueError(f"eof: target must be a day index in 0..{n_days - 1}, got {target!r}")
        target = int(target)
        if not gaps[target].any():
            raise NothingToFillError(
                f"eof: the gap mask is empty on day {target}: there is nothing to fill (every "
                "sea cell is observed); use the map as it is"
            )
    if not gaps.any():
        raise ValueError("eof: the stack has no gap cell: there is nothing to fill")
    columns = np.flatnonzero(observed.any(axis=0))
    holes = gaps & ~observed.any(axis=0)[None]
    sub, info = dineof(
        np.where(observed, values, np.nan)[:, columns],
        ~observed[:, columns],
        max_modes=max_modes,
        cv_fraction=cv_fraction,
        tol=tol,
        max_iter=max_iter,
        seed=seed,
    )
    recon = np.full(values.shape, np.nan)
    recon[:, columns] = sub
    attrs = {
        "n_modes": int(info["n_modes"]),  # type: ignore[call-overload]
        "cv_rmse": float(info["cv_rmse"]),  # type: ignore[arg-type]
        "cv_rmse_by_mode": np.asarray(info["cv_rmse_by_mode"], dtype="float64"),
        "n_cv": info["n_cv"],
        "n_iterations": info["n_iterations"],
        "converged": int(bool(info["converged"])),
        "n_never_observed": int(holes.sum()),
        "max_modes": -1 if max_modes is None else int(max_modes),
        "cv_fraction": float(cv_fraction),
    }
    days = []
    for t in range(n_days) if target is None else (target,):
        sst = stack["SST_L3S"].isel(time=t)
        inputs = FillInputs(sst.where(observed[t]), stack["gap"].isel(time=t))
        day_values = _complete_day(sst, np.where(gaps[t], recon[t], values[t]), holes[t])
        days.append(finish_fill(inputs, day_values, method="eof", attrs=attrs))
    if target is not None:
        out = days[0]
        return out.assign_coords(time=stack["time"][target]) if "time" in stack.coords else out
    out = xr.concat(days, dim="time", combine_attrs="override")
    return out.assign_coords(time=stack["time"])
