"""Pointwise scores of a fill on the hidden cells: RMSE, bias, MAE, skill, error histogram."""

from __future__ import annotations

import numpy as np

from eogapfill.validate.inputs import ArrayLike, checked_pair, values_of

__all__ = ["bias", "error_histogram", "mae", "rmse", "skill"]


def rmse(filled: ArrayLike, truth: ArrayLike, mask: ArrayLike) -> float:
    """Root-mean-square error on the mask, in the units of the maps (degC).

    Examples
    --------
    >>> rmse(np.array([1.0, 3.0, 9.0]), np.array([0.0, 0.0, 9.0]), np.array([True, True, False]))
    2.23606797749979
    """
    v, t, m = checked_pair(filled, truth, mask)
    return float(np.sqrt(np.mean((v[m] - t[m]) ** 2)))


def bias(filled: ArrayLike, truth: ArrayLike, mask: ArrayLike) -> float:
    """Mean error ``filled - truth`` on the mask (degC; positive: the fill is too warm)."""
    v, t, m = checked_pair(filled, truth, mask)
    return float(np.mean(v[m] - t[m]))


def mae(filled: ArrayLike, truth: ArrayLike, mask: ArrayLike) -> float:
    """Mean absolute error on the mask (degC)."""
    v, t, m = checked_pair(filled, truth, mask)
    return float(np.mean(np.abs(v[m] - t[m])))


def skill(
    filled: ArrayLike,
    truth: ArrayLike,
    mask: ArrayLike,
    reference: ArrayLike | float | None = None,
) -> float:
    """Skill ``mu = 1 - RMSE / RMS(truth anomaly)`` on the mask (dimensionless, <= 1).

    The truth anomaly is ``truth - reference``; by default the reference is the mean of the
    truth over the mask, so ``mu = 0`` for the fill that puts that one constant everywhere
    (a "climatological" fill that even knows the hidden mean), ``mu = 1`` for a perfect fill,
    and ``mu < 0`` for a fill worse than that constant. Pass ``reference`` (e.g. a
    climatology or the large-scale fit) to measure skill beyond it.

    Examples
    --------
    >>> t = np.array([1.0, 2.0, 3.0]); m = np.ones(3, bool)
    >>> skill(t, t, m), skill(np.full(3, 2.0), t, m)
    (1.0, 0.0)
    """
    v, t, m = checked_pair(filled, truth, mask)
    if reference is None:
        anomaly = t[m] - t[m].mean()
    else:
        ref = np.broadcast_to(values_of(reference, "reference"), t.shape)
        anomaly = t[m] - ref[m]
    scale = np.sqrt(np.mean(anomaly**2))
    if not scale > 0:
        raise ValueError(
            "the truth anomaly is zero on the mask (constant truth): the skill is undefined; "
            "hide more pixels or pass another reference"
        )
    return float(1.0 - np.sqrt(np.mean((v[m] - t[m]) ** 2)) / scale)


def error_histogram(
    filled: ArrayLike,
    truth: ArrayLike,
    mask: ArrayLike,
    bins: int | np.ndarray = 41,
) -> tuple[np.ndarray, np.ndarray]:
    """Histogram of the errors ``filled - truth`` on the mask.

    Parameters
    ----------
    bins : int or array of edges (degC)
        An int gives that many bins spanning ``[-e, e]`` with ``e`` the largest absolute
        error (so zero is a bin centre for odd counts); edges are used as given (errors
        outside them are not counted).

    Returns
    -------
    counts : np.ndarray (nbins,) int
    edges : np.ndarray (nbins + 1,) degC
        Ready for ``plt.stairs(counts, edges)``.

    Examples
    --------
    >>> counts, edges = error_histogram(np.array([0.5, -0.5, 0.0]), np.zeros(3), np.ones(3, bool), 3)
    >>> counts.tolist(), edges.tolist()
    ([1, 1, 1], [-0.75, -0.25, 0.25, 0.75])
    """
    v, t, m = checked_pair(filled, truth, mask)
    err = v[m] - t[m]
    if np.ndim(bins) == 0:
        nbins = int(bins)
        if nbins < 1:
            raise ValueError(f"bins must be a positive number of bins or edges, got {bins}")
        half = float(np.max(np.abs(err)))
        half = half * nbins / max(nbins - 1, 1) if half > 0 else 1e-6
        edges = np.linspace(-half, half, nbins + 1)
    else:
        edges = np.asarray(bins, dtype="float64")
    counts, edges = np.histogram(err, bins=edges)
    return counts, edges
