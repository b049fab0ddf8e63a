"""The documentation: every parameter and attribute documented, and the pages true.

The public classes document every parameter and attribute, rendered at one indent.
Every ```python block of the documentation's Markdown pages (docs/**/*.md) runs in a
fresh interpreter, as tests/test_examples.py runs the README's, and the relative links
of the README and of those pages lead to files of the repository.
"""

import inspect
import re
import subprocess
import sys
from pathlib import Path

import pytest

import skbp
from skbp import BackpropClassifier, BackpropRegressor

ROOT = Path(__file__).resolve().parents[1]
# What a build writes under docs/ (the site, the gallery, the API pages) is not a page.
_BUILT = {"_build", "auto_examples", "generated", "gen_modules"}
DOC_PAGES = sorted(
    path
    for path in (ROOT / "docs").rglob("*.md")
    if _BUILT.isdisjoint(path.relative_to(ROOT / "docs").parts)
)

FITTED_ATTRIBUTES = [
    "coefs_",
    "intercepts_",
    "n_layers_",
    "n_outputs_",
    "out_activation_",
    "loss_",
    "best_loss_",
    "loss_curve_",
    "validation_scores_",
    "validation_loss_curve_",
    "best_validation_score_",
    "early_stopped_",
    "n_iter_",
    "t_",
    "n_features_in_",
    "feature_names_in_",
]


def _documented_names(docstring, section):
    """Names of the entries ``name : type`` at the section's indent of four."""
    body = docstring.split(f"    {section}\n    {'-' * len(section)}\n")[1]
    body = re.split(r"\n    \w[\w ]*\n    -+\n", body)[0]
    return re.findall(r"^    (\w+) :", body, flags=re.MULTILINE)


@pytest.mark.parametrize("estimator_class", [BackpropClassifier, BackpropRegressor])
def test_every_parameter_is_documented(estimator_class):
    parameters = set(inspect.signature(estimator_class).parameters)
    assert set(_documented_names(estimator_class.__doc__, "Parameters")) == parameters


@pytest.mark.parametrize("estimator_class", [BackpropClassifier, BackpropRegressor])
def test_every_fitted_attribute_is_documented(estimator_class):
    documented = set(_documented_names(estimator_class.__doc__, "Attributes"))
    expected = set(FITTED_ATTRIBUTES)
    if estimator_class is BackpropClassifier:
        expected.add("classes_")
    assert documented == expected


@pytest.mark.parametrize("name", [n for n in skbp.__all__ if n != "__version__"])
def test_every_public_name_has_a_doctested_example(name):
    # The test command runs these examples (--doctest-modules over skbp/).
    docstring = getattr(skbp, name).__doc__
    examples = docstring.split("    Examples\n    --------\n")
    assert len(examples) == 2, f"{name} has no Examples section"
    assert ">>> " in examples[1]


def _python_blocks(path):
    return re.findall(r"```python\n(.*?)```", path.read_text(), flags=re.DOTALL)


def _page_blocks():
    return [
        pytest.param(block, id=f"{_page_name(path)}[{number}]")
        for path in DOC_PAGES
        for number, block in enumerate(_python_blocks(path), start=1)
    ]


def _page_name(path):
    return path.relative_to(ROOT / "docs").as_posix()


@pytest.mark.parametrize("block", _page_blocks())
def test_docs_python_block_runs(block):
    if "import torch" in block:
        pytest.importorskip("torch")  # the GPU page's block; CI installs torch
    # skbp.dask's and skbp.onnx's blocks need the test extra's dask and onnx
    # libraries: where they are missing, the block fails, as a broken install.
    # Run in a fresh interpreter: the block must work as pasted.
    completed = subprocess.run(
        [sys.executable, "-c", block], capture_output=True, text=True, timeout=300
    )
    assert completed.returncode == 0, completed.stderr


def test_the_pages_hold_code():
    # The user guide's code moved here from the README: the test above must find it.
    blocks = {_page_name(path): _python_blocks(path) for path in DOC_PAGES}
    for page in [
        "getting_started.md",
        "user_guide/tour.md",
        "user_guide/gpu.md",
        "user_guide/dask.md",
        "user_guide/onnx.md",
    ]:
        assert blocks.get(page), f"docs/{page} has no python block"


def test_readme_example_is_the_getting_started_one():
    # The README shows the first example of the getting-started page, word for word.
    readme_blocks = _python_blocks(ROOT / "README.md")
    assert readme_blocks, "the README should show a python example"
    assert readme_blocks[0] == _python_blocks(ROOT / "docs" / "getting_started.md")[0]


def _relative_links(path):
    """Targets of the page's Markdown links and images that are not URLs or anchors."""
    text = re.sub(r"```.*?```", "", path.read_text(), flags=re.DOTALL)
    targets = re.findall(r"\]\(([^)\s]+)\)", text)
    return [
        target.split("#")[0]
        for target in targets
        if not re.match(r"[a-z][a-z0-9+.-]*:", target) and not target.startswith("#")
    ]


@pytest.mark.parametrize(
    "page",
    [ROOT / "README.md", *DOC_PAGES],
    ids=lambda path: path.relative_to(ROOT).as_posix(),
)
def test_relative_links_lead_to_files_of_the_repository(page):
    # On GitHub the README and the pages are read as plain Markdown: their links
    # must reach files that exist, inside the repository.
    for target in _relative_links(page):
        resolved = (page.parent / target).resolve()
        assert resolved.is_relative_to(ROOT), f"{target} is outside the repository"
        assert resolved.exists(), f"{page.name} links to {target}, which is missing"
