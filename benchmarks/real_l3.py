"""Real L3 sea-surface temperature cases: satellite observations with their own clouds.

Each case is a small netCDF cube ``(time, lat, lon)`` of a real gridded product over one
sea at the product's own resolution: ``alboran`` (AVHRR L3, 0.02 deg, 10 days),
``alboran_l3s`` (Copernicus Marine MED L3S, 0.0625 deg, 92 days) and three
single nights of Sentinel-3 SLSTR L2 gridded at about 0.01 deg (north-east Atlantic,
Norwegian Sea, western Mediterranean). Clouds are where ``sea_surface_temperature`` is NaN
over the sea seen by the instrument (``sea_mask == 1``; 2 flags sea outside the swath). The
variable is stored as the products store it (int16, ``scale_factor`` 0.01 K, ``add_offset``
273.15 K) and opens in kelvin. Origin, licence and citation of every file: ``benchmarks/data/real_l3/SOURCE.md`` and
each file's global attributes.

The files are looked up, in this order, in ``$EOGAPFILL_REAL_L3``, in
``benchmarks/data/real_l3/`` and in ``../shared/data/real_l3/`` beside the repository; a
missing file raises a ``FileNotFoundError`` that says where to put it.

Usage::

    python benchmarks/real_l3.py            # per case: days, resolution, box, clear fraction
    python benchmarks/real_l3.py --build-alboran SRC.nc   # rebuild the Alboran cube from
                                                          # the DINEOF example file (SOURCE.md)
    python benchmarks/real_l3.py --build-slstr DIR        # rebuild the SLSTR cases from the
                                                          # EUMETSAT module's Zarr stores
    python benchmarks/real_l3.py --build-med-l3s SRC.nc   # rebuild the 92-day MED L3S cube
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import xarray as xr

HERE = Path(__file__).resolve().parent
ENV_DIR = "EOGAPFILL_REAL_L3"
SEARCH_DIRS = (HERE / "data" / "real_l3", HERE.parent.parent / "shared" / "data" / "real_l3")

SST = "sea_surface_temperature"
MASK = "sea_mask"
SCALE_K = 0.01
OFFSET_K = 273.15
FILL_INT16 = np.int16(-32768)


@dataclass(frozen=True)
class Case:
    """One real L3 case.

    Attributes
    ----------
    file : str
        File name, looked up in the data folders (module docstring).
    box : tuple of float
        ``(lon0, lon1, lat0, lat1)`` in degrees east / north, grid-cell centres.
    description : str
        Sea, sensor, product and dates in one line.
    """

    file: str
    box: tuple[float, float, float, float]
    description: str


CASES: dict[str, Case] = {
    "alboran": Case(
        file="alboran_avhrr_metopb_20170514.nc",
        box=(-5.99, 0.01, 34.01, 38.01),
        description=(
            "Alboran Sea (western Mediterranean), AVHRR Metop-B L3 from Copernicus Marine, "
            "0.02 deg, 10 days 2017-05-14..24 (2017-05-22 absent)"
        ),
    ),
    "alboran_l3s": Case(
        file="alboran_med_l3s_20220601.nc",
        box=(-5.625, -3.125, 34.8125, 37.25),
        description=(
            "Alboran Sea (western Mediterranean), Copernicus Marine MED L3S NRT multi-sensor "
            "night-time SST (CNR), 0.0625 deg, 92 days 2022-06-01..08-31"
        ),
    ),
    "ne_atlantic_slstr": Case(
        file="ne_atlantic_slstr_20230420.nc",
        box=(-21.0, -15.0, 56.0, 60.0),
        description=(
            "Iceland Basin (north-east Atlantic), Sentinel-3 SLSTR L2 WST gridded, about "
            "0.01 deg, one night 2023-04-20 21:56 UTC"
        ),
    ),
    "norwegian_sea_slstr": Case(
        file="norwegian_sea_slstr_20230413.nc",
        box=(-6.0, 2.0, 69.0, 73.0),
        description=(
            "Norwegian Sea (Lofoten Basin, west), Sentinel-3 SLSTR L2 WST gridded, about "
            "0.012 deg, one night 2023-04-13 20:40 UTC"
        ),
    ),
    "nw_med_slstr": Case(
        file="nw_med_slstr_20240510.nc",
        box=(2.0, 8.0, 37.0, 41.0),
        description=(
            "Algerian-Provencal basin (western Mediterranean), Sentinel-3 SLSTR L2 WST "
            "gridded, about 0.011 deg, one night 2024-05-10 21:44 UTC"
        ),
    ),
}

#: The SLSTR cases: the Zarr store of each in the source folder (SOURCE.md).
SLSTR_STORES = {
    "ne_atlantic_slstr": "NE_atl.zarr",
    "norwegian_sea_slstr": "Norwegian_Sea.zarr",
    "nw_med_slstr": "NW_med.zarr",
}
SLSTR_REPO = "https://github.com/eumetsat/sea-surface-temperature-applications"
SLSTR_PATH = "2_methodological_approaches/Quality_and_cloud/preprocessed"
SLSTR_COMMIT = "99d43daa33ffb96a68b4c48774161e0e20e2bb02"


def data_dirs() -> list[Path]:
    """Folders searched for the case files, in order."""
    env = os.environ.get(ENV_DIR)
    return ([Path(env)] if env else []) + list(SEARCH_DIRS)


def case_path(name: str) -> Path:
    """Path of a case's file.

    Raises
    ------
    KeyError
        Unknown case (the message lists the known ones).
    FileNotFoundError
        The file is in none of :func:`data_dirs` (the message names them).
    """
    if name not in CASES:
        raise KeyError(f"unknown real L3 case {name!r}; known cases: {sorted(CASES)}")
    dirs = data_dirs()
    for folder in dirs:
        path = folder / CASES[name].file
        if path.is_file():
            return path
    where = ", ".join(str(d) for d in dirs)
    raise FileNotFoundError(
        f"{CASES[name].file} (case {name!r}) is in none of: {where}. Put it in one of them "
        f"or set {ENV_DIR}; benchmarks/data/real_l3/SOURCE.md says where it comes from and "
        "how to rebuild it."
    )


def open_case(name: str) -> xr.Dataset:
    """Open a case lazily (one Dask chunk per day).

    Returns
    -------
    xarray.Dataset
        ``sea_surface_temperature`` (time, lat, lon) in kelvin, NaN where not observed;
        ``sea_mask`` (lat, lon): 0 land, 1 sea seen by the instrument, 2 sea outside the
        swath (SLSTR cases only); lat/lon 1-D ascending, degrees.
    """
    return xr.open_dataset(case_path(name), chunks={"time": 1})


def clear_fraction(ds: xr.Dataset) -> xr.DataArray:
    """Fraction of the sea pixels in the swath (``sea_mask == 1``) observed on each day,
    shape (time,)."""
    sea = ds[MASK] == 1
    observed = ds[SST].notnull() & sea
    return (observed.sum(("lat", "lon")) / sea.sum()).rename("clear_fraction")


def day_to_day_rms(ds: xr.Dataset) -> list[tuple[str, str, int, float]]:
    """RMS difference (K) of consecutive days on the sea pixels clear on both.

    Returns
    -------
    list of (day, next day, pixels, rms)
        One row per consecutive pair of the cube's days (a missing day makes the pair
        two days apart); rms is NaN when no pixel is clear on both.
    """
    sst = ds[SST].where(ds[MASK] == 1).values
    days = np.datetime_as_string(ds["time"].values, unit="D")
    rows = []
    for k in range(len(days) - 1):
        diff = sst[k + 1] - sst[k]
        both = np.isfinite(diff)
        rms = float(np.sqrt(np.mean(diff[both] ** 2))) if both.any() else float("nan")
        rows.append((str(days[k]), str(days[k + 1]), int(both.sum()), rms))
    return rows


def encode_sst(sst_k: np.ndarray) -> np.ndarray:
    """Kelvin to the products' int16 (0.01 K steps from 273.15 K), NaN to the fill value.

    Parameters
    ----------
    sst_k : numpy.ndarray
        Temperatures in kelvin, NaN where not observed; any shape.

    Raises
    ------
    ValueError
        A finite value outside what int16 at 0.01 K can hold (-54.5 to 54.5 degC): the
        input is not in kelvin.
    """
    finite = np.isfinite(sst_k)
    steps = np.round((np.where(finite, sst_k, OFFSET_K) - OFFSET_K) / SCALE_K)
    if np.abs(steps).max(initial=0) > 32767 - 1:
        raise ValueError("temperatures out of the int16 range at 0.01 K: give kelvin")
    return np.where(finite, steps, FILL_INT16).astype(np.int16)


def case_dataset(
    sst_k: np.ndarray,
    sea: np.ndarray,
    time: np.ndarray,
    lat: np.ndarray,
    lon: np.ndarray,
    attrs: dict[str, str],
) -> xr.Dataset:
    """A case cube in the layout of :func:`open_case`, ready for :func:`write_case`.

    Parameters
    ----------
    sst_k : numpy.ndarray, shape (time, lat, lon)
        Kelvin, NaN where not observed.
    sea : numpy.ndarray of bool, shape (lat, lon)
        True over the sea.
    time, lat, lon : numpy.ndarray
        1-D coordinates; lat and lon strictly ascending, degrees.
    attrs : dict
        Global attributes; must hold ``source``, ``licence`` and ``citation``.

    Raises
    ------
    ValueError
        Coordinates not ascending, shapes that do not match, or attributes missing.
    """
    for axis, values in (("lat", lat), ("lon", lon)):
        if values.ndim != 1 or not np.all(np.diff(values) > 0):
            raise ValueError(f"{axis} must be 1-D and strictly ascending; reverse the axis")
    if sst_k.shape != (len(time), len(lat), len(lon)) or sea.shape != sst_k.shape[1:]:
        raise ValueError(
            f"shapes: sst {sst_k.shape}, sea {sea.shape}; expected (time, lat, lon) and "
            f"(lat, lon) with time={len(time)}, lat={len(lat)}, lon={len(lon)}"
        )
    missing = {"source", "licence", "citation"} - set(attrs)
    if missing:
        raise ValueError(f"global attributes missing: {sorted(missing)}")
    sst_attrs = {
        "standard_name": "sea_surface_temperature",
        "long_name": "sea surface temperature",
        "units": "kelvin",
        "comment": "NaN over the sea: not observed (clouds, or removed by the product's QC)",
    }
    mask_attrs = {
        "long_name": "sea mask",
        "flag_values": np.array([0, 1], dtype=np.int8),
        "flag_meanings": "land sea",
    }
    return xr.Dataset(
        {
            SST: (("time", "lat", "lon"), sst_k.astype(np.float64), sst_attrs),
            MASK: (("lat", "lon"), sea.astype(np.int8), mask_attrs),
        },
        coords={
            "time": ("time", time),
            "lat": ("lat", lat, {"standard_name": "latitude", "units": "degrees_north"}),
            "lon": ("lon", lon, {"standard_name": "longitude", "units": "degrees_east"}),
        },
        attrs=dict(attrs),
    )


def write_case(ds: xr.Dataset, path: Path) -> None:
    """Write a case cube as netCDF4, zlib level 9, SST as scaled int16 (0.01 K)."""
    encoding = {
        SST: {
            "dtype": "int16",
            "scale_factor": SCALE_K,
            "add_offset": OFFSET_K,
            "_FillValue": FILL_INT16,
            "zlib": True,
            "complevel": 9,
            "shuffle": True,
            "chunksizes": (1, ds.sizes["lat"], ds.sizes["lon"]),
        },
        MASK: {"zlib": True, "complevel": 9},
        **{
            name: {
                "zlib": True,
                "complevel": 9,
                "_FillValue": np.int8(-128),
                "chunksizes": (1, ds.sizes["lat"], ds.sizes["lon"]),
            }
            for name in ds.data_vars
            if name not in (SST, MASK)
        },
        "lat": {"dtype": "float32", "_FillValue": None},
        "lon": {"dtype": "float32", "_FillValue": None},
        "time": {"units": "seconds since 1981-01-01", "calendar": "standard", "dtype": "int64"},
    }
    ds.to_netcdf(path, format="NETCDF4", engine="netcdf4", encoding=encoding)


ALBORAN_ATTRS = {
    "title": "Alboran Sea, AVHRR Metop-B L3 SST, 2017-05-14 to 2017-05-24 (real clouds)",
    "source": (
        "AVHRR on Metop-B, L3 SST downloaded from the Copernicus Marine Service by GHER "
        "(University of Liege) for the DINEOF example 'alboranSST_small.nc', "
        "https://github.com/aida-alvera/DINEOF, SmallExample/alboranSST_small.nc, commit "
        "b702649b3fc574ecc112589bd83c9419e9f9f7f4; converted from degC float32 to kelvin "
        "int16 (0.01 K), no value changed beyond that rounding"
    ),
    "licence": (
        "Copernicus Marine Service data licence: free use and redistribution with "
        "attribution ('Generated using E.U. Copernicus Marine Service Information'); the "
        "DINEOF repository that carries the file is GPL-2.0"
    ),
    "citation": (
        "E.U. Copernicus Marine Service Information. Alvera-Azcarate, A., Barth, A., "
        "Rixen, M., Beckers, J.-M. (2005) Ocean Modelling 9, 325-346, "
        "doi:10.1016/j.ocemod.2004.08.001 (DINEOF; the example data)"
    ),
    "sea_mask_source": "the 'mask' variable of the DINEOF example file (GHER)",
}


def build_alboran(src: Path, out: Path) -> None:
    """Rebuild the Alboran cube from the DINEOF example file (variables SST, mask)."""
    with xr.open_dataset(src) as raw:
        if raw["SST"].attrs.get("units") != "degree Celsius":
            raise ValueError(f"{src}: SST units {raw['SST'].attrs.get('units')!r}, expected degC")
        ds = case_dataset(
            raw["SST"].values.astype(np.float64) + OFFSET_K,
            raw["mask"].values == 1,
            raw["time"].values,
            raw["lat"].values.astype(np.float64),
            raw["lon"].values.astype(np.float64),
            ALBORAN_ATTRS,
        )
    write_case(ds, out)


MED_L3S_ATTRS = {
    "title": "Alboran Sea, Copernicus Marine MED L3S NRT SST, 2022-06-01 to 2022-08-31",
    "source": (
        "Copernicus Marine product SST_MED_SST_L3S_NRT_OBSERVATIONS_010_012, dataset "
        "SST_MED_SST_L3S_NRT_OBSERVATIONS_010_012_a (CNR ISMAR GOS, multi-sensor L3S, "
        "0.0625 deg, night-time collation 19-07 UTC), subset by EUMETSAT/WEkEO for "
        "https://github.com/wekeo/liege-colloquium-23, 2_methodological_approaches/dineof/"
        "SST_MED_SST_L3S_NRT_OBSERVATIONS_010_012_a_example.nc, commit "
        "def14de468ce6327f9a4f7cacd7cd189c183394e; values unchanged (int16 at 0.01 K as in "
        "the product)"
    ),
    "licence": (
        "Copernicus Marine Service data licence: free use and redistribution with "
        "attribution ('Generated/provided by Copernicus Marine Service and CNR - ISMAR "
        "ROME'); the repository that carries the file is MIT (EUMETSAT)"
    ),
    "citation": (
        "E.U. Copernicus Marine Service Information, doi:10.48670/moi-00171; Buongiorno "
        "Nardelli, B., Tronconi, C., Pisano, A., Santoleri, R. (2013) Remote Sens. Environ. "
        "129, 1-16, doi:10.1016/j.rse.2012.10.012"
    ),
    "sea_mask_source": (
        "pixels observed on at least one of the 92 days (the product's own land and "
        "coast mask; the GLOBE mask adds 51 coastal pixels the product never fills)"
    ),
}


def build_med_l3s(src: Path, out: Path) -> None:
    """Rebuild the 92-day Alboran cube from the WEkEO DINEOF example file (MED L3S NRT)."""
    with xr.open_dataset(src) as raw:
        sst = raw["sea_surface_temperature"]
        if sst.attrs.get("units") != "kelvin":
            raise ValueError(f"{src}: SST units {sst.attrs.get('units')!r}, expected kelvin")
        values = sst.values.astype(np.float64)
        ds = case_dataset(
            values,
            np.isfinite(values).any(axis=0),
            raw["time"].values,
            raw["lat"].values.astype(np.float64),
            raw["lon"].values.astype(np.float64),
            MED_L3S_ATTRS,
        )
        origin = raw["source_of_sst"]
        ds["source_of_sst"] = (
            ("time", "lat", "lon"),
            np.where(np.isfinite(origin.values), origin.values, -128).astype(np.int8),
            {"long_name": "SST product origin", "comment": origin.attrs.get("comment", "")},
        )
    write_case(ds, out)


def _slstr_attrs(name: str, store: str, scene: str) -> dict[str, str]:
    return {
        "title": f"{CASES[name].description} (real clouds)",
        "source": (
            f"Sentinel-3 SLSTR Level-2 WST (SL_2_WST) scene starting {scene}, "
            "SST_skin_Q4plus (skin SST where quality level >= 4), reprojected onto a "
            f"lat/lon grid by EUMETSAT for {SLSTR_REPO}, {SLSTR_PATH}/{store}, commit "
            f"{SLSTR_COMMIT}; cut to the box {CASES[name].box} (lon0, lon1, lat0, lat1), "
            "latitude reversed to ascending, stored as int16 at 0.01 K"
        ),
        "licence": (
            "Copernicus Sentinel data: free, full and open access, redistribution allowed "
            "with attribution ('Contains modified Copernicus Sentinel data [year], processed "
            "by EUMETSAT'); the repository that carries the file is MIT (EUMETSAT)"
        ),
        "citation": (
            f"Contains modified Copernicus Sentinel data {scene[7:11]}, processed by EUMETSAT; "
            "EUMETSAT sea-surface-temperature-applications training module, " + SLSTR_REPO
        ),
        "sea_mask_source": (
            "GLOBE 1 km land/ocean mask (global-land-mask) or an SST value; sea outside "
            "the swath (no brightness temperature) is flagged 2"
        ),
    }


def build_slstr(name: str, folder: Path, out: Path) -> None:
    """Rebuild one SLSTR case from the EUMETSAT training module's Zarr store.

    Parameters
    ----------
    name : str
        A key of :data:`SLSTR_STORES`.
    folder : Path
        The module's ``preprocessed`` folder (holds ``<store>.zarr``).
    out : Path
        The netCDF file to write.
    """
    import pandas as pd

    from eogapfill.landmask import ocean_at

    store = SLSTR_STORES[name]
    lon0, lon1, lat0, lat1 = CASES[name].box
    with xr.open_zarr(folder / store) as raw:
        scene = str(raw.attrs["start_date"])
        cut = raw.isel(time=0).sortby("lat_intern")
        cut = cut.sel(lat_intern=slice(lat0, lat1), lon_intern=slice(lon0, lon1)).load()
    lat = cut["lat_intern"].values.astype(np.float64)
    lon = cut["lon_intern"].values.astype(np.float64)
    sst = cut["SST_skin_Q4plus"].values.astype(np.float64)
    swath = np.isfinite(cut["brightness_temperature_channel_1"].values)
    water = ocean_at(lat, lon) | np.isfinite(sst)
    sea = np.where(water, np.where(swath, 1, 2), 0)
    time = np.array(
        [pd.to_datetime(scene, format="%d-%b-%Y %H:%M:%S.%f").floor("s")], "datetime64[ns]"
    )
    ds = case_dataset(sst[None], sea == 1, time, lat, lon, _slstr_attrs(name, store, scene))
    ds[MASK] = (("lat", "lon"), sea.astype(np.int8), ds[MASK].attrs)
    ds[MASK].attrs.update(
        flag_values=np.array([0, 1, 2], dtype=np.int8),
        flag_meanings="land sea sea_outside_swath",
    )
    write_case(ds, out)


def resolution_deg(ds: xr.Dataset) -> tuple[float, float]:
    """Median grid steps (dlat, dlon) in degrees."""
    return float(np.median(np.diff(ds["lat"]))), float(np.median(np.diff(ds["lon"])))


def summary(name: str) -> str:
    """One case in a few lines: days, resolution, box, clear fraction and day-to-day RMS."""
    with open_case(name) as ds:
        dlat, dlon = resolution_deg(ds)
        clear = clear_fraction(ds).values
        pairs = day_to_day_rms(ds)
        days = np.datetime_as_string(ds["time"].values, unit="D")
        lines = [
            f"{name}: {CASES[name].description}",
            f"  {len(days)} days {days[0]}..{days[-1]}, grid {ds.sizes['lat']} x "
            f"{ds.sizes['lon']} at {dlat:.4f} x {dlon:.4f} deg, centres lon "
            f"{float(ds['lon'][0]):.3f}..{float(ds['lon'][-1]):.3f} lat "
            f"{float(ds['lat'][0]):.3f}..{float(ds['lat'][-1]):.3f}, "
            f"sea {int((ds[MASK] == 1).sum())} pixels",
        ]
    lines.append("  day         clear  next day    both-clear  rms K")
    for k, day in enumerate(days):
        tail = ""
        if k < len(pairs):
            _, nxt, n, rms = pairs[k]
            tail = f"  {nxt}  {n:10d}  {rms:.3f}"
        lines.append(f"  {day}  {clear[k]:.3f}{tail}")
    return "\n".join(lines)


def main() -> None:
    """Print every available case, or rebuild the Alboran file (``--build-alboran``)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--build-alboran", type=Path, metavar="SRC")
    parser.add_argument("--build-slstr", type=Path, metavar="PREPROCESSED")
    parser.add_argument("--build-med-l3s", type=Path, metavar="SRC")
    parser.add_argument("--out", type=Path, default=SEARCH_DIRS[0] / CASES["alboran"].file)
    args = parser.parse_args()
    if args.build_alboran:
        build_alboran(args.build_alboran, args.out)
        print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.2f} MB)")
        return
    if args.build_med_l3s:
        out = SEARCH_DIRS[0] / CASES["alboran_l3s"].file
        build_med_l3s(args.build_med_l3s, out)
        print(f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB)")
        return
    if args.build_slstr:
        for name in SLSTR_STORES:
            out = SEARCH_DIRS[0] / CASES[name].file
            build_slstr(name, args.build_slstr, out)
            print(f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB)")
        return
    for name in CASES:
        try:
            print(summary(name))
        except FileNotFoundError as err:
            print(f"{name}: missing: {err}")


if __name__ == "__main__":
    main()
