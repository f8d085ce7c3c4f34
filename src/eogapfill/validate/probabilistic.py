"""Probabilistic scores: CRPS and spread/skill of ensembles and of Gaussian predictions."""

from __future__ import annotations

import numpy as np
import xarray as xr

from eogapfill.validate.inputs import ArrayLike, checked_pair, map_of

__all__ = [
    "crps_ensemble",
    "crps_gaussian",
    "spread_skill",
    "spread_skill_gaussian",
    "zscore_std",
]


def members_array(members: ArrayLike, npix: int) -> np.ndarray:
    """Members as ``(n_members, npix)``; a DataArray is put in ``(member, cells)`` order."""
    if isinstance(members, xr.DataArray):
        if "member" in members.dims:
            members = members.transpose("member", ...)
        values = np.asarray(members.values, dtype="float64")
    else:
        values = np.asarray(members, dtype="float64")
    if values.ndim != 2 or values.shape[1] != npix:
        raise ValueError(
            f"members must have shape (n_members, {npix}) (dims member, cells), got {values.shape}"
        )
    return values


def _ensemble(
    members: ArrayLike, truth: ArrayLike, mask: ArrayLike
) -> tuple[np.ndarray, np.ndarray]:
    """Checked members on the mask ``(n_cells, n_members)`` and truth ``(n_cells,)``."""
    t = map_of(truth, "truth")
    ens = members_array(members, t.size)
    _, _, m = checked_pair(ens[0], t, mask, x_name="members")
    sub = ens[:, m].T
    if not np.isfinite(sub).all():
        raise ValueError("members have non-finite values on the mask: a member left gaps empty")
    return sub, t[m]


def crps_ensemble(
    members: ArrayLike,
    truth: ArrayLike,
    mask: ArrayLike,
    *,
    estimator: str = "fair",
) -> float:
    """Mean CRPS of an ensemble over the mask (degC; 0 is perfect, lower is better).

    Computed with ``scoringrules.crps_ensemble``. The default ``"fair"`` estimator is
    unbiased for the CRPS of the distribution the members are drawn from, so ensembles of
    different sizes compare fairly; a single member falls back to ``"nrg"`` (then the CRPS is
    the mean absolute error).

    Parameters
    ----------
    members : array (n_members, npix) or DataArray (member, cells)
    truth : array (npix,)
    mask : bool array (npix,)

    Examples
    --------
    >>> t = np.arange(4.0); m = np.ones(4, bool)
    >>> crps_ensemble(np.stack([t, t]), t, m)
    0.0
    """
    import scoringrules as sr

    sub, obs = _ensemble(members, truth, mask)
    if sub.shape[1] == 1:
        estimator = "nrg"
    return float(np.mean(sr.crps_ensemble(obs, sub, m_axis=-1, estimator=estimator)))


def spread_skill(members: ArrayLike, truth: ArrayLike, mask: ArrayLike) -> float:
    """Spread / skill of an ensemble on the mask (1 = calibrated, < 1 = over-confident).

    ``spread = sqrt(mean over cells of the members' variance (ddof=1))`` and ``skill`` the
    RMSE of the ensemble mean; the ratio is multiplied by ``sqrt((M + 1) / M)`` for ``M``
    members, so that an ensemble drawn from the right distribution scores 1 whatever its
    size (Fortin et al. 2014, doi:10.1175/JHM-D-14-0008.1).

    Examples
    --------
    >>> rng = np.random.default_rng(0); n = 20000
    >>> truth = rng.normal(size=n); mean = truth + rng.normal(size=n)
    >>> members = mean + rng.normal(size=(8, n))   # mean error and spread both 1
    >>> round(spread_skill(members, truth, np.ones(n, bool)), 1)
    1.0
    """
    sub, obs = _ensemble(members, truth, mask)
    n_members = sub.shape[1]
    if n_members < 2:
        raise ValueError("spread_skill needs at least 2 members")
    error = np.sqrt(np.mean((sub.mean(axis=1) - obs) ** 2))
    spread = np.sqrt(np.mean(sub.var(axis=1, ddof=1)))
    if not error > 0:
        return float("inf") if spread > 0 else float("nan")
    return float(np.sqrt((n_members + 1) / n_members) * spread / error)


def _gaussian(
    mean: ArrayLike, std: ArrayLike, truth: ArrayLike, mask: ArrayLike
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    mu, t, m = checked_pair(mean, truth, mask, x_name="mean")
    sigma = map_of(std, "std", t.size)[m]
    if not np.isfinite(sigma).all() or (sigma < 0).any():
        raise ValueError("std must be finite and >= 0 on the mask")
    return mu[m], sigma, t[m]


def crps_gaussian(mean: ArrayLike, std: ArrayLike, truth: ArrayLike, mask: ArrayLike) -> float:
    """Mean CRPS of a Gaussian predictive ``N(mean, std**2)`` over the mask (degC).

    Computed with ``scoringrules.crps_normal``; where ``std == 0`` the CRPS is its limit,
    the absolute error.

    Examples
    --------
    >>> t = np.zeros(3); m = np.ones(3, bool)
    >>> round(crps_gaussian(t, np.ones(3), t, m), 4)      # sigma * (sqrt(2) - 1) / sqrt(pi)
    0.2337
    """
    import scoringrules as sr

    mu, sigma, obs = _gaussian(mean, std, truth, mask)
    crps = np.abs(mu - obs)
    positive = sigma > 0
    if positive.any():
        crps[positive] = sr.crps_normal(obs[positive], mu[positive], sigma[positive])
    return float(np.mean(crps))


def spread_skill_gaussian(
    mean: ArrayLike, std: ArrayLike, truth: ArrayLike, mask: ArrayLike
) -> float:
    """``sqrt(mean(std**2)) / RMSE(mean)`` on the mask (1 = calibrated uncertainty)."""
    mu, sigma, obs = _gaussian(mean, std, truth, mask)
    error = np.sqrt(np.mean((mu - obs) ** 2))
    spread = np.sqrt(np.mean(sigma**2))
    if not error > 0:
        return float("inf") if spread > 0 else float("nan")
    return float(spread / error)


def zscore_std(mean: ArrayLike, std: ArrayLike, truth: ArrayLike, mask: ArrayLike) -> float:
    """Standard deviation of ``(mean - truth) / std`` on the mask (1 = calibrated).

    Above 1 the stated uncertainty is too small (over-confident), below 1 too large.

    Examples
    --------
    >>> rng = np.random.default_rng(0); t = rng.normal(size=10000); m = np.ones(t.size, bool)
    >>> round(zscore_std(t + 2 * rng.normal(size=t.size), np.full(t.size, 2.0), t, m), 1)
    1.0
    """
    mu, sigma, obs = _gaussian(mean, std, truth, mask)
    if (sigma == 0).any():
        raise ValueError("std is zero on some masked cells: the z-score is undefined there")
    return float(np.std((mu - obs) / sigma))
