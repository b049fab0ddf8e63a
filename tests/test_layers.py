"""The layer rule, read off the code: imports flow one way.

docs/developers/design.md: estimators -> drivers -> core -> primitives ->
kernels, with the public modules and the integrations on top. A module may
import modules of its own layer or of the layers below it, never above. The
table below is the architecture document's module table; a new module must
be given its layer here, so the rule is checked for it too.
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "skbp"

# Higher numbers sit higher in the house.
KERNELS, PRIMITIVES, CORE, DRIVERS, ESTIMATORS, INTEGRATIONS, PUBLIC = range(7)
LAYERS = {
    "__init__": PUBLIC,
    "_show_versions": PUBLIC,
    "dask": INTEGRATIONS,
    "onnx": INTEGRATIONS,
    "_embedding": INTEGRATIONS,
    "_display": INTEGRATIONS,
    "_gradient_check": INTEGRATIONS,
    "_classifier": ESTIMATORS,
    "_regressor": ESTIMATORS,
    "_base": ESTIMATORS,
    "_array_api": ESTIMATORS,
    "_validation": ESTIMATORS,
    "_held_out": ESTIMATORS,
    "_parameter_views": ESTIMATORS,
    "_guards": ESTIMATORS,
    "_callbacks": ESTIMATORS,
    "_random": ESTIMATORS,
    "_docstrings": ESTIMATORS,
    "_training": DRIVERS,
    "_per_example": DRIVERS,
    "_lbfgs": DRIVERS,
    "_interrupt": DRIVERS,
    "_network": CORE,
    "_optimizers": CORE,
    "_dropout": CORE,
    "_schedules": CORE,
    "_activations": CORE,
    "_losses": CORE,
    "_primitives": PRIMITIVES,
    "_kernels": KERNELS,
    "_sgd_loop": KERNELS,
    "_kernel_codes": KERNELS,
}


def _skbp_imports(source):
    """Names of the skbp modules ``source`` imports, at any depth of its code."""
    imported = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                imported.add(node.module.split(".")[0])
            else:  # from . import _classifier
                imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
            "skbp."
        ):
            imported.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            imported.update(
                alias.name.split(".")[1]
                for alias in node.names
                if alias.name.startswith("skbp.")
            )
    return imported


MODULES = sorted(PACKAGE.glob("*.py"))


def test_every_module_has_a_layer():
    unplaced = {path.stem for path in MODULES} - set(LAYERS)
    assert not unplaced, f"give these modules a layer in LAYERS: {sorted(unplaced)}"


@pytest.mark.parametrize("path", MODULES, ids=[path.stem for path in MODULES])
def test_imports_flow_down(path):
    layer = LAYERS[path.stem]
    imported = _skbp_imports(path.read_text())
    upward = sorted(name for name in imported if LAYERS.get(name, PUBLIC) > layer)
    assert not upward, f"{path.stem} imports from a layer above its own: {upward}"


@pytest.mark.parametrize(
    "source",
    [
        "from ._base import _BaseBackprop\n",
        "from . import _base\n",
        "import skbp._base\n",
        "def late():\n    from skbp._base import _BaseBackprop\n",
    ],
)
def test_every_form_of_import_is_read(source):
    # The checker itself: each way of writing an import of _base is found, so
    # an upward import cannot hide behind its spelling.
    assert _skbp_imports(source) == {"_base"}
