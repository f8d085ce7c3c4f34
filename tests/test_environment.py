"""One dependency list: pyproject.toml, environment.yml and binder/environment.yml agree.

``pyproject.toml`` is the source. The two conda files must list the same packages as its
dependencies and optional dependencies (all extras), under conda-forge names where those
differ, with the same version constraints; and the two conda files must be identical in what
they install.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

yaml = pytest.importorskip("yaml")
requirements = pytest.importorskip("packaging.requirements")

ROOT = Path(__file__).resolve().parents[1]
CONDA_FILES = [
    pytest.param(ROOT / "environment.yml", id="environment.yml"),
    pytest.param(ROOT / "binder" / "environment.yml", id="binder-environment.yml"),
]

#: conda-forge package -> PyPI distribution, where the names differ beyond case and -/_/.
CONDA_TO_PYPI = {
    "pytorch-cpu": "torch",
    "pytorch": "torch",
    "matplotlib-base": "matplotlib",
    "netcdf4": "netCDF4",
    "moto": "moto",  # pyproject asks for moto[server]; conda-forge's moto is the same package
}
#: What a PyPI requirement's extras add as separate conda packages.
EXTRA_PACKAGES = {("dask", "distributed"): "distributed"}
#: Conda entries that are the toolchain, not dependencies of the project.
CONDA_TOOLCHAIN = {"python", "pip"}
PROJECT = "eogapfill"


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pyproject() -> dict[str, str]:
    """Normalised name -> specifier of every requirement, extras included (self excluded)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lines = list(project.get("dependencies", []))
    for extra in project.get("optional-dependencies", {}).values():
        lines += extra
    wanted: dict[str, str] = {}
    for line in lines:
        req = requirements.Requirement(line)
        name = _norm(req.name)
        if name == PROJECT:
            continue
        _add(wanted, name, str(req.specifier), line)
        for extra in sorted(req.extras):
            if (name, extra) in EXTRA_PACKAGES:
                _add(wanted, _norm(EXTRA_PACKAGES[(name, extra)]), str(req.specifier), line)
    return wanted


def _add(found: dict[str, str], name: str, spec: str, line: str) -> None:
    if name in found and found[name] and spec and found[name] != spec:
        raise AssertionError(
            f"{name} is pinned twice in pyproject.toml: {found[name]!r} and {line!r}"
        )
    found[name] = found.get(name) or spec


def _conda_spec(entry: str) -> tuple[str, str]:
    """``"numpy>=1.26"`` -> ``("numpy", ">=1.26")``; conda's ``=x`` means ``==x``."""
    match = re.fullmatch(r"\s*([A-Za-z0-9_.\-]+)\s*(.*?)\s*", entry)
    if match is None:
        raise AssertionError(f"cannot read the conda entry {entry!r}")
    name, spec = match.groups()
    if re.fullmatch(r"=[^=].*", spec):
        spec = "=" + spec
    return name, spec.replace(" ", "")


def _conda(path: Path) -> dict[str, str]:
    """Normalised PyPI name -> specifier of everything a conda file installs (self excluded)."""
    return _conda_packages(yaml.safe_load(path.read_text()))


def _conda_packages(env: dict) -> dict[str, str]:
    found: dict[str, str] = {}
    for entry in env["dependencies"]:
        if isinstance(entry, dict):
            for line in entry.get("pip", []):
                if line.strip().startswith("-e") or line.strip() == ".":
                    continue  # the project itself
                req = requirements.Requirement(line)
                found[_norm(req.name)] = str(req.specifier)
            continue
        name, spec = _conda_spec(str(entry))
        if _norm(name) in CONDA_TOOLCHAIN:
            continue
        pypi = _norm(CONDA_TO_PYPI.get(_norm(name), name))
        found[pypi] = spec
    return found


def _same_spec(a: str, b: str) -> bool:
    return requirements.SpecifierSet(a) == requirements.SpecifierSet(b) if a and b else a == b


@pytest.mark.parametrize("path", CONDA_FILES)
def test_conda_file_lists_what_pyproject_lists(path: Path):
    wanted, listed = _pyproject(), _conda(path)
    missing = sorted(set(wanted) - set(listed))
    extra = sorted(set(listed) - set(wanted))
    assert not missing and not extra, (
        f"{path.relative_to(ROOT)} and pyproject.toml disagree: missing from the conda file "
        f"{missing}, not in pyproject.toml {extra} (pyproject.toml is the source; conda-forge "
        f"names are mapped with {CONDA_TO_PYPI})"
    )


@pytest.mark.parametrize("path", CONDA_FILES)
def test_conda_file_pins_what_pyproject_pins(path: Path):
    wanted, listed = _pyproject(), _conda(path)
    differ = {
        name: (wanted[name], listed[name])
        for name in sorted(set(wanted) & set(listed))
        if not _same_spec(wanted[name], listed[name])
    }
    assert not differ, (
        f"version constraints differ between pyproject.toml and {path.relative_to(ROOT)} "
        f"(name: (pyproject, conda)): {differ}"
    )


def test_binder_and_conda_environments_are_the_same():
    main, binder = _conda(ROOT / "environment.yml"), _conda(ROOT / "binder" / "environment.yml")
    assert main == binder, (
        "environment.yml and binder/environment.yml install different packages: "
        f"only in environment.yml {sorted(set(main) - set(binder))}, only in binder "
        f"{sorted(set(binder) - set(main))}, different pins "
        f"{ {k: (main[k], binder[k]) for k in set(main) & set(binder) if main[k] != binder[k]} }"
    )


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        pytest.param("numpy>=1.26", ("numpy", ">=1.26"), id="lower-bound"),
        pytest.param(
            "jupyter-book=1.0.4.post1", ("jupyter-book", "==1.0.4.post1"), id="conda-equals"
        ),
        pytest.param("python=3.11", ("python", "==3.11"), id="python"),
        pytest.param("ruff", ("ruff", ""), id="no-pin"),
    ],
)
def test_conda_entries_are_read_as_pip_specifiers(entry: str, expected: tuple[str, str]):
    assert _conda_spec(entry) == expected


def test_conda_names_map_to_pypi_names():
    env = {
        "dependencies": [
            "python=3.11",
            "pytorch-cpu>=2.4",
            "matplotlib-base>=3.8",
            "netcdf4",
            "moto>=5",
            "pip",
            {"pip": ["xdggs==0.6.0", "-e ."]},
        ]
    }
    assert _conda_packages(env) == {
        "torch": ">=2.4",
        "matplotlib": ">=3.8",
        "netcdf4": "",
        "moto": ">=5",
        "xdggs": "==0.6.0",
    }
