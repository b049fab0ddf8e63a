"""Sphinx configuration of skbp's documentation site.

Build from the repository root (after ``pip install -e ".[docs]"``) with::

    python -m sphinx -W -b html docs docs/_build/html

The gallery runs the scripts in ``examples/`` and puts their output and
figures on its pages.
"""

import os
import re
import sys
from pathlib import Path

# scikit-learn's array-API dispatch (the GPU page's code) needs scipy's
# array-API mode, read once when scipy is first imported.
os.environ.setdefault("SCIPY_ARRAY_API", "1")

import skbp  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
# docs/sphinxext: the gallery's sort key, imported by name by sphinx-gallery.
sys.path.insert(0, str(Path(__file__).resolve().parent / "sphinxext"))

project = "skbp"
author = "the skbp developers"
copyright = "2026, the skbp developers"
release = skbp.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "myst_parser",
    "numpydoc",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx_gallery.gen_gallery",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "auto_examples/*.ipynb", "auto_examples/*.py"]
templates_path = ["_templates"]

# MyST: the user guide's Markdown may use anchors to its headings and
# fenced ``{eval-rst}`` blocks.
myst_heading_anchors = 3
myst_enable_extensions = ["colon_fence"]

# API reference: one page per public name, generated from the numpydoc
# docstrings.
autosummary_generate = True
autodoc_default_options = {"members": True, "inherited-members": True}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
# Types in the parameter lists stay plain text: they name NumPy, scikit-learn
# and skbp objects alike, and an unresolved cross-reference would be a warning.
numpydoc_xref_param_type = False

sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples"),
    "gallery_dirs": "auto_examples",
    # Every script runs and its output and figures go on its page, except the
    # two that need a cluster library or a GPU: they are shown without being run.
    "filename_pattern": r"/(?!dask_scale_out\.py|gpu\.py)[^/]+\.py$",
    "ignore_pattern": r"__init__\.py",
    "doc_module": ("skbp",),
    "backreferences_dir": "gen_modules/backreferences",
    "within_subsection_order": "gallery_order.ReadingOrder",
    "download_all_examples": False,
    "remove_config_comments": True,
    "plot_gallery": "True",
}

# The metadata-routing request methods (set_fit_request, ...), built by
# scikit-learn for every estimator, and set_output come with docstrings that
# point into scikit-learn's own site; the API pages name them instead
# (_templates/class.rst) and document only what skbp defines or changes.
SKLEARN_GENERATED_MEMBERS = re.compile(
    r"set_\w+_request|get_metadata_routing|set_output"
)


def skip_sklearn_generated_member(app, what, name, obj, skip, options):
    """Leave out scikit-learn's generated API members that skbp does not change."""
    defined_by_skbp = (getattr(obj, "__module__", None) or "").startswith("skbp")
    if SKLEARN_GENERATED_MEMBERS.fullmatch(name) and not defined_by_skbp:
        return True
    return None


def setup(app):
    app.connect("autodoc-skip-member", skip_sklearn_generated_member)


html_theme = "pydata_sphinx_theme"
html_title = f"skbp {release}"
html_theme_options = {
    "navbar_align": "left",
    "show_toc_level": 2,
    "navigation_with_keys": False,
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
html_static_path = []
html_show_sourcelink = False
