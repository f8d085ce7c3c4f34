"""A book that reads offline: mathematics as MathML, bokeh and panel served from the build.

Two things of a built page would otherwise come from a CDN, and show nothing when the reader's
browser cannot reach it:

- **Mathematics.** ``$|\\nabla T|$`` is written to the page as MathML (converted at build time by
  docutils' LaTeX to MathML converter), which browsers draw natively: no MathJax to load.
  A formula the converter does not know stops the build with a warning naming it.
- **Interactive plots.** The hvplot/holoviews outputs load BokehJS and Panel from
  ``cdn.bokeh.org`` and ``cdn.holoviz.org``. Every such address in a page is rewritten to a copy
  of the same file, taken from the installed ``bokeh`` and ``panel`` packages (the versions the
  chapter ran with) and written under ``_static/`` of the build.

Enabled in ``_config.yml`` (``sphinx.local_extensions``); the math renderer is selected there
with ``html_math_renderer: mathml``.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util import logging

logger = logging.getLogger(__name__)

#: LaTeX spellings the converter lacks, and the ones it knows.
_TEX_ALIASES = [
    (re.compile(r"\{\\rm\s+([^{}]*)\}"), r"\\mathrm{\1}"),
    (re.compile(r"\\dots\b"), r"\\ldots"),
]
#: CDN addresses of the plotting libraries, and where the same files are in the packages.
_BOKEH_CDN = re.compile(
    r"https://cdn\.bokeh\.org/bokeh/(?:release|dev)/(bokeh[a-z-]*)-(\d[\w.-]*?)(\.min)?\.js"
)
_PANEL_CDN = re.compile(r"https://cdn\.holoviz\.org/panel/[\w.-]+/dist/([\w./@^~-]+)")


def _mathml(tex: str, block: bool) -> str:
    from docutils.utils.math.latex2mathml import tex2mathml

    for pattern, replacement in _TEX_ALIASES:
        tex = pattern.sub(replacement, tex)
    return tex2mathml(tex.strip(), as_block=block)


def _visit_math(self, node: nodes.Element) -> None:
    tex = node.astext()
    try:
        self.body.append(f'<span class="math notranslate">{_mathml(tex, block=False)}</span>')
    except Exception as err:  # the converter's own error names the command
        logger.warning(f"cannot write ${tex}$ as MathML: {err}", location=node)
        self.body.append(f'<code class="math">{self.encode(tex)}</code>')
    raise nodes.SkipNode


def _visit_math_block(self, node: nodes.Element) -> None:
    tex = node.astext()
    if node.get("label"):
        self.body.append(f'<span class="eqno">({node["number"]})</span>')
    try:
        html = _mathml(tex, block=True)
    except Exception as err:
        logger.warning(f"cannot write $${tex}$$ as MathML: {err}", location=node)
        html = f"<pre>{self.encode(tex)}</pre>"
    self.body.append(self.starttag(node, "div", CLASS="math notranslate") + html + "</div>\n")
    raise nodes.SkipNode


def _package_file(url_match: re.Match, kind: str) -> tuple[Path, str] | None:
    """The installed file for a CDN address, and its path under ``_static``."""
    if kind == "bokeh":
        from bokeh.util.paths import bokehjs_path

        name, _version, minified = url_match.groups()
        filename = f"{name}{minified or ''}.js"
        return Path(bokehjs_path()) / "js" / filename, f"eogapfill-offline/bokeh/{filename}"
    import panel

    relative = url_match.group(1)
    source = Path(panel.__file__).parent / "dist" / relative
    return source, f"eogapfill-offline/panel/{relative}"


def _serve_locally(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    body = context.get("body")
    if not body or "cdn." not in body:
        return
    depth = pagename.count("/")
    prefix = "../" * depth + "_static/"
    static = Path(app.outdir) / "_static"

    def local(match: re.Match, kind: str) -> str:
        found = _package_file(match, kind)
        if found is None or not found[0].is_file():
            logger.warning(f"{pagename}: no local copy of {match.group(0)}; it stays on the CDN")
            return match.group(0)
        source, target = found
        destination = static / target
        if not destination.exists():
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, destination)
        return prefix + target

    body = _BOKEH_CDN.sub(lambda m: local(m, "bokeh"), body)
    body = _PANEL_CDN.sub(lambda m: local(m, "panel"), body)
    context["body"] = body


def setup(app: Sphinx) -> dict:
    app.add_html_math_renderer(
        "mathml", inline_renderers=(_visit_math, None), block_renderers=(_visit_math_block, None)
    )
    app.connect("html-page-context", _serve_locally)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
