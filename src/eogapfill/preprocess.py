"""Turn the raw L3S and L4 products into one clean day on their common lat/lon grid.

- temperatures go from kelvin to degC with pint-xarray (the unit strings read by the
  package's one recogniser, :func:`~eogapfill.seawater.temperature_unit`, then by
  cf_xarray; degF and any other temperature unit pint knows are converted too);
- every value is checked for plausibility as sea water (-2.5 to 40 degC,
  :data:`eogapfill.seawater.SEA_WATER_DEGC`, the bounds the fills keep to): a field
  with many implausible values (wrong or mixed units) is refused, a few glitches (a 1e6, an
  inf) are masked with an :class:`ImplausibleSSTWarning` that says how many and where;
- only the best observations are kept (``quality_level == 5`` by default);
- the L4 ``mask`` bit flags (1 sea, 2 land, 4 lake, 8 ice) say what is open sea: a missing
  value over the sea is a cloud (a gap to fill); land, lakes and ice are never gaps.

The result of :func:`prepare_day` has ``SST_L3S`` and ``SST_L4`` (degC), ``mask`` (the L4
flags) and ``sea`` (bool) on dims ``(latitude, longitude)``. Any other gridded L3 product
(one day or a time cube, no L4) goes through :func:`prepare_l3`, with the same checks.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Literal

import cf_xarray.units  # noqa: F401  (registers CF unit strings with pint)
import numpy as np
import pint_xarray  # noqa: F401  (registers the .pint accessor)
import xarray as xr

from eogapfill.data import L3S_VARIABLES, L4_VARIABLES
from eogapfill.landmask import ocean_at
from eogapfill.seawater import SEA_WATER_DEGC, ImplausibleTemperatureWarning, temperature_unit

__all__ = [
    "MASK_FLAGS",
    "MAX_BAD_FRACTION",
    "ImplausibleSSTWarning",
    "check_sst",
    "load_day",
    "prepare_day",
    "prepare_l3",
    "quality_filter",
    "save_day",
    "sea_mask",
    "single_day",
    "temperature_unit",
    "to_celsius",
]

#: L4 ``mask`` bit flags.
MASK_FLAGS = {"sea": 1, "land": 2, "lake": 4, "ice": 8}
#: Largest fraction of implausible values that :func:`check_sst` masks as glitches; a field
#: with more is refused as a whole (wrong or mixed units, a broken product).
MAX_BAD_FRACTION = 0.01
# Units tried when explaining implausible values ("they look like degC").
_CANDIDATE_UNITS = ("kelvin", "degC", "degF")
_UNIT_HELP = "use 'kelvin' (or 'K'), 'degC' (or 'degree_Celsius') or 'degF'"

Implausible = Literal["mask", "raise"]


class ImplausibleSSTWarning(ImplausibleTemperatureWarning):
    """A few input values are not plausible sea temperatures and were masked.

    A kind of :class:`~eogapfill.seawater.ImplausibleTemperatureWarning`: one filter catches
    implausible inputs and implausible fills alike.
    """


def _pint_units(units: str) -> str:
    """``units`` as pint reads it: a :func:`temperature_unit` by its pint name, else as given."""
    return temperature_unit(units) or units


def _quantify(da: xr.DataArray, name: str) -> xr.DataArray:
    units = da.attrs.get("units")
    if units is None:
        raise ValueError(
            f"{name!r} has no 'units' attribute: set it, e.g. da.attrs['units'] = 'kelvin'"
        )
    try:
        quantified = da.assign_attrs(units=_pint_units(str(units))).pint.quantify()
    except Exception as err:  # pint-xarray groups pint's parse errors
        raise ValueError(
            f"{name!r} has units {units!r}, which pint cannot read as a unit: {_UNIT_HELP} "
            "(set da.attrs['units'])"
        ) from err
    if str(quantified.pint.units.dimensionality) != "[temperature]":
        raise ValueError(f"{name!r} has units {units!r}, which is not a temperature: {_UNIT_HELP}")
    return quantified


def to_celsius(
    da: xr.DataArray, *, check: bool = True, implausible: Implausible = "mask"
) -> xr.DataArray:
    """Convert a sea temperature to degC with pint-xarray, checking that the values are honest.

    Parameters
    ----------
    da
        Temperatures with a ``units`` attribute (``kelvin``/``K``, ``degC``, ``degF``, ...).
    check
        Check every value for plausibility (:func:`check_sst`); False converts only.
    implausible
        What :func:`check_sst` does with a few implausible values: ``"mask"`` (with a warning)
        or ``"raise"``.

    Raises ``ValueError`` when ``units`` is missing, unknown or not a temperature, or when many
    values contradict it (a field in degC labelled kelvin, a mix of both), with the fix.

    >>> t = xr.DataArray([273.15, 300.15], dims="x", attrs={"units": "kelvin"})
    >>> to_celsius(t).values.round(2).tolist(), to_celsius(t).attrs["units"]
    ([0.0, 27.0], 'degC')
    """
    name = str(da.name or "temperature")
    quantified = _quantify(da, name)
    out = quantified.pint.to("degC").pint.dequantify()
    out.attrs["units"] = "degC"
    for key in ("valid_min", "valid_max", "valid_range", "_FillValue"):  # bounds in the old unit
        out.attrs.pop(key, None)
    if check:
        out = _check(out, name=name, raw=da, units=da.attrs["units"], implausible=implausible)
    return out


def check_sst(
    da: xr.DataArray, *, name: str | None = None, implausible: Implausible = "mask"
) -> xr.DataArray:
    """Check that every value of a degC field is a plausible sea temperature.

    Values outside :data:`~eogapfill.seawater.SEA_WATER_DEGC` (-2.5 to 40 degC) and
    +-inf are implausible (NaN is "no value").
    When more than :data:`MAX_BAD_FRACTION` of the values are, the field is refused
    (``ValueError``: wrong or mixed units, a broken product). A few are glitches: masked to
    NaN with an :class:`ImplausibleSSTWarning` naming how many and where
    (``implausible="mask"``, the default), or refused (``implausible="raise"``).

    Returns the field, with the glitches masked. Computes a dask-backed field once.

    >>> sst = xr.DataArray([12.0, 15.0], dims="x", attrs={"units": "degC"})
    >>> check_sst(sst).values.tolist()
    [12.0, 15.0]
    """
    name = str(name or da.name or "temperature")
    return _check(da, name=name, raw=None, units=None, implausible=implausible)


def _where(da: xr.DataArray, mask: np.ndarray, limit: int = 3) -> str:
    """The coordinates of the first ``limit`` True cells of ``mask``, as text."""
    places = []
    for index in np.argwhere(mask)[:limit]:
        parts = []
        for dim, i in zip(da.dims, index, strict=True):
            if dim in da.coords:
                value = da[dim].values[i]
                is_time = np.issubdtype(np.asarray(value).dtype, np.datetime64)
                text = str(value)[:10] if is_time else f"{value:g}"
            else:
                text = f"index {i}"
            parts.append(f"{dim} {text}")
        places.append(", ".join(parts))
    more = " ..." if mask.sum() > limit else ""
    return "; ".join(places) + more


def _plausible_as(values: np.ndarray, units: str) -> np.ndarray:
    """Which ``values``, read in ``units``, are plausible sea temperatures."""
    lo, hi = SEA_WATER_DEGC
    quantity = xr.DataArray(values, dims="x", attrs={"units": units}).pint.quantify()
    degc = quantity.pint.to("degC").pint.dequantify().values
    return (degc >= lo) & (degc <= hi)


def _explain(raw: np.ndarray, bad: np.ndarray, units: str) -> tuple[str, bool] | None:
    """A unit other than ``units`` in which the implausible ``raw[bad]`` numbers are plausible,
    and whether the other numbers are plausible in it too (a wrong label, not a mix)."""

    def unit(name: str) -> object:
        attrs = {"units": _pint_units(name)}
        return xr.DataArray([0.0], dims="x", attrs=attrs).pint.quantify().pint.units

    odd, rest = raw[bad & np.isfinite(raw)], raw[~bad & np.isfinite(raw)]
    if odd.size == 0:
        return None
    for candidate in _CANDIDATE_UNITS:
        if unit(candidate) == unit(units):
            continue
        if np.mean(_plausible_as(odd, candidate)) >= 0.9:
            whole = rest.size == 0 or np.mean(_plausible_as(rest, candidate)) >= 0.9
            return candidate, whole
    return None


def _check(
    da: xr.DataArray,
    *,
    name: str,
    raw: xr.DataArray | None,
    units: str | None,
    implausible: Implausible,
) -> xr.DataArray:
    """:func:`check_sst` on ``da`` (degC); ``raw`` holds the same values in ``units``."""
    if implausible not in ("mask", "raise"):
        raise ValueError(f"implausible must be 'mask' or 'raise', got {implausible!r}")
    lo, hi = SEA_WATER_DEGC
    bad = np.isinf(da) | (da < lo) | (da > hi)
    counts = xr.Dataset({"bad": bad.sum(), "valid": da.notnull().sum()}).compute()
    n_bad, n_valid = int(counts["bad"]), int(counts["valid"])
    if n_bad == 0:
        return da
    mask = np.asarray(bad.values, dtype=bool)
    # the numbers as the data hold them, in their own unit: what a user will recognise
    shown, shown_units = (da, "degC") if raw is None or not units else (raw, units)
    values = np.asarray(shown.values)[mask]
    n_inf = int(np.isinf(values).sum())
    finite = values[np.isfinite(values)]
    if finite.size and finite.min() == finite.max():
        span = f" ({finite.min():.6g} {shown_units})"
    elif finite.size:
        span = f" (from {finite.min():.6g} to {finite.max():.6g} {shown_units})"
    else:
        span = ""
    inf = f", {n_inf} of them +-inf" if n_inf else ""
    after = f" after conversion from {units!r}" if units and units != "degC" else ""
    fraction = n_bad / n_valid
    verb = (
        "is not a plausible sea temperature" if n_bad == 1 else "are not plausible sea temperatures"
    )
    what = (
        f"{n_bad} of the {n_valid} values of {name!r} ({100 * fraction:.3g} %) {verb} "
        f"(outside {lo:g} to {hi:g} degC{after}{inf}){span}"
    )
    if fraction > MAX_BAD_FRACTION:
        explained = None
        if raw is not None and units:
            explained = _explain(np.asarray(raw.values, dtype="float64"), mask, units)
        other, whole = explained if explained is not None else (None, False)
        if other is not None and whole:
            raise ValueError(
                f"{what}: the data look like {other}, not {units!r}. Fix the 'units' attribute "
                f"(da.attrs['units'] = {other!r}) before converting."
            )
        if other is not None:
            raise ValueError(
                f"{what}: these look like {other} while the rest are plausible in {units!r}, so "
                f"the field mixes units. Convert its {other} part to one unit (and label it) "
                "before use; nothing was converted."
            )
        raise ValueError(
            f"{what}: too many to be glitches (more than {100 * MAX_BAD_FRACTION:g} %). Check "
            "the product, its 'units' and its fill values (a missing _FillValue leaves fill "
            "numbers in the data) before use; e.g. at " + _where(da, mask)
        )
    where = _where(da, mask)
    if implausible == "raise":
        raise ValueError(
            f"{what}, at {where}. Mask them (sst.where(np.isfinite(sst) & (sst > {lo:g}) & "
            f"(sst < {hi:g}))) or let them be masked with implausible='mask'."
        )
    warnings.warn(
        f"{what}, at {where}. They were masked (NaN: no observation, a gap to fill); pass "
        "implausible='raise' to refuse such data instead.",
        ImplausibleSSTWarning,
        stacklevel=3,
    )
    return da.where(~xr.DataArray(mask, coords=bad.coords, dims=bad.dims))


def quality_filter(
    sst: xr.DataArray, quality_level: xr.DataArray, min_level: int = 5
) -> xr.DataArray:
    """Keep values whose ``quality_level >= min_level`` (5 = best); others become NaN."""
    if not 0 <= min_level <= 5:
        raise ValueError(f"min_level must be in 0..5 (5 = best), got {min_level}")
    return sst.where(quality_level >= min_level)


def sea_mask(mask: xr.DataArray) -> xr.DataArray:
    """Open sea where the L4 flags are exactly ``sea`` (``mask == 1``): no land, lake or ice."""
    out = mask == MASK_FLAGS["sea"]
    out.attrs = {"long_name": "open sea (L4 mask == 1)"}
    return out.rename("sea")


def single_day(ds: xr.Dataset, what: str) -> xr.Dataset:
    """The one day of ``ds`` (its ``time`` dimension dropped); ``ValueError`` if it holds more.

    ``what`` names ``ds`` in the message (e.g. ``"l3s"``).

    >>> ds = xr.Dataset({"sst": (("time", "x"), [[1.0, 2.0]])})
    >>> dict(single_day(ds, "l3s").sizes)
    {'x': 2}
    """
    if "time" in ds.dims:
        if ds.sizes["time"] != 1:
            raise ValueError(
                f"{what} holds {ds.sizes['time']} days: select one, e.g. "
                f"{what}.sel(time='2024-06-01') or open_l3s('2024-06-01')"
            )
        ds = ds.isel(time=0)
    return ds


def _check_same_grid(a: xr.Dataset, b: xr.Dataset) -> None:
    for dim in ("latitude", "longitude"):
        if dim not in a.coords or dim not in b.coords:
            raise ValueError(f"both products need a {dim!r} coordinate")
        for ds, what in ((a, "L3S"), (b, "L4")):
            values = np.asarray(ds[dim].values, dtype="float64")
            if not np.isfinite(values).all():
                raise ValueError(
                    f"the {what} {dim} coordinate has {int((~np.isfinite(values)).sum())} "
                    "NaN or infinite value(s): a broken file or a bad subset; open the product "
                    "again, or drop those rows/columns before preparing the day"
                )
        if a.sizes[dim] != b.sizes[dim] or not np.allclose(a[dim].values, b[dim].values, atol=1e-6):
            raise ValueError(
                f"L3S and L4 are on different grids ({dim}: {a.sizes[dim]} vs {b.sizes[dim]} "
                "points): open both at the same resolution or interpolate one onto the other "
                "with .interp_like"
            )


def prepare_day(
    l3s: xr.Dataset,
    l4: xr.Dataset,
    *,
    min_quality: int = 5,
    implausible: Implausible = "mask",
) -> xr.Dataset:
    """One clean day from the raw products: ``SST_L3S``, ``SST_L4`` (degC), ``mask``, ``sea``.

    ``SST_L3S`` keeps observations with ``quality_level >= min_quality`` over open sea; NaN
    there means "no observation" (cloud), NaN elsewhere means "not sea". Latitude is made
    ascending. Every kept value is checked as in :func:`check_sst`: a few implausible ones
    (+-inf, a 1e6 glitch) are masked with an :class:`ImplausibleSSTWarning` (observations
    become gaps), or refused with ``implausible="raise"``; many mean wrong or mixed units and
    raise. Raises on missing variables, different grids, different days or unit errors.
    """
    for ds, what, names in (
        (l3s, "l3s", L3S_VARIABLES),
        (l4, "l4", L4_VARIABLES),
    ):
        missing = [n for n in names if n not in ds]
        if missing:
            raise ValueError(
                f"{what} has no {', '.join(map(repr, missing))}: open it with "
                f"eogapfill.data.open_{what}(...)"
            )
    l3s, l4 = single_day(l3s, "l3s"), single_day(l4, "l4")
    if "time" in l3s.coords and "time" in l4.coords:
        t3, t4 = (
            l3s["time"].values.astype("datetime64[D]"),
            l4["time"].values.astype("datetime64[D]"),
        )
        if t3 != t4:
            raise ValueError(f"L3S is for {t3} but L4 for {t4}: open the same day of both")
    l3s, l4 = l3s.sortby("latitude"), l4.sortby("latitude")
    _check_same_grid(l3s, l4)
    sea = sea_mask(l4["mask"])
    # Checked where they count: kept observations over the sea (a rejected pixel may hold junk).
    raw_l3s = l3s["sea_surface_temperature"]
    kept = (l3s["quality_level"] >= min_quality) & sea
    degc = to_celsius(raw_l3s, check=False)
    observed = quality_filter(degc, l3s["quality_level"], min_quality)
    sst_l3s = _check(
        observed.where(sea),
        name="sea_surface_temperature",
        raw=raw_l3s.where(kept),
        units=raw_l3s.attrs["units"],
        implausible=implausible,
    )
    sst_l3s.attrs.update(
        long_name=f"observed SST (quality_level >= {min_quality}, open sea); NaN = no observation",
        units="degC",
    )
    raw_l4 = l4["analysed_sst"]
    sst_l4 = _check(
        to_celsius(raw_l4, check=False).where(sea),
        name="analysed_sst",
        raw=raw_l4.where(sea),
        units=raw_l4.attrs["units"],
        implausible=implausible,
    )
    sst_l4.attrs.update(long_name="L4 analysed SST (open sea)", units="degC")
    day = xr.Dataset(
        {"SST_L3S": sst_l3s, "SST_L4": sst_l4, "mask": l4["mask"], "sea": sea},
        attrs={"title": "eogapfill prepared day", "min_quality_level": min_quality},
    )
    # Coordinates of the L4 win where the two differ by rounding only.
    return day.assign_coords(latitude=l4["latitude"], longitude=l4["longitude"])


def save_day(day: xr.Dataset, path: str | Path) -> Path:
    """Write a prepared day to a local Zarr store (format 2, consolidated); returns the path."""
    path = Path(path)
    day.to_zarr(path, mode="w", zarr_format=2, consolidated=True)
    return path


def load_day(path: str | Path) -> xr.Dataset:
    """Open a day written by :func:`save_day`."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no saved day at {path}: write one with save_day(day, path)")
    return xr.open_zarr(path, consolidated=True)


SeaSource = Literal["land-mask", "observed"]


def _lat_lon_names(ds: xr.Dataset) -> tuple[str, str]:
    """The latitude and longitude coordinate names of ``ds`` (CF attributes or usual names)."""
    names = []
    for axis, usual in (("latitude", ("latitude", "lat")), ("longitude", ("longitude", "lon"))):
        try:
            name = ds.cf[axis].name
        except KeyError:
            name = next((n for n in usual if n in ds.coords or n in ds.dims), None)
        if name is None:
            raise ValueError(
                f"no {axis} coordinate found (by CF attributes or the names {usual}): "
                f"name it {axis!r} or set its standard_name to {axis!r}"
            )
        names.append(str(name))
    return names[0], names[1]


def _sst_name(ds: xr.Dataset, variable: str | None) -> str:
    if variable is not None:
        if variable not in ds:
            raise ValueError(f"no variable {variable!r}: the dataset has {sorted(map(str, ds))}")
        return variable
    if "sea_surface_temperature" in ds:
        return "sea_surface_temperature"
    found = [
        str(n)
        for n, v in ds.data_vars.items()
        if "sea_surface" in str(v.attrs.get("standard_name", ""))
        and "temperature" in str(v.attrs.get("standard_name", ""))
    ]
    if len(found) != 1:
        raise ValueError(
            "say which variable holds the SST: prepare_l3(ds, variable='...') "
            f"(variables: {sorted(map(str, ds.data_vars))})"
        )
    return found[0]


def prepare_l3(
    l3: xr.Dataset,
    *,
    variable: str | None = None,
    sea: xr.DataArray | SeaSource = "land-mask",
    min_quality: int = 5,
    quality: str | None = "quality_level",
    implausible: Implausible = "mask",
) -> xr.Dataset:
    """Any gridded L3 SST product (one day or a time cube, no L4) as a clean, checked dataset.

    The counterpart of :func:`prepare_day` for a product without its L4: the units are read
    and converted to degC, every kept value is checked as in :func:`check_sst`, the quality
    levels filter the observations when the product has them, and the open sea comes from a
    mask instead of the L4 flags.

    Parameters
    ----------
    l3 : xarray.Dataset
        The product, dims ``([time,] lat, lon)`` under any names that CF attributes or the
        usual names (``lat``/``latitude``, ``lon``/``longitude``) identify; 1-D axes.
    variable : str, optional
        The SST variable; default ``sea_surface_temperature``, else the one variable whose
        ``standard_name`` names a sea-surface temperature. It needs a ``units`` attribute.
    sea : bool DataArray (lat, lon), ``"land-mask"`` or ``"observed"``
        Where the open sea is. ``"land-mask"`` (default): the 1 km GLOBE mask of
        ``global-land-mask`` at each pixel (lakes are land). ``"observed"``: pixels observed
        on at least one day of the cube (never observed = not sea: right on land, wrong
        under a cloud that never moves). A DataArray: your own mask on the same grid.
    min_quality : int, default 5
        Keep ``quality >= min_quality`` when the product has a ``quality`` variable.
    quality : str or None, default ``"quality_level"``
        The quality variable (ignored when absent); None keeps every value.
    implausible : {"mask", "raise"}
        What to do with a few implausible values (see :func:`check_sst`).

    Returns
    -------
    xarray.Dataset
        ``SST_L3S`` (degC, dims ``([time,] latitude, longitude)``, latitude ascending; NaN on
        the sea = no observation, a gap to fill) and ``sea`` (bool ``(latitude, longitude)``),
        the input of :func:`eogapfill.regrid.to_healpix` with ``variables=("SST_L3S",)``; one
        day of a cube is ``cube.isel(time=i)``.

    Raises
    ------
    ValueError
        Missing variable or coordinate, unknown or wrong units, a mask on another grid, many
        implausible values (a unit mix-up), or no observed sea pixel at all.
    """
    lat_name, lon_name = _lat_lon_names(l3)
    name = _sst_name(l3, variable)
    ds = l3.rename({lat_name: "latitude", lon_name: "longitude"})
    ds = ds.sortby("latitude")
    raw = ds[name]
    extra = [d for d in raw.dims if d not in ("time", "latitude", "longitude")]
    if extra:
        raise ValueError(
            f"{name!r} has dims {raw.dims}: expected ([time,] latitude, longitude); "
            f"select one value of {extra} first"
        )
    raw = raw.transpose(*[d for d in ("time", "latitude", "longitude") if d in raw.dims])
    if raw.attrs.get("units") is None:
        raise ValueError(
            f"{name!r} has no 'units' attribute: set it, e.g. ds[{name!r}].attrs['units'] = "
            "'kelvin'"
        )
    degc = to_celsius(raw, check=False)
    use_quality = quality is not None and quality in ds
    kept = degc.notnull()
    if use_quality:
        level = ds[quality]
        if not 0 <= min_quality <= 5:
            raise ValueError(f"min_quality must be in 0..5 (5 = best), got {min_quality}")
        kept = kept & (level >= min_quality)
    sea_mask_ = _l3_sea(ds, sea, kept)
    kept = kept & sea_mask_
    sst = _check(
        degc.where(kept),
        name=name,
        raw=raw.where(kept),
        units=str(raw.attrs["units"]),
        implausible=implausible,
    )
    if not bool(sst.notnull().any()):
        raise ValueError(
            f"{name!r} has no observed sea pixel (after the quality filter "
            f"{'>= ' + str(min_quality) if use_quality else 'none'} and the sea mask): check "
            "the box, the quality variable or the mask"
        )
    filtered = f"{quality} >= {min_quality}" if use_quality else "no quality variable"
    sst.attrs.update(
        long_name=f"observed SST ({filtered}, open sea); NaN = no observation",
        units="degC",
    )
    keep = {k: v for k, v in l3.attrs.items() if k in ("title", "source", "institution")}
    return xr.Dataset(
        {"SST_L3S": sst, "sea": sea_mask_},
        attrs={
            **keep,
            "sea_source": sea if isinstance(sea, str) else "given mask",
            "quality_filter": filtered,
        },
    )


def _l3_sea(ds: xr.Dataset, sea: xr.DataArray | SeaSource, kept: xr.DataArray) -> xr.DataArray:
    """The open-sea mask (bool, (latitude, longitude)) of :func:`prepare_l3`."""
    lat, lon = ds["latitude"].values, ds["longitude"].values
    if isinstance(sea, xr.DataArray):
        lat_name, lon_name = _lat_lon_names(sea.to_dataset(name="sea"))
        given = sea.rename({lat_name: "latitude", lon_name: "longitude"}).sortby("latitude")
        if given.dtype != bool:
            raise ValueError(f"sea must be a boolean mask (True = open sea), got {given.dtype}")
        if given.shape != (lat.size, lon.size) or not (
            np.allclose(given["latitude"], lat) and np.allclose(given["longitude"], lon)
        ):
            raise ValueError("the sea mask is not on the product's lat/lon grid")
        out = given.drop_vars([c for c in given.coords if c not in ("latitude", "longitude")])
    elif sea == "land-mask":
        out = xr.DataArray(
            ocean_at(lat, lon),
            coords={"latitude": ds["latitude"], "longitude": ds["longitude"]},
            dims=("latitude", "longitude"),
        )
    elif sea == "observed":
        out = kept.any("time") if "time" in kept.dims else kept
    else:
        raise ValueError(f"sea must be 'land-mask', 'observed' or a boolean DataArray, got {sea!r}")
    out = out.astype(bool).rename("sea")
    out.attrs = {"long_name": "open sea", "source": str(sea) if isinstance(sea, str) else "given"}
    return out
