"""The embedded sample: generated SST days in the Copernicus Marine schema, offline.

Every chapter, command and test of the package can run without a network because this module
generates realistic L3S and L4 days, with exactly the variables, units and flags of the
Copernicus Marine products (``sea_surface_temperature`` and ``quality_level`` for L3S;
``analysed_sst``, ``mask``, ``sea_ice_fraction`` and ``analysis_error`` for L4), and writes them
as Zarr stores laid out like the ARCO stores (format 2, consolidated metadata).

How a day is made
-----------------
1. **Base.** A real analysis: NOAA OISST v2.1 of 2017-07-29 on its 0.25 degree grid (public
   domain, Huang et al. 2021, doi:10.1175/JCLI-D-20-0166.1), shipped with the package as a
   compressed netCDF file. Its fronts, currents (Gulf Stream, Kuroshio, Agulhas, the Antarctic
   Circumpolar Current), upwelling and sea ice are real.
2. **Coastlines.** The OISST water mask, refined at the target resolution with the 1 km GLOBE
   land mask of ``global-land-mask`` (shipped with that package; nothing is downloaded): a cell
   is sea when at least half of it is water and it touches OISST's ocean. Water bodies that
   OISST analyses but that do not connect to the world ocean, even across straits of a few
   tens of km (the Black Sea does), are lakes (flag 4): the Caspian Sea and the Great Lakes.
3. **Weather of the ocean.** The base is stirred by a random divergence-free velocity field
   (large eddies of a few hundred km renewed over about 8 days, small ones of about 100 km
   renewed over 3 days, all stronger where the base has strong fronts), so that fronts meander
   and shed filaments; a smooth large-scale anomaly (about 0.4 degC, scales of 1000+ km,
   12 days) and a seasonal cycle (zonal, by hemisphere) are added. The random fields evolve
   smoothly with the date.
4. **Weather of the atmosphere.** Diurnal warming in calm, sunny weather: patches of a few
   hundred to 1500 km (a random field thresholded so that about 40 % of the ocean warms),
   renewed every day (consecutive days correlate by about 0.4), up to 2.5 degC (saturating),
   strongest under the summer sun (noon insolation by latitude and date); plus a smaller
   signed synoptic part, air-sea flux events (wind mixing, cooling) of 300-1500 km lasting
   1-3 days (0.35 degC rms). On average it warms the sea by about 0.2 degC. It fades near
   freezing: no weather in the ice pack, and it moves neither fronts nor ice. With it the days
   differ as real SST does: the day-to-day RMS difference on cells of best quality clear on
   both days is 0.50-0.54 degC for L3S (0.25 degree, global, June; 0.66 in the
   Mediterranean) and 0.49 degC for L4, against 0.35-0.60 K on 10 AVHRR days of the Alboran
   Sea at 0.02 degree and a median of 0.74 K on 92 days of the Copernicus Marine
   Mediterranean L3S (the real cases of ``benchmarks/data/real_l3``, whose differences
   include retrieval noise and overpass times). Without it the sample changed by 0.20 degC
   (L3S) and 0.15 degC (L4).
5. **Small scales.** A non-Gaussian texture (a saturated random field with a red spectrum,
   scales from about 2 degrees down to the grid) whose amplitude grows with the local
   temperature gradient: it is strongest in western-boundary currents and along fronts.
   Base + stirring + anomaly + weather + texture is the day's "truth".
6. **Sea ice** where the large-scale temperature is near freezing (-1.8 degC):
   ``sea_ice_fraction``, and ``mask = 9`` (sea and ice) where it exceeds 0.15.
7. **L4** ``analysed_sst`` is the truth smoothed over about 13 km (an analysis is smoother than
   the ocean), with an ``analysis_error`` that grows under clouds and along fronts.
8. **L3S.** Clouds are a thresholded random field with a power-law spectrum (so cloud objects
   of all sizes, from single pixels to ocean-basin systems), zonally stretched, more frequent at
   high latitudes and in the tropical convergence zone; each day covers a different fraction,
   between 22 and 40 % of the open ocean (area weighted). Clear ocean gets the truth plus
   sensor noise (0.1 K) with ``quality_level`` 5; a band along cloud and ice edges gets levels
   2 to 4 with a cold bias (cloud contamination) and more noise, so that keeping
   ``quality_level == 5`` removes the edges, as with the real product. Land, lakes, sea ice
   and clouds have no value (NaN) and ``quality_level`` 0.

Everything is deterministic: the same ``(date, seed, resolution)`` gives the same bytes.
The fields that move the fronts and the weather live on the 0.25 degree grid (the weather is
drawn on a 1 degree grid) whatever the resolution, so all resolutions show the same ocean; the
texture, the clouds and the noise are drawn on each grid.
One day takes a few seconds at 0.25 degree and about 10 s at 0.1 degree (2 busy CPU cores,
under 1 GB of memory); the first call of a process also reads the land mask (about 10 s).

Modules
-------
:mod:`~eogapfill.sample.base` the grid, the OISST base, coastlines and lakes;
:mod:`~eogapfill.sample.fields` grid operations and random fields;
:mod:`~eogapfill.sample.ocean` the ocean of a day (:func:`generate_day`);
:mod:`~eogapfill.sample.schema` the Copernicus Marine variables and attributes;
:mod:`~eogapfill.sample.store` the Zarr stores and their cache.

Limits
------
The sample is a generated field over a real base: good for learning, testing and benchmarking
code, **not for science conclusions**. Its stirring is a random kinematic deformation, not
ocean dynamics; a single base day stands for every date (the seasonal cycle is a zonal
correction, and the sea-ice edge barely moves with the seasons); lakes never freeze; clouds
are independent from one day to the next and from the ocean below (diurnal warming is not
tied to clear skies); the OISST base is itself a smooth optimal-interpolation analysis, so
scales below about 100 km come from the texture model, not from observations. The 0.1 degree
grid refines the coastlines but its base is the 0.25 degree field interpolated.

Examples
--------
>>> l3s, l4 = generate_day("2024-06-01", resolution=1.0)
>>> l3s["sea_surface_temperature"].dims
('time', 'latitude', 'longitude')
>>> l4["analysed_sst"].attrs["units"]
'kelvin'
"""

from __future__ import annotations

from eogapfill.sample.base import (
    OISST_REFERENCE,
    RESOLUTIONS,
    SAMPLE_VERSION,
    DateLike,
    oisst_base,
    sample_grid,
)
from eogapfill.sample.ocean import generate_day
from eogapfill.sample.store import (
    PRODUCTS,
    SAMPLE_DAYS,
    SAMPLE_START,
    cache_dir,
    sample_store,
    write_sample,
)

__all__ = [
    "OISST_REFERENCE",
    "PRODUCTS",
    "RESOLUTIONS",
    "SAMPLE_DAYS",
    "SAMPLE_START",
    "SAMPLE_VERSION",
    "DateLike",
    "cache_dir",
    "generate_day",
    "oisst_base",
    "sample_grid",
    "sample_store",
    "write_sample",
]
