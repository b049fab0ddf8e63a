"""Tests for :func:`skbp.check_gradients`.

The public gradient check must (a) report agreement, well below 1e-4, on
correctly backpropagated networks of several activations and losses, with
and without sample weights; (b) leave the estimator exactly as it was; (c)
report a large error when the backpropagated gradient is wrong, which is
simulated by swapping a deliberately wrong derivative into a fitted
estimator's network; and (d) refuse an unfitted estimator and every other
bad argument with a ValueError before any work, leaving the estimator as it
was.
"""

import dataclasses
import pickle
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.neural_network import MLPClassifier

from skbp import BackpropClassifier, BackpropRegressor, check_gradients

# Agreement threshold of the public check; correct backprop gives ~1e-7.
AGREES = 1e-4
# A wrong derivative gives errors of order one; 1e-2 is far from both.
DISAGREES = 1e-2


def _data(seed=0, n_samples=40, n_features=4):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_samples, n_features))
    sample_weight = rng.uniform(0.2, 3.0, size=n_samples)
    return rng, X, sample_weight


def _fit(estimator, X, y, sample_weight=None):
    with warnings.catch_warnings():
        # A few iterations suffice: the check is made at whatever weights
        # training reached, and any non-trivial weights will do.
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator.fit(X, y, sample_weight=sample_weight)


def _classification_targets(rng, X, kind):
    score = X[:, 0] + 0.5 * X[:, 1] + 0.3 * rng.normal(size=len(X))
    if kind == "binary":
        return (score > 0).astype(int)
    if kind == "multiclass":
        return np.digitize(score, [-0.5, 0.5])
    # multilabel: two indicator columns
    return np.column_stack([score > 0, X[:, 2] > 0]).astype(int)


CLASSIFIER_CASES = [
    ("logistic", "log_loss", "binary"),
    ("tanh", "log_loss", "multiclass"),
    ("relu", "log_loss", "multilabel"),
    ("identity", "log_loss", "multiclass"),
    ("logistic", "squared_error", "multilabel"),
    ("tanh", "squared_error", "binary"),
]


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize(("activation", "loss", "kind"), CLASSIFIER_CASES)
def test_classifier_gradients_agree(activation, loss, kind, weighted):
    rng, X, sample_weight = _data(seed=1)
    y = _classification_targets(rng, X, kind)
    sw = sample_weight if weighted else None
    clf = BackpropClassifier(
        hidden_layer_sizes=(5, 3),
        activation=activation,
        loss=loss,
        solver="lbfgs",
        alpha=0.01,
        max_iter=15,
        random_state=0,
    )
    _fit(clf, X, y, sw)
    assert check_gradients(clf, X, y, sample_weight=sw) < AGREES


REGRESSOR_CASES = [
    ("relu", "squared_error"),
    ("tanh", "poisson"),
    ("logistic", "log_loss"),
    ("identity", "squared_error"),
    # Kinked losses: at training's weights no residual is within the step's
    # reach of a kink (targets have continuous noise).
    ("tanh", "absolute_error"),
    ("relu", "huber"),
    ("logistic", "quantile"),
]
# Parameters away from the defaults: an asymmetric pinball loss, and a Huber
# threshold below the typical residual, so that both zones are used.
_LOSS_PARAMETERS = {"quantile": {"quantile": 0.8}, "huber": {"huber_delta": 0.3}}


def _regression_targets(rng, X, loss, n_outputs):
    signal = np.tanh(X[:, :n_outputs] + 0.5 * X[:, 1:2])
    if loss == "poisson":
        return rng.poisson(np.exp(signal)).astype(float)
    if loss == "log_loss":
        return (signal + 1) / 2  # proportions in [0, 1]
    return signal + 0.1 * rng.normal(size=signal.shape)


@pytest.mark.parametrize("n_outputs", [1, 2])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize(("activation", "loss"), REGRESSOR_CASES)
def test_regressor_gradients_agree(activation, loss, weighted, n_outputs):
    rng, X, sample_weight = _data(seed=2)
    y = _regression_targets(rng, X, loss, n_outputs)
    if n_outputs == 1:
        y = y.ravel()
    sw = sample_weight if weighted else None
    reg = BackpropRegressor(
        loss=loss,
        hidden_layer_sizes=(6,),
        activation=activation,
        solver="adam",
        learning_rate_init=0.01,
        alpha=0.05,
        max_iter=20,
        random_state=0,
        **_LOSS_PARAMETERS.get(loss, {}),
    )
    _fit(reg, X, y, sw)
    assert check_gradients(reg, X, y, sample_weight=sw) < AGREES


def test_gradients_agree_on_sparse_and_float32_fits():
    rng, X, _ = _data(seed=3)
    X[rng.random(X.shape) < 0.6] = 0.0
    y = _classification_targets(rng, X, "multiclass")
    X32 = sp.csr_matrix(X.astype(np.float32))
    clf = _fit(
        BackpropClassifier(hidden_layer_sizes=(4,), max_iter=10, random_state=0),
        X32,
        y,
    )
    assert clf.coefs_[0].dtype == np.float32
    # The check runs in float64 whatever the fitted dtype.
    assert check_gradients(clf, X32, y) < AGREES


def test_gradients_agree_on_a_random_subset_of_a_large_network():
    rng, X, _ = _data(seed=4, n_samples=30)
    y = _classification_targets(rng, X, "multiclass")
    clf = _fit(
        BackpropClassifier(
            hidden_layer_sizes=(120,), activation="tanh", max_iter=5, random_state=0
        ),
        X,
        y,
    )
    n_params = sum(c.size for c in clf.coefs_) + sum(b.size for b in clf.intercepts_)
    assert n_params > 500  # more than max_params: a random subset is checked
    assert check_gradients(clf, X, y, max_params=200, random_state=1) < AGREES


# --------------------------------------------------- leaves the model alone


@pytest.mark.parametrize(
    "estimator",
    [
        BackpropClassifier(hidden_layer_sizes=(3,), solver="sgd", max_iter=5),
        BackpropRegressor(hidden_layer_sizes=(3,), solver="lbfgs", max_iter=5),
    ],
    ids=["classifier", "regressor"],
)
def test_check_gradients_does_not_modify_the_estimator(estimator):
    rng, X, sample_weight = _data(seed=5)
    if isinstance(estimator, BackpropClassifier):
        y = _classification_targets(rng, X, "multiclass")
    else:
        y = _regression_targets(rng, X, "squared_error", 1).ravel()
    estimator = _fit(clone(estimator).set_params(random_state=0), X, y)
    before = pickle.dumps(estimator)
    predictions = estimator.predict(X)
    check_gradients(estimator, X, y, sample_weight=sample_weight)
    # Byte-identical state, and coefs_ still live views of the parameters.
    assert pickle.dumps(estimator) == before
    np.testing.assert_array_equal(estimator.predict(X), predictions)
    assert all(np.shares_memory(c, estimator._theta) for c in estimator.coefs_)


# --------------------------------------------------- detects wrong gradients


def _derivative_of_identity(activation, delta, ops=None):
    # Wrong for every non-identity activation: drops the f'(z) factor of
    # Liskowski's eq. (4), delta_h = f'(z_h) sum_k delta_k w_kh.
    return delta


def _logistic_derivative_missing_one_minus_a(activation, delta, ops=None):
    delta *= activation  # a instead of a (1 - a)
    return delta


@pytest.mark.parametrize(
    ("activation", "wrong_derivative"),
    [
        ("tanh", _derivative_of_identity),
        ("logistic", _logistic_derivative_missing_one_minus_a),
        ("relu", _derivative_of_identity),
    ],
)
def test_detects_a_wrong_activation_derivative(activation, wrong_derivative):
    rng, X, _ = _data(seed=6)
    y = _classification_targets(rng, X, "multiclass")
    clf = _fit(
        BackpropClassifier(
            hidden_layer_sizes=(5,),
            activation=activation,
            solver="lbfgs",
            max_iter=10,
            random_state=0,
        ),
        X,
        y,
    )
    assert check_gradients(clf, X, y) < AGREES
    # The forward pass is untouched; only backprop's derivative is wrong.
    # kernel_code=None: the compiled kernels would compute the right one.
    (hidden,) = clf._network.hidden
    bad = dataclasses.replace(
        hidden, multiply_derivative=wrong_derivative, kernel_code=None
    )
    clf._network = dataclasses.replace(clf._network, hidden=(bad,))
    assert check_gradients(clf, X, y) > DISAGREES


def test_detects_the_residual_shortcut_on_a_non_canonical_pair():
    # For logistic units with squared error, dL/dz = (a - t) a (1 - a)
    # (Liskowski eq. (3)); the canonical-pair shortcut a - t is wrong here.
    rng, X, _ = _data(seed=7)
    y = _classification_targets(rng, X, "binary")
    clf = _fit(
        BackpropClassifier(
            hidden_layer_sizes=(4,),
            loss="squared_error",
            solver="lbfgs",
            max_iter=10,
            random_state=0,
        ),
        X,
        y,
    )
    assert clf.out_activation_ == "logistic"
    assert check_gradients(clf, X, y) < AGREES

    def residual(y_true, raw, prediction, out, ops=None):
        return np.subtract(prediction, y_true, out=out)

    output = dataclasses.replace(clf._network.output, raw_gradient=residual)
    clf._network = dataclasses.replace(clf._network, output=output)
    assert check_gradients(clf, X, y) > DISAGREES


# -------------------------------------------------------------- not fitted


@pytest.mark.parametrize(
    "estimator", [BackpropClassifier(), BackpropRegressor()], ids=["clf", "reg"]
)
def test_unfitted_estimator_raises(estimator):
    _, X, _ = _data()
    with pytest.raises(NotFittedError):
        check_gradients(clone(estimator), X, np.zeros(len(X)))


# ------------------------------------------------------------- bad input


@pytest.fixture(scope="module")
def fitted():
    """A fitted regressor, multiclass and multilabel classifier, and data."""
    rng, X, _ = _data(seed=8)
    targets = {
        "regressor": _regression_targets(rng, X, "squared_error", 1).ravel(),
        "multiclass": _classification_targets(rng, X, "multiclass"),
        "multilabel": _classification_targets(rng, X, "multilabel"),
    }
    models = {}
    for kind, y in targets.items():
        estimator = BackpropRegressor if kind == "regressor" else BackpropClassifier
        model = estimator(hidden_layer_sizes=(3,), max_iter=5, random_state=0)
        models[kind] = (_fit(model, X, y), X, y)
    return models


def _nan_at_3(values):
    values = np.array(values, dtype=float)
    values[3] = np.nan
    return values


def _inf_at_3(values):
    values = np.array(values, dtype=float)
    values[3] = np.inf
    return values


_N = 40  # rows of _data()
_SW = np.ones(_N)
_INVALID = "parameter of check_gradients must be"

# (model, the call's changed arguments given (estimator, X, y), message).
BAD_INPUTS = {
    "y-too-short": (
        "regressor",
        lambda e, X, y: {"y": y[:-1]},
        r"y has 39 samples, but X has 40",
    ),
    "y-too-long": (
        "multiclass",
        lambda e, X, y: {"y": np.r_[y, 0]},
        r"y has 41 samples, but X has 40",
    ),
    "y-scalar": ("regressor", lambda e, X, y: {"y": 1.0}, f"'y' {_INVALID}"),
    "y-3d": (
        "regressor",
        lambda e, X, y: {"y": y.reshape(-1, 1, 1)},
        "Found array with dim 3",
    ),
    "y-nan": ("regressor", lambda e, X, y: {"y": _nan_at_3(y)}, "y contains NaN"),
    "y-inf": (
        "regressor",
        lambda e, X, y: {"y": _inf_at_3(y)},
        "y contains infinity",
    ),
    "y-strings-for-a-regressor": (
        "regressor",
        lambda e, X, y: {"y": np.array(["a"] * _N)},
        "dtype='numeric' is not compatible",
    ),
    "y-2-outputs-for-1": (
        "regressor",
        lambda e, X, y: {"y": np.column_stack([y, y])},
        r"y gives 2 network outputs, but .* expects 1",
    ),
    "y-1d-for-2-labels": (
        "multilabel",
        lambda e, X, y: {"y": y[:, 0]},
        r"y gives 1 network outputs, but .* expects 2",
    ),
    "sample_weight-too-short": (
        "regressor",
        lambda e, X, y: {"sample_weight": _SW[:-1]},
        r"sample_weight.shape == \(39,\), expected \(40,\)",
    ),
    "sample_weight-2d": (
        "regressor",
        lambda e, X, y: {"sample_weight": _SW[:, np.newaxis]},
        "Sample weights must be 1D array or scalar",
    ),
    "sample_weight-nan": (
        "regressor",
        lambda e, X, y: {"sample_weight": _nan_at_3(_SW)},
        "sample_weight contains NaN",
    ),
    "sample_weight-inf": (
        "multiclass",
        lambda e, X, y: {"sample_weight": _inf_at_3(_SW)},
        "sample_weight contains infinity",
    ),
    "sample_weight-scalar-nan": (
        "regressor",
        lambda e, X, y: {"sample_weight": np.nan},
        "sample_weight must be finite",
    ),
    "sample_weight-scalar-inf": (
        "regressor",
        lambda e, X, y: {"sample_weight": np.inf},
        "sample_weight must be finite",
    ),
    "sample_weight-negative": (
        "regressor",
        lambda e, X, y: {"sample_weight": np.where(np.arange(_N) == 3, -1.0, 1.0)},
        "Negative values in data passed to `sample_weight`",
    ),
    "sample_weight-all-zero": (
        "multiclass",
        lambda e, X, y: {"sample_weight": np.zeros(_N)},
        "sample_weight is zero for every sample",
    ),
    "sample_weight-scalar-zero": (
        "regressor",
        lambda e, X, y: {"sample_weight": 0.0},
        "sample_weight is zero for every sample",
    ),
    "sample_weight-string": (
        "regressor",
        lambda e, X, y: {"sample_weight": "balanced"},
        f"'sample_weight' {_INVALID}",
    ),
    "epsilon-zero": (
        "regressor",
        lambda e, X, y: {"epsilon": 0},
        f"'epsilon' {_INVALID}",
    ),
    "epsilon-negative": (
        "regressor",
        lambda e, X, y: {"epsilon": -1e-6},
        f"'epsilon' {_INVALID}",
    ),
    "epsilon-nan": (
        "regressor",
        lambda e, X, y: {"epsilon": np.nan},
        f"'epsilon' {_INVALID}",
    ),
    "epsilon-inf": (
        "regressor",
        lambda e, X, y: {"epsilon": np.inf},
        f"'epsilon' {_INVALID}",
    ),
    "epsilon-string": (
        "regressor",
        lambda e, X, y: {"epsilon": "1e-6"},
        f"'epsilon' {_INVALID}",
    ),
    "epsilon-bool": (
        "regressor",
        lambda e, X, y: {"epsilon": True},
        "epsilon must be a positive finite float, got True",
    ),
    "max_params-zero": (
        "regressor",
        lambda e, X, y: {"max_params": 0},
        f"'max_params' {_INVALID}",
    ),
    "max_params-float": (
        "regressor",
        lambda e, X, y: {"max_params": 1.5},
        f"'max_params' {_INVALID}",
    ),
    "max_params-bool": (
        "regressor",
        lambda e, X, y: {"max_params": True},
        "max_params must be an int >= 1, got True",
    ),
    "random_state-negative": (
        "regressor",
        lambda e, X, y: {"random_state": -1},
        "random_state must be a seed or generator that",
    ),
    "random_state-string": (
        "regressor",
        lambda e, X, y: {"random_state": "seed"},
        "random_state must be a seed or generator that",
    ),
    "estimator-from-scikit-learn": (
        "multiclass",
        lambda e, X, y: {
            "estimator": _fit(
                MLPClassifier(hidden_layer_sizes=(3,), max_iter=5, random_state=0),
                X,
                y,
            )
        },
        "estimator must be a BackpropClassifier or BackpropRegressor, got "
        "MLPClassifier",
    ),
    "estimator-not-an-estimator": (
        "regressor",
        lambda e, X, y: {"estimator": "model"},
        "estimator must be a BackpropClassifier or BackpropRegressor, got str",
    ),
}


@pytest.mark.parametrize(
    ("kind", "change", "match"), BAD_INPUTS.values(), ids=BAD_INPUTS
)
def test_bad_input_is_refused_and_the_estimator_left_alone(fitted, kind, change, match):
    estimator, X, y = fitted[kind]
    arguments = {"estimator": estimator, "X": X, "y": y}
    arguments.update(change(estimator, X, y))
    before = pickle.dumps(estimator)
    with pytest.raises(ValueError, match=match):
        check_gradients(**arguments)
    assert pickle.dumps(estimator) == before


def test_unknown_classes_are_refused_with_the_fit_message(fitted):
    estimator, X, y = fitted["multiclass"]
    with pytest.raises(ValueError, match="`y` has classes not in `self.classes_`"):
        check_gradients(estimator, X, np.where(np.arange(_N) == 3, 7, y))


def test_scalar_sample_weight_is_a_constant_weight(fitted):
    estimator, X, y = fitted["regressor"]
    weighted = check_gradients(estimator, X, y, sample_weight=2.5)
    assert weighted == check_gradients(estimator, X, y, sample_weight=np.full(_N, 2.5))
    assert weighted < AGREES


@pytest.mark.parametrize(
    "random_state",
    [None, 3, np.random.default_rng(3), np.random.SeedSequence(3), [1, 2]],
    ids=["None", "int", "Generator", "SeedSequence", "list"],
)
def test_random_state_takes_what_default_rng_takes(fitted, random_state):
    estimator, X, y = fitted["multiclass"]
    error = check_gradients(estimator, X, y, max_params=5, random_state=random_state)
    assert error < AGREES
