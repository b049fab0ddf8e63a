"""The public classes document every parameter and attribute, rendered at one indent."""

import inspect
import re

import pytest

import skbp
from skbp import BackpropClassifier, BackpropRegressor

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
