"""Fills on a regional (partial) HEALPix grid: the contract, the border, the refusals.

Every method that the registry marks ``regional`` fills a map on the cells of a region: the
observed cells come back bit-identical, land stays NaN, every gap is filled and nothing is
written outside the region (the result lives on the region's cells only). Away from the
region's edge a regional fill equals the full-sphere fill of the same map. A method that needs
the whole sphere refuses a region with a message that names what to use instead.
"""

from __future__ import annotations

import healpy as hp
import numpy as np
import pytest
import xarray as xr
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

from eogapfill.fill import METHODS, get_method
from eogapfill.fill.registry import method_names, regional_methods
from eogapfill.healpix import HealpixGrid, healpix_dataset, region_cells

NSIDE = 32  # 1.8 degree cells
BOX = (-80.0, -20.0, 10.0, 50.0)  # lon0, lon1, lat0, lat1 (degrees): about 700 cells


def _sphere_scene(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Full-sphere truth, land and gap masks, shape ``(12 NSIDE**2,)`` each."""
    npix = 12 * NSIDE**2
    x, y, z = hp.pix2vec(NSIDE, np.arange(npix), nest=True)
    rng = np.random.default_rng(seed)
    truth = 18.0 + 8.0 * z + 2.0 * x * y + rng.normal(0.0, 0.3, npix)
    land = np.zeros(npix, dtype=bool)
    land[hp.query_disc(NSIDE, hp.ang2vec(-45.0, 30.0, lonlat=True), np.radians(5), nest=True)] = (
        True
    )
    gap = np.zeros(npix, dtype=bool)
    centres = [(-70.0, 40.0), (-30.0, 20.0), (-55.0, 15.0), (-35.0, 42.0), (-78.0, 26.0)]
    centres += [tuple(c) for c in rng.uniform([-180, -60], [180, 60], size=(20, 2))]
    for lon, lat in centres:
        vec = hp.ang2vec(lon, lat, lonlat=True)
        gap[hp.query_disc(NSIDE, vec, np.radians(4), nest=True)] = True
    gap &= ~land
    return truth, land, gap


@pytest.fixture(scope="module")
def scene() -> dict:
    truth, land, gap = _sphere_scene()
    sst = np.where(land | gap, np.nan, truth)
    sphere = healpix_dataset({"SST_L3S": sst, "gap": gap}, NSIDE)
    grid = HealpixGrid(NSIDE, cell_ids=region_cells(NSIDE, BOX))
    ids = grid.ids
    region = healpix_dataset({"SST_L3S": sst[ids], "gap": gap[ids]}, grid)
    for ds in (sphere, region):
        ds["SST_L3S"].attrs["units"] = "degC"
    return {"sphere": sphere, "region": region, "grid": grid, "land": land[ids], "gap": gap}


@pytest.fixture(scope="module")
def results(scene) -> dict[str, xr.Dataset]:
    out = {}
    for name in regional_methods():
        options = {"n_members": 2, "seed": 3} if METHODS[name].stochastic else {}
        out[name] = get_method(name)(scene["region"], **options)
    return out


def test_the_registry_lists_the_regional_methods() -> None:
    assert regional_methods() == method_names("healpix", regional=True)
    assert {"laplace", "noise", "oi"} <= set(regional_methods())
    assert "alm" not in regional_methods()
    assert not any(METHODS[name].regional for name in method_names("latlon"))


@pytest.mark.parametrize("name", regional_methods())
def test_a_regional_fill_keeps_the_contract(name, scene, results) -> None:
    region, out = scene["region"], results[name]
    values = region.SST_L3S.values
    observed = np.isfinite(values) & ~region.gap.values
    # nothing written outside the region: the result lives on the region's cells only
    np.testing.assert_array_equal(out.cell_ids.values, scene["grid"].ids)
    for var in ("filled", "members"):
        if var not in out:
            continue
        got = out[var].values.reshape(-1, values.size)
        assert (got[:, observed] == values[observed]).all(), f"{var}: observed cells changed"
        assert np.isnan(got[:, scene["land"]]).all(), f"{var}: land written"
        assert np.isfinite(got[:, region.gap.values]).all(), f"{var}: a gap left NaN"


def test_alm_refuses_a_region_and_names_what_to_use(scene) -> None:
    from eogapfill.fill.alm import fit_alm

    with pytest.raises(ValueError, match="full-sphere map.*use fill_oi or fill_laplace"):
        get_method("alm")(scene["region"])
    with pytest.raises(ValueError, match="use fill_oi or fill_laplace"):
        fit_alm(scene["region"])


def _interior(grid: HealpixGrid, depth: int) -> np.ndarray:
    """Cells of ``grid`` more than ``depth`` neighbour steps from the region's edge."""
    nb = grid.neighbours()
    all_nb = hp.get_all_neighbours(grid.nside, grid.ids, nest=True).T
    inside = ((nb >= 0) | (all_nb < 0)).all(axis=1)  # every existing neighbour in the region
    for _ in range(depth - 1):
        inside = inside & np.where(nb >= 0, inside[np.maximum(nb, 0)], True).all(axis=1)
    return inside


def test_laplace_on_a_region_equals_the_sphere_on_inner_gap_components(scene) -> None:
    fill = get_method("laplace")
    grid, gap = scene["grid"], scene["gap"]
    sphere = fill(scene["sphere"]).filled.values
    region = fill(scene["region"]).filled.values
    # gap components of the sphere that lie wholly inside the region, off its edge
    nb = hp.get_all_neighbours(NSIDE, np.arange(gap.size), nest=True).T
    rows = np.repeat(np.arange(gap.size), 8)
    cols = nb.ravel()
    link = (cols >= 0) & gap[rows] & gap[np.maximum(cols, 0)]
    adjacency = csr_matrix((np.ones(link.sum()), (rows[link], cols[link])), (gap.size,) * 2)
    _, label = connected_components(adjacency, directed=False)
    interior = np.zeros(gap.size, bool)
    interior[grid.ids[_interior(grid, 1)]] = True
    inner = np.setdiff1d(label[gap], label[gap & ~interior])
    cells = np.flatnonzero(gap & np.isin(label, inner))
    assert cells.size > 50, "the scene must have gap components inside the region"
    np.testing.assert_allclose(region[grid.position(cells)], sphere[cells], rtol=0, atol=1e-6)
    # a component cut by the region's edge is filled too, but differently (zero flux there)
    assert np.isfinite(region[scene["region"].gap.values]).all()


def test_noise_on_a_region_perturbs_the_regional_laplace_fill(scene) -> None:
    region = scene["region"]
    base = get_method("laplace")(region).filled.values
    out = get_method("noise")(region, n_members=3, seed=0, std=0.0)
    np.testing.assert_allclose(out.filled.values, base, rtol=0, atol=1e-12)
    noisy = get_method("noise")(region, n_members=200, seed=0)
    gaps = region.gap.values
    spread = float(noisy.filled_std.values[gaps].mean())
    assert 0.5 * noisy.attrs["noise_std_degC"] < spread < 1.5 * noisy.attrs["noise_std_degC"]


def test_oi_on_a_region_equals_the_sphere_away_from_the_border(scene) -> None:
    """Same covariance model, same background and same seed: kriging and members agree
    wherever a gap cell's ``n_neighbours`` nearest observed cells all lie in the region (and
    are unambiguous: HEALPix's symmetry makes ties, which either grid may break its way)."""
    from scipy.spatial import cKDTree

    from eogapfill.random_fields import CovarianceModel

    fill = get_method("oi")
    grid, gap = scene["grid"], scene["gap"]
    model = CovarianceModel(sill=0.5, length_scale_km=600.0, nugget=0.05)
    x, y, z = hp.pix2vec(NSIDE, np.arange(gap.size), nest=True)
    background = 18.0 + 8.0 * z  # one large scale for both, given as a map
    k = 8
    options = {"covariance": model, "n_neighbours": k, "n_members": 2, "seed": 5}
    sphere = fill(scene["sphere"], background=background, **options)
    region = fill(scene["region"], background=background[grid.ids], **options)
    assert region.attrs["background"] == "given"
    # gap cells of the region whose k nearest observed cells (on the sphere) are all inside it
    sst = scene["sphere"].SST_L3S.values
    observed = np.flatnonzero(np.isfinite(sst) & ~gap)
    xyz = np.stack(hp.pix2vec(NSIDE, np.arange(gap.size), nest=True), axis=1)
    targets = grid.ids[scene["region"].gap.values]
    dist, nearest = cKDTree(xyz[observed]).query(xyz[targets], k=k + 1)
    inside = (grid.position(observed[nearest[:, :k]]) >= 0).all(axis=1)
    inside &= dist[:, k - 1] < dist[:, k] * (1 - 1e-9)  # no tie for the k-th neighbour
    assert inside.sum() > 30 and (~inside).sum() > 0
    cells = targets[inside]
    local = grid.position(cells)
    for var in ("filled", "filled_std"):
        np.testing.assert_allclose(
            region[var].values[local], sphere[var].values[cells], rtol=0, atol=1e-9
        )
    # the members' unconditional fields are the sphere's, cut to the region
    np.testing.assert_allclose(
        region.members.values[:, local], sphere.members.values[:, cells], rtol=0, atol=1e-9
    )


def test_oi_on_a_region_fits_its_covariance_on_the_region(scene) -> None:
    out = get_method("oi")(scene["region"])
    region = scene["region"]
    n_observed = int((np.isfinite(region.SST_L3S.values) & ~region.gap.values).sum())
    assert out.attrs["fit_n_observed"] == n_observed
    assert out.attrs["background_scale_km"] == 300.0
    # the scene is smooth plus 0.3 degC white noise: the fill is near the truth
    truth = _sphere_scene()[0][scene["grid"].ids]
    gaps = region.gap.values
    assert np.sqrt(np.mean((out.filled.values[gaps] - truth[gaps]) ** 2)) < 0.6


def test_oi_refuses_the_harmonic_background_on_a_region(scene) -> None:
    with pytest.raises(ValueError, match="harmonic.*full sphere.*'blended'"):
        get_method("oi")(scene["region"], background="harmonic")


def test_region_members_are_the_sphere_fields_cut_to_the_region() -> None:
    from eogapfill.random_fields import CovarianceModel, gaussian_random_field

    model = CovarianceModel(1.0, 800.0, 0.1)
    ids = region_cells(16, BOX)
    full = gaussian_random_field(model, 16, n_fields=2, seed=4)
    cut = gaussian_random_field(model, 16, n_fields=2, seed=4, cells=ids)
    np.testing.assert_array_equal(cut, full[:, ids])


def test_oi_on_a_small_region_keeps_the_covariance_fit_bounded() -> None:
    """A ramp across a small region: the empirical variogram never levels off.

    Unbounded, gstools ran the length scale to 1e7 km with a sill of ~1000 degC**2, and the
    cross-validation then pushed the length to a quarter of a cell: members of -100 to
    +200 degC (the regional nside-64 case of 2024-06-01 off the US east coast). Bounded, the
    fit falls back to the robust guess: a sill near the variance of the anomalies, a length
    between one cell and the region's size, members of sea water.
    """
    import warnings

    from scipy.optimize import OptimizeWarning

    from eogapfill.fill.kriging import MAX_SILL_FACTOR
    from eogapfill.seawater import ImplausibleTemperatureWarning

    nside, box = 64, (-80.0, -50.0, 25.0, 45.0)
    grid = HealpixGrid(nside, cell_ids=region_cells(nside, box))
    lon, lat = grid.lonlat()
    rng = np.random.default_rng(0)
    truth = 22.0 - 0.4 * (lat - 35.0) + 0.1 * (lon + 65.0) + rng.normal(0.0, 0.3, lon.size)
    gaps = rng.random(lon.size) < 0.3
    for centre in rng.uniform([-80.0, 25.0], [-50.0, 45.0], size=(4, 2)):
        gaps |= np.hypot(lon - centre[0], lat - centre[1]) < 3.0
    region = healpix_dataset({"SST_L3S": np.where(gaps, np.nan, truth), "gap": gaps}, grid)
    region["SST_L3S"].attrs["units"] = "degC"
    with warnings.catch_warnings():
        warnings.simplefilter("error", OptimizeWarning)  # the first guess lies within bounds
        warnings.simplefilter("error", ImplausibleTemperatureWarning)
        out = get_method("oi")(region, n_members=4, seed=0)
    attrs = out.attrs
    assert attrs["fit_variogram_fallback"] == 1.0
    # white noise of 0.3 degC around a ramp that the 300 km smoothing nearly removes
    total = attrs["covariance_sill"] + attrs["covariance_nugget"]
    assert 0.02 < total < (MAX_SILL_FACTOR + 1) * 0.3**2
    assert grid.resolution_km <= attrs["covariance_length_scale_km"] <= 3000.0
    assert grid.resolution_km <= attrs["fit_variogram_length_scale_km"] <= 3000.0
    assert attrs.get("n_implausible", 0) == 0
    members = out.members.values[:, gaps]
    assert members.min() > truth.min() - 3.0 and members.max() < truth.max() + 3.0
    assert float(out.filled_std.values[gaps].max()) < 2.0
    rmse = np.sqrt(np.mean((out.filled.values[gaps] - truth[gaps]) ** 2))
    assert rmse < 0.6
