"""The book: chapters stored clean, every chapter runs, the HTML builds and renders.

How the chapters are executed (book/README.md has the long version): each chapter runs ONCE,
with papermill and small parameters, into a temporary copy of the book; the copy is then built
with ``jupyter-book build`` and ``execute_notebooks: "off"``, so the built pages show exactly
the outputs of those runs; finally each chapter page is opened in headless Chromium, which must
show every figure of the chapter and no error output.

The exercise solutions (python blocks inside the "Solution" dropdowns) are appended to the
copy of their chapter as hidden cells (tag ``remove-cell``), so they are run too.

Chromium runs offline (every host name fails to resolve): the pages must draw their figures,
mathematics and interactive plots from the build alone (``book/_ext/selfcontained.py``).
Selecting chapters (``-k 06_regrid_healpix``) executes and checks only those; the rest of the
book is built from its clean sources. A book-wide test executes every chapter.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
yaml = pytest.importorskip("yaml")

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
KERNEL = {"kernel_name": "python3", "language": "python"}
INLINE_BACKEND = "module://matplotlib_inline.backend_inline"

#: Parameters for the test runs, applied to each chapter that defines them in its cell tagged
#: ``parameters``: a 1 degree sample (the resolution the other tests use, so the sample is
#: generated once per session) and few iterations, to keep CI on 2 cores fast.
TEST_PARAMETERS: dict[str, object] = {
    "resolution": 1.0,
    "nside": 16,
    "region_nside": 32,
    "n_epochs": 3,
    "n_members": 2,
    "n_workers": 1,
    "threads_per_worker": 1,
}
#: The jupyter-book command line, run by this interpreter (the package has no ``__main__``).
JUPYTER_BOOK = "from jupyter_book.cli.main import main; main()"
#: Seconds allowed for one cell in the test runs.
CELL_TIMEOUT = 900
#: Chromium flags for a quiet, offline, headless run.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--host-resolver-rules=MAP * ~NOTFOUND",  # offline: no CDN, no network
]
#: Appended to a copy of each page: once the page has loaded (and its plots have had time to
#: draw), write into the DOM which output images the browser decoded (naturalWidth > 0) with
#: their alt text, and, for every canvas (bokeh draws in shadow DOMs), how many colours its
#: pixels have: a blank canvas has one or two (background, transparent).
PAGE_PROBE = """
<script>
window.addEventListener("load", function () {
  setTimeout(function () {
    var images = Array.from(document.querySelectorAll("div.cell_output img"));
    var report = images.map(function (img) {
      return {src: (img.getAttribute("src") || "").slice(0, 120), loaded: img.complete && img.naturalWidth > 0,
              width: img.naturalWidth, alt: img.getAttribute("alt") || ""};
    });
    document.body.setAttribute("data-image-probe", JSON.stringify(report));
    function canvases(root, found) {
      root.querySelectorAll("*").forEach(function (el) {
        if (el.tagName === "CANVAS") found.push(el);
        if (el.shadowRoot) canvases(el.shadowRoot, found);
      });
      return found;
    }
    var drawn = canvases(document, []).map(function (canvas) {
      var colours = new Set();
      try {
        var data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
        for (var i = 0; i < data.length && colours.size < 1000; i += 4) {
          colours.add((data[i] << 24 | data[i + 1] << 16 | data[i + 2] << 8 | data[i + 3]) >>> 0);
        }
      } catch (err) { return {width: canvas.width, height: canvas.height, colours: -1}; }
      return {width: canvas.width, height: canvas.height, colours: colours.size};
    });
    document.body.setAttribute("data-canvas-probe", JSON.stringify(drawn));
  }, 3000);
});
</script>
"""
#: The mime type of an interactive holoviews/hvplot output in an executed notebook (a plot also
#: has a text/plain repr; the output of the extension that loads the libraries has none).
INTERACTIVE_MIME = "application/vnd.holoviews_exec.v0+json"
#: Addresses that a self-contained page must not load from.
CDN_HOSTS = ("cdn.bokeh.org", "cdn.holoviz.org", "cdn.jsdelivr.net/npm/mathjax")
SOLUTION_BLOCK = re.compile(
    r":::\{admonition\} Solution\n(?:[^\n]*\n)*?```python\n(.*?)```", re.DOTALL
)
SKELETON = [
    ("an Overview section", r"^## Overview"),
    ("a Prerequisites section", r"^## Prerequisites"),
    ("the prerequisites table", r"\|\s*Concepts\s*\|\s*Importance\s*\|\s*Notes\s*\|"),
    ("a time to learn", r"Time to learn"),
    ("an Imports section", r"^## Imports"),
    ("a Summary section", r"^## Summary"),
    ("a What's next? part", r"^### What's next\?"),
    ("a Resources and references section", r"^## Resources and references"),
    ("an exercise as a tip admonition", r"\{admonition\} Exercise.*\n:class: tip"),
    ("a Solution dropdown", r"\{admonition\} Solution\n:class: dropdown"),
    ("key points", r"\{admonition\} Key points"),
    ("a citation", r"\{cite:(p|ps|t|ts)\}`"),
]


def _toc_files() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc.get("parts", []):
        files += [chapter["file"] for chapter in part["chapters"]]
    return files


def _chapters() -> list[str]:
    return [f for f in _toc_files() if (ROOT / f"{f}.ipynb").exists()]


CHAPTERS = _chapters()
CHAPTER_PARAMS = [pytest.param(f, id=Path(f).name) for f in CHAPTERS]


def _tags(cell) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


# --------------------------------------------------------------------------- stored notebooks


def test_toc_lists_every_notebook_and_nothing_missing():
    listed = _toc_files()
    missing = [
        f for f in listed if not any((ROOT / f"{f}{ext}").exists() for ext in (".ipynb", ".md"))
    ]
    assert not missing, f"_toc.yml lists files that do not exist: {missing}"
    stored = sorted(f"book/{p.stem}" for p in BOOK.glob("*.ipynb"))
    unlisted = [f for f in stored if f not in listed]
    assert not unlisted, f"notebooks in book/ missing from _toc.yml: {unlisted}"
    assert CHAPTERS, "no chapter notebook found in _toc.yml"


@pytest.mark.parametrize("chapter", CHAPTER_PARAMS)
def test_notebook_is_stored_clean(chapter: str):
    """No outputs, no execution counts, no kernelspec noise: the notebook is source only."""
    nb = nbformat.read(ROOT / f"{chapter}.ipynb", as_version=4)
    nbformat.validate(nb)
    assert set(nb.metadata) <= {"language_info"}, (
        f"{chapter}: notebook metadata {sorted(nb.metadata)}: keep only language_info "
        "(strip kernelspec and the rest, e.g. nbstripout --extra-keys 'metadata.kernelspec')"
    )
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert not cell.outputs, f"{chapter}: cell {i} has stored outputs; strip them"
            assert cell.execution_count is None, f"{chapter}: cell {i} has an execution count"
        assert set(cell.metadata) <= {"tags", "mystnb"}, (
            f"{chapter}: cell {i} metadata {dict(cell.metadata)}"
        )
        assert set(cell.metadata.get("mystnb", {})) <= {"image", "figure"}, (
            f"{chapter}: cell {i}: only the image and figure options of myst-nb belong in "
            f"'mystnb' metadata, got {dict(cell.metadata['mystnb'])}"
        )


@pytest.mark.parametrize("chapter", CHAPTER_PARAMS)
def test_notebook_follows_the_chapter_skeleton(chapter: str):
    nb = nbformat.read(ROOT / f"{chapter}.ipynb", as_version=4)
    markdown = "\n\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert re.search(r"^# \S", nb.cells[0].source, re.MULTILINE), f"{chapter}: no title first"
    lacking = [what for what, pattern in SKELETON if not re.search(pattern, markdown, re.MULTILINE)]
    assert not lacking, f"{chapter} lacks {', '.join(lacking)}"
    tagged = [c for c in nb.cells if "parameters" in _tags(c)]
    assert len(tagged) == 1, f"{chapter}: needs exactly one cell tagged 'parameters'"


# --------------------------------------------------------------------------- execution


def _copy_book(dest: Path) -> Path:
    """A copy of the book sources whose configuration does not execute anything."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    config.setdefault("execute", {})["execute_notebooks"] = "off"
    (dest / "_config.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    shutil.copy(ROOT / "_toc.yml", dest / "_toc.yml")
    shutil.copytree(
        BOOK,
        dest / "book",
        ignore=shutil.ignore_patterns(
            "_build", "outputs", ".ipynb_checkpoints", "*.zarr", "__pycache__"
        ),
    )
    return dest


def _append_solutions(path: Path) -> int:
    """Append each exercise solution as a hidden code cell; returns how many."""
    nb = nbformat.read(path, as_version=4)
    markdown = "\n\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    solutions = SOLUTION_BLOCK.findall(markdown)
    for k, source in enumerate(solutions):
        cell = nbformat.v4.new_code_cell(source.strip())
        cell.id = f"solution-{k}"
        cell.metadata["tags"] = ["remove-cell", "exercise-solution"]
        nb.cells.append(cell)
    nbformat.write(nb, path)
    return len(solutions)


def _declared_parameters(path: Path) -> set[str]:
    """Names assigned in the cell tagged ``parameters``."""
    nb = nbformat.read(path, as_version=4)
    names: set[str] = set()
    for cell in nb.cells:
        if "parameters" in _tags(cell):
            for node in ast.parse(cell.source).body:
                if isinstance(node, ast.Assign | ast.AnnAssign):
                    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                    names |= {t.id for t in targets if isinstance(t, ast.Name)}
    return names


def _execute(book: Path, chapter: str) -> str | None:
    """Run one chapter in place in the copy; return None, or what went wrong."""
    import papermill as pm

    path = book / f"{chapter}.ipynb"
    _append_solutions(path)
    declared = _declared_parameters(path)
    parameters = {k: v for k, v in TEST_PARAMETERS.items() if k in declared}
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MPLBACKEND", INLINE_BACKEND)  # figures inline, whatever the test session uses
        mp.setenv("PYDEVD_DISABLE_FILE_VALIDATION", "1")
        try:
            pm.execute_notebook(
                str(path),
                str(path),
                parameters=parameters,
                cwd=str(path.parent),
                progress_bar=False,
                execution_timeout=CELL_TIMEOUT,
                **KERNEL,
            )
        except pm.PapermillExecutionError:
            pass  # judged below: cells tagged raises-exception are allowed to fail
    nb = nbformat.read(path, as_version=4)
    nb.cells = [c for c in nb.cells if "papermill-error-cell-tag" not in _tags(c)]
    nbformat.write(nb, path)
    problems = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        errors = [o for o in cell.outputs if o.output_type == "error"]
        expected = "raises-exception" in _tags(cell)
        if errors and not expected:
            where = "exercise solution" if "exercise-solution" in _tags(cell) else f"cell {i}"
            trace = "\n".join(errors[0].get("traceback", []))
            trace = re.sub(r"\x1b\[[0-9;]*m", "", trace)
            problems.append(f"{where}:\n{cell.source}\n{trace[-4000:]}")
        if expected and not errors:
            problems.append(
                f"cell {i} is tagged raises-exception but did not raise:\n{cell.source}"
            )
    return "\n\n".join(problems) or None


@pytest.fixture(scope="session")
def book_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _copy_book(tmp_path_factory.mktemp("book"))


@pytest.fixture(scope="session")
def run_chapter(book_copy: Path) -> Callable[[str], str | None]:
    """Run a chapter once per session (memoised); returns its problems or None."""
    results: dict[str, str | None] = {}

    def run(chapter: str) -> str | None:
        if chapter not in results:
            try:
                results[chapter] = _execute(book_copy, chapter)
            except Exception as err:  # a dead kernel or a timeout: report it, do not rerun
                results[chapter] = f"{type(err).__name__}: {err}"
        return results[chapter]

    return run


@pytest.mark.book
@pytest.mark.slow
@pytest.mark.parametrize("chapter", CHAPTER_PARAMS)
def test_chapter_runs(chapter: str, run_chapter):
    problems = run_chapter(chapter)
    assert problems is None, f"{chapter} failed:\n{problems}"


# --------------------------------------------------------------------------- HTML


#: Tests about the whole book: when one of them is selected, every chapter is executed.
BOOK_WIDE_TESTS = {
    "test_book_builds_with_every_page_and_the_references",
    "test_a_page_screenshot_is_not_blank",
}


def _chapters_to_execute(session: pytest.Session) -> list[str]:
    """The chapters of the selected tests, or all of them when a book-wide test is selected."""
    chosen: set[str] = set()
    for item in session.items:
        if getattr(item, "originalname", item.name) in BOOK_WIDE_TESTS:
            return CHAPTERS
        callspec = getattr(item, "callspec", None)
        if callspec is not None and "chapter" in callspec.params:
            chosen.add(callspec.params["chapter"])
    return [c for c in CHAPTERS if c in chosen] or CHAPTERS


@pytest.fixture(scope="session")
def built_book(book_copy: Path, run_chapter, request: pytest.FixtureRequest) -> Path:
    """Build the executed copy with jupyter-book (warnings are errors); the html folder.

    Only the chapters of the selected tests are executed first (all of them for a book-wide
    test); the others are built from their clean sources, without outputs.
    """
    failed = [c for c in _chapters_to_execute(request.session) if run_chapter(c) is not None]
    if failed:
        pytest.fail(f"not building the book: these chapters fail to run: {failed}")
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            JUPYTER_BOOK,
            "build",
            str(book_copy),
            "--warningiserror",
            "--keep-going",
        ],
        capture_output=True,
        text=True,
        timeout=1200,
    )
    html = book_copy / "_build" / "html"
    if proc.returncode != 0:
        logs = "\n".join(p.read_text()[-3000:] for p in sorted((html / "reports").glob("*.log")))
        pytest.fail(
            f"jupyter-book build failed:\n{proc.stdout[-5000:]}\n{proc.stderr[-5000:]}\n{logs}"
        )
    return html


@pytest.mark.book
@pytest.mark.slow
def test_book_builds_with_every_page_and_the_references(built_book: Path):
    for page in _toc_files():
        assert (built_book / f"{page}.html").is_file(), f"no page for {page}"
    references = (built_book / "book" / "references.html").read_text()
    for doi in ("10.1051/0004-6361/202244566", "10.1086/427976", "10.1175/JCLI-D-20-0166.1"):
        assert doi in references, f"the references page lacks doi {doi}"


@pytest.mark.book
@pytest.mark.slow
def test_every_chapter_has_launch_and_repository_buttons(built_book: Path):
    """Binder and JupyterHub open the chapter's own notebook; the repository is linked."""
    from urllib.parse import quote

    import yaml

    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    repo = config["repository"]["url"].rstrip("/")
    branch = config["repository"]["branch"]
    owner_name = repo.removeprefix("https://github.com/")
    binder = config["launch_buttons"]["binderhub_url"].rstrip("/")
    hub = config["launch_buttons"]["jupyterhub_url"].rstrip("/")
    for chapter in CHAPTERS:
        html = (built_book / f"{chapter}.html").read_text()
        links = set(re.findall(r'href="([^"]+)"', html))
        notebook = f"{chapter}.ipynb"
        assert f"{binder}/v2/gh/{owner_name}/{branch}?urlpath=lab/tree/{notebook}" in links, (
            f"{chapter}: no Binder button opening {notebook}"
        )
        pulls = [u for u in links if u.startswith(f"{hub}/hub/user-redirect/git-pull?")]
        assert any(
            f"repo={quote(repo, safe='/')}" in u and u.endswith(f"{notebook}&branch={branch}")
            for u in pulls
        ), f"{chapter}: no JupyterHub button pulling {repo} and opening {notebook}"
        assert repo in links, f"{chapter}: no repository button"


@pytest.fixture(scope="session")
def chromium() -> str:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None and Path("/usr/bin/chromium").exists():
        exe = "/usr/bin/chromium"
    if exe is None:
        pytest.skip("Chromium is not installed (apt-get install -y chromium, as .ci/run does)")
    return exe


def _chromium(exe: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        return subprocess.run(
            [exe, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
            capture_output=True,
            text=True,
            timeout=timeout,
        )


def _visible_outputs(executed: Path) -> tuple[int, int]:
    """How many image outputs and how many interactive plots the reader sees in a chapter."""
    nb = nbformat.read(executed, as_version=4)
    images = interactive = 0
    for cell in nb.cells:
        tags = _tags(cell)
        if cell.cell_type != "code" or {"remove-cell", "remove-output"} & set(tags):
            continue
        for output in cell.outputs:
            data = output.get("data", {})
            images += any(m.startswith("image/") for m in data)
            interactive += INTERACTIVE_MIME in data and "text/plain" in data  # a plot, not a loader
    return images, interactive


@pytest.mark.book
@pytest.mark.slow
@pytest.mark.parametrize("chapter", CHAPTER_PARAMS)
def test_chapter_renders_in_chromium(
    chapter: str, built_book: Path, book_copy: Path, chromium: str
):
    bs4 = pytest.importorskip("bs4")
    page = built_book / f"{chapter}.html"
    html = page.read_text()
    for host in CDN_HOSTS:
        assert host not in html, (
            f"{chapter}: the page loads from {host}; a built page must be self-contained"
        )
    probe = page.with_name(f"{page.stem}.probe.html")
    probe.write_text(html.replace("</body>", PAGE_PROBE + "</body>"))
    proc = _chromium(chromium, "--virtual-time-budget=20000", "--dump-dom", probe.as_uri())
    assert proc.returncode == 0, f"chromium failed on {chapter}: {proc.stderr[-2000:]}"
    soup = bs4.BeautifulSoup(proc.stdout, "html.parser")
    assert soup.find("h1"), f"{chapter}: the page has no title"

    # Every figure of the executed chapter is on the page, decoded by the browser, with alt text.
    report = json.loads(soup.body.get("data-image-probe", "null") or "null")
    assert report is not None, f"{chapter}: the page did not finish loading in chromium"
    expected_images, expected_plots = _visible_outputs(book_copy / f"{chapter}.ipynb")
    broken = [r["src"] for r in report if not r["loaded"]]
    assert not broken, f"{chapter}: images that the browser could not show: {broken}"
    assert len(report) >= expected_images, (
        f"{chapter}: {len(report)} images on the page, {expected_images} in the notebook"
    )
    no_alt = [r["src"] for r in report if not r["alt"].strip()]
    assert not no_alt, (
        f"{chapter}: {len(no_alt)} figure(s) without alt text: give the cell "
        '"mystnb": {"image": {"alt": "..."}} metadata'
    )

    # Every interactive plot drew something on a canvas, offline.
    canvases = json.loads(soup.body.get("data-canvas-probe", "[]") or "[]")
    drawn = [c for c in canvases if c["colours"] > 10]
    assert len(drawn) >= expected_plots, (
        f"{chapter}: {expected_plots} interactive plot(s) in the notebook, {len(drawn)} drawn "
        f"canvas(es) on the page (all canvases: {canvases})"
    )

    # Mathematics is typeset (MathML), not left as TeX source.
    for span in soup.select("article span.math, article div.math"):
        assert span.find("math"), f"{chapter}: mathematics left as text: {span.get_text()[:80]!r}"
    article = soup.find("article") or soup.body
    text = article.get_text(" ")
    assert "\\(" not in text and "\\[" not in text, f"{chapter}: TeX delimiters shown as text"

    # No error output, except in cells meant to fail.
    for cell in soup.select("div.cell"):
        if "tag_raises-exception" in cell.get("class", []):
            continue
        bad = cell.select("div.output.stderr, div.output.traceback, div.output.error")
        text = " ".join(o.get_text(" ", strip=True)[:300] for o in bad)
        assert not bad, f"{chapter}: error output on the page: {text}"
        outputs = " ".join(o.get_text(" ", strip=True) for o in cell.select("div.cell_output"))
        assert "Traceback (most recent call last)" not in outputs, (
            f"{chapter}: a traceback on the page"
        )


@pytest.mark.book
@pytest.mark.slow
def test_a_page_screenshot_is_not_blank(built_book: Path, chromium: str, tmp_path: Path):
    """The first chapter, as a person would see it: the theme's CSS loaded, text and a figure."""
    np = pytest.importorskip("numpy")
    image = pytest.importorskip("PIL.Image")
    shot = tmp_path / "chapter.png"
    page = built_book / f"{CHAPTERS[0]}.html"
    proc = _chromium(chromium, "--window-size=1280,4000", f"--screenshot={shot}", page.as_uri())
    assert shot.is_file(), f"no screenshot: {proc.stderr[-2000:]}"
    pixels = np.asarray(image.open(shot).convert("RGB"), dtype=float)
    assert pixels.shape[:2] == (4000, 1280)
    not_white = (pixels.min(axis=2) < 235).mean()
    colours = len(np.unique(pixels.reshape(-1, 3)[::7], axis=0))
    assert not_white > 0.02, f"the screenshot is almost blank ({not_white:.1%} of pixels not white)"
    assert colours > 200, f"the screenshot has only {colours} colours: no figure rendered?"
    keep = os.environ.get("EOGAPFILL_SCREENSHOT_DIR")
    if keep:
        shutil.copy(shot, Path(keep) / "chapter.png")
