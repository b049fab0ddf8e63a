"""The compiled per-example SGD loop against the NumPy loop it replaces.

The reference is the NumPy epoch of ``skbp._training.run_epoch`` (the
compiled loop switched off): the same steps, computed with BLAS products
and NumPy ufuncs.  The loop sums a layer's products in its own order and
takes exp/tanh/log from the C library, so agreement is to rounding: 1e-12
in float64 and 1e-5 in float32 after whole epochs.  The hand-computed
steps of ``tests/test_network.py`` (Liskowski's equations) run through this
loop too; :func:`test_the_hand_computed_settings_take_the_loop` makes sure.
The loop refuses arguments it cannot compute with; those calls run in a
subprocess, as in ``tests/test_kernels.py``.
"""

import signal
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.exceptions import ConvergenceWarning
from test_kernels import DTYPE, NONE, assert_refused, outcomes_in_a_subprocess

import skbp._per_example as per_example
from skbp import BackpropClassifier, BackpropRegressor
from skbp._activations import ACTIVATIONS as REGISTRY
from skbp._kernel_codes import (
    SGD_EPOCH_ACTIVATIONS,
    SGD_EPOCH_OUTPUTS,
    ActivationCode,
    OutputCode,
)
from skbp._primitives import NUMPY
from skbp._sgd_loop import sgd_epoch

# Ctrl-C tests need Python's own SIGINT handler (conftest.py).
pytestmark = pytest.mark.usefixtures("python_sigint_handler")

TOLERANCE = {np.float64: 1e-12, np.float32: 2e-5}
# The activations the loop implements: all but those without a code.
ACTIVATIONS = sorted(
    name
    for name, activation in REGISTRY.items()
    if activation.kernel_code in SGD_EPOCH_ACTIVATIONS
)


@pytest.fixture
def loop_calls(monkeypatch):
    """Count the epochs that the compiled loop runs."""
    calls = []

    def counted(*args, **kwargs):
        calls.append(args[0])
        return original(*args, **kwargs)

    original = per_example.run_per_example_epoch
    monkeypatch.setattr("skbp._training.run_per_example_epoch", counted)
    return calls


def _without_the_loop(fit, monkeypatch):
    with monkeypatch.context() as patch:
        patch.setattr(type(NUMPY), "per_example_sgd", None)
        return fit()


def _both(make, X, y, monkeypatch, loop_calls, sample_weight=None):
    def fit():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            return make().fit(X, y, sample_weight=sample_weight)

    compiled = fit()
    assert loop_calls, "the compiled loop did not run"
    n_calls = len(loop_calls)
    plain = _without_the_loop(fit, monkeypatch)
    assert len(loop_calls) == n_calls, "the reference ran the compiled loop"
    return compiled, plain


def _assert_same_fit(compiled, plain, dtype):
    tolerance = TOLERANCE[dtype]
    assert compiled._theta.dtype == plain._theta.dtype == dtype
    assert_allclose(compiled._theta, plain._theta, rtol=tolerance, atol=tolerance)
    assert_allclose(compiled.loss_curve_, plain.loss_curve_, rtol=tolerance)
    assert compiled.n_iter_ == plain.n_iter_
    assert compiled.t_ == plain.t_


def _data(dtype, n_samples=120, n_features=7, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n_samples, n_features)).astype(dtype), rng


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_every_activation_matches_the_numpy_loop(
    activation, dtype, monkeypatch, loop_calls
):
    X, rng = _data(dtype)
    y = rng.integers(0, 3, X.shape[0])

    def make():
        return BackpropClassifier(
            hidden_layer_sizes=(9, 5),
            activation=activation,
            solver="sgd",
            batch_size=1,
            learning_rate_init=0.01,
            max_iter=3,
            random_state=0,
        )

    _assert_same_fit(*_both(make, X, y, monkeypatch, loop_calls), dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(
    "activations",
    [("tanh", "relu", "logistic"), ("leaky_relu", "identity", "softplus")],
    ids="-".join,
)
def test_an_activation_per_layer_matches_the_numpy_loop(
    activations, dtype, monkeypatch, loop_calls
):
    # Each layer's code in its own place: forward and the derivative of the
    # layer below in the backward pass would mix them up silently.
    X, rng = _data(dtype)
    y = rng.integers(0, 3, X.shape[0])

    def make():
        return BackpropClassifier(
            hidden_layer_sizes=(9, 6, 5),
            activation=activations,
            solver="sgd",
            batch_size=1,
            learning_rate_init=0.01,
            max_iter=3,
            random_state=0,
        )

    _assert_same_fit(*_both(make, X, y, monkeypatch, loop_calls), dtype)


@pytest.mark.parametrize("shuffle", [True, False])
def test_early_stopping_runs_the_loop_over_the_training_rows(
    shuffle, monkeypatch, loop_calls
):
    # The split names the training rows of the caller's X (no copy): the
    # loop is given their numbers as its order, in the shuffled order or not.
    X, rng = _data(np.float64, n_samples=200)
    y = rng.integers(0, 3, X.shape[0])

    def make():
        return BackpropClassifier(
            hidden_layer_sizes=(6,),
            solver="sgd",
            batch_size=1,
            early_stopping=True,
            shuffle=shuffle,
            learning_rate_init=0.01,
            max_iter=4,
            random_state=0,
        )

    compiled, plain = _both(make, X, y, monkeypatch, loop_calls)
    _assert_same_fit(compiled, plain, np.float64)
    assert_allclose(compiled.validation_scores_, plain.validation_scores_)


def _targets(kind, rng, n_samples):
    if kind == "binary":
        return rng.integers(0, 2, n_samples)
    if kind == "multilabel":
        return rng.integers(0, 2, (n_samples, 3))
    return rng.integers(0, 4, n_samples)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("loss", ["log_loss", "squared_error"])
@pytest.mark.parametrize("kind", ["binary", "multiclass", "multilabel"])
def test_every_classifier_output_layer_matches(
    kind, loss, dtype, monkeypatch, loop_calls
):
    X, rng = _data(dtype, seed=1)
    y = _targets(kind, rng, X.shape[0])

    def make():
        return BackpropClassifier(
            hidden_layer_sizes=(6,),
            loss=loss,
            solver="sgd",
            batch_size=1,
            max_iter=2,
            random_state=0,
        )

    _assert_same_fit(*_both(make, X, y, monkeypatch, loop_calls), dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("loss", ["squared_error", "poisson"])
def test_regressor_output_layers_match(loss, dtype, monkeypatch, loop_calls):
    X, rng = _data(dtype, seed=2)
    y = np.exp(X[:, :2] @ [[0.3, -0.2], [0.1, 0.4]]) if loss == "poisson" else X[:, :2]
    y[::7] = 0  # zero counts: the y log y term of the deviance

    def make():
        return BackpropRegressor(
            hidden_layer_sizes=(5,),
            loss=loss,
            solver="sgd",
            batch_size=1,
            learning_rate_init=0.005,
            max_iter=2,
            random_state=0,
        )

    _assert_same_fit(*_both(make, X, y, monkeypatch, loop_calls), dtype)


@pytest.mark.parametrize(
    "options",
    [
        dict(momentum=0.0),
        dict(momentum=0.9, nesterovs_momentum=False),
        dict(momentum=0.5, nesterovs_momentum=True, alpha=0.0),
        dict(alpha=0.3, shuffle=False),
        dict(learning_rate="invscaling", learning_rate_init=0.05, power_t=0.3),
        dict(early_stopping=True, validation_fraction=0.2),
    ],
    ids=lambda options: ",".join(f"{k}={v}" for k, v in options.items()),
)
def test_optimizer_settings_match(options, monkeypatch, loop_calls):
    X, rng = _data(np.float64, seed=3)
    y = rng.integers(0, 3, X.shape[0])

    def make():
        settings = dict(solver="sgd", batch_size=1, max_iter=4, random_state=0)
        return BackpropClassifier(hidden_layer_sizes=(6,), **{**settings, **options})

    _assert_same_fit(*_both(make, X, y, monkeypatch, loop_calls), np.float64)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sample_weights_and_zero_weights_match(dtype, monkeypatch, loop_calls):
    X, rng = _data(dtype, seed=4)
    y = rng.integers(0, 3, X.shape[0])
    weights = rng.uniform(0.2, 3.0, X.shape[0])
    weights[::5] = 0  # skipped, as the NumPy loop skips a weightless batch

    def make():
        return BackpropClassifier(
            hidden_layer_sizes=(6,),
            solver="sgd",
            batch_size=1,
            max_iter=2,
            alpha=0.01,
            random_state=0,
            class_weight="balanced",
        )

    compiled, plain = _both(make, X, y, monkeypatch, loop_calls, weights)
    _assert_same_fit(compiled, plain, dtype)


def test_the_steps_do_not_depend_on_the_chunking(monkeypatch):
    X, rng = _data(np.float64, n_samples=50)
    y = rng.integers(0, 3, 50)
    settings = dict(hidden_layer_sizes=(4,), solver="sgd", batch_size=1, max_iter=2)
    one_chunk = BackpropClassifier(**settings, random_state=0).fit(X, y)
    monkeypatch.setattr(per_example, "_UPDATES_PER_CHUNK", 3 * 50)  # 3 rows a call
    chunked = BackpropClassifier(**settings, random_state=0).fit(X, y)
    assert_array_equal(chunked._theta, one_chunk._theta)
    assert_allclose(chunked.loss_curve_, one_chunk.loss_curve_, rtol=1e-15)


def test_divergence_is_reported_as_by_the_numpy_loop(monkeypatch, loop_calls):
    X, rng = _data(np.float64, seed=5)
    X *= 1e3
    y = rng.integers(0, 3, X.shape[0])

    def outcome():
        model = BackpropClassifier(
            hidden_layer_sizes=(6,),
            solver="sgd",
            batch_size=1,
            learning_rate_init=1e6,
            max_iter=3,
            random_state=0,
        )
        with pytest.raises(ValueError) as error:
            model.fit(X, y)
        return str(error.value), model

    compiled_message, compiled = outcome()
    assert loop_calls
    plain_message, plain = _without_the_loop(outcome, monkeypatch)
    assert compiled_message == plain_message
    assert "non-finite" in compiled_message
    assert not hasattr(compiled, "coefs_") and not hasattr(plain, "coefs_")


def test_ctrl_c_lands_between_complete_chunks(monkeypatch):
    X, rng = _data(np.float64, n_samples=60)
    y = rng.integers(0, 3, 60)
    monkeypatch.setattr(per_example, "_UPDATES_PER_CHUNK", 10 * 47)  # 10 rows a call
    after_each_call = []

    def pressed_during_the_second_call(theta, *args):
        result = sgd_epoch(theta, *args)
        after_each_call.append(theta.copy())
        if len(after_each_call) == 2:
            signal.raise_signal(signal.SIGINT)  # lands in skbp's handler
        return result

    monkeypatch.setattr(
        type(NUMPY), "per_example_sgd", staticmethod(pressed_during_the_second_call)
    )
    model = BackpropClassifier(
        hidden_layer_sizes=(4,), solver="sgd", batch_size=1, max_iter=5, random_state=0
    )
    with pytest.warns(UserWarning, match="interrupted"):
        model.fit(X, y)
    assert model._theta.size == 47  # 7 * 4 + 4 * 3 weights, 4 + 3 biases
    assert len(after_each_call) == 2
    assert_array_equal(model._theta, after_each_call[1])


@pytest.mark.parametrize(
    "options",
    [
        dict(solver="adam"),
        dict(batch_size=2),
        dict(dropout=0.2),
        dict(activation="gelu"),
        dict(activation="silu"),
        dict(hidden_layer_sizes=(4, 3), activation=("relu", "gelu")),
    ],
    ids=str,
)
def test_other_settings_keep_the_numpy_loop(options, loop_calls):
    X, rng = _data(np.float64, n_samples=30)
    y = rng.integers(0, 3, 30)
    settings = {**dict(solver="sgd", batch_size=1, max_iter=1), **options}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        settings = {"hidden_layer_sizes": (4,), **settings}
        BackpropClassifier(random_state=0, **settings).fit(X, y)
    assert loop_calls == []


def test_sparse_input_keeps_the_numpy_loop(loop_calls):
    X, rng = _data(np.float64, n_samples=30)
    y = rng.integers(0, 3, 30)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        BackpropClassifier(
            hidden_layer_sizes=(4,), solver="sgd", batch_size=1, max_iter=1
        ).fit(sp.csr_matrix(X), y)
    assert loop_calls == []


def test_the_hand_computed_settings_take_the_loop(loop_calls):
    # The settings of tests/test_network.py's Liskowski steps.
    from test_network import _fitted_multilabel_classifier

    X = np.array([[0.05, 0.10], [-0.6, 0.2]])
    Y = np.array([[1, 0], [0, 1]])
    _fitted_multilabel_classifier(X, Y)
    assert len(loop_calls) == 1


def test_the_loop_runs_every_activation_with_a_code():
    # GELU and SiLU have none: the NumPy loop runs them.
    assert {REGISTRY[name].kernel_code for name in ACTIVATIONS} == set(ActivationCode)
    assert {"gelu", "silu"} == set(REGISTRY) - set(ACTIVATIONS)


# ------------------------------------------------------ what the loop refuses


def _epoch_arguments(dtype=np.float64, n_samples=6):
    """Valid arguments of ``sgd_epoch`` for a (3, 4, 2) network, by name."""
    rng = np.random.default_rng(16)
    units = np.array([3, 4, 2], np.intp)
    return dict(
        theta=rng.normal(size=3 * 4 + 4 * 2 + 4 + 2).astype(dtype),
        velocity=np.zeros(26, dtype),
        X=rng.normal(size=(n_samples, 3)).astype(dtype),
        Y=np.eye(2, dtype=dtype)[rng.integers(0, 2, n_samples)],
        sample_weight=np.ones(n_samples),
        order=rng.permutation(n_samples).astype(np.intp),
        start=0,
        stop=n_samples,
        layer_units=units,
        coef_offsets=np.array([0, 12], np.intp),
        intercept_offsets=np.array([20, 24], np.intp),
        unit_offsets=np.array([0, 4], np.intp),
        buffer=np.empty(12, dtype),
        hidden_codes=np.array([ActivationCode.TANH], np.intc),
        output_code=int(OutputCode.SOFTMAX_LOG_LOSS),
        alpha=1e-4,
        learning_rate=0.1,
        momentum=0.9,
        nesterov=True,
    )


def _epoch(**changes):
    """A call of ``sgd_epoch`` with some arguments changed; it checks that a
    refused call left theta and the velocity as they were."""
    arguments = {**_epoch_arguments(), **changes}
    saved = {
        name: arguments[name].copy()
        for name in ("theta", "velocity")
        if isinstance(arguments[name], np.ndarray)
    }

    def call():
        try:
            sgd_epoch(*arguments.values())
        except Exception:
            for name, before in saved.items():
                if not np.array_equal(arguments[name], before):
                    raise AssertionError(f"a refused call changed {name}") from None
            raise

    return call


def epoch_refusals():
    """``{case: (call, error, match)}``: ``sgd_epoch`` given what it refuses."""
    cases = {}
    for name in ["theta", "velocity", "X", "Y", "layer_units", "coef_offsets"]:
        cases[f"{name}=None"] = (_epoch(**{name: None}), TypeError, NONE)
    for name in ["intercept_offsets", "unit_offsets", "buffer"]:
        cases[f"{name}=None"] = (_epoch(**{name: None}), TypeError, NONE)
    cases["hidden_codes=None"] = (_epoch(hidden_codes=None), TypeError, NONE)
    for code in [-1, len(ActivationCode), 99]:
        cases[f"hidden code {code}"] = (
            _epoch(hidden_codes=np.array([code], np.intc)),
            ValueError,
            f"no activation of code {code}",
        )
    cases["two codes for one hidden layer"] = (
        _epoch(hidden_codes=np.array([1, 1], np.intc)),
        ValueError,
        "need 1 activation codes; got 2",
    )
    cases["int64 codes"] = (
        _epoch(hidden_codes=np.array([1], np.int64)),
        ValueError,
        "dtype mismatch",
    )
    for code in [-1, len(OutputCode), 99]:
        cases[f"output code {code}"] = (
            _epoch(output_code=code),
            ValueError,
            f"no output layer of code {code}",
        )
    layout = "lie outside theta"
    cases.update(
        {
            "velocity shorter": (_epoch(velocity=np.zeros(25)), ValueError, "25"),
            "X with 4 columns": (_epoch(X=np.zeros((6, 4))), ValueError, "3 inputs"),
            "Y with 5 rows": (_epoch(Y=np.zeros((5, 2))), ValueError, "2 outputs"),
            "Y with 3 columns": (_epoch(Y=np.zeros((6, 3))), ValueError, "2 outputs"),
            "7 weights": (_epoch(sample_weight=np.ones(7)), ValueError, "7 weights"),
            "float32 weights": (
                _epoch(sample_weight=np.ones(6, np.float32)),
                ValueError,
                "dtype mismatch",
            ),
            "float32 X": (
                _epoch(X=np.zeros((6, 3), np.float32)),
                (TypeError, ValueError),
                DTYPE,
            ),
            "strided X": (
                _epoch(X=np.zeros((6, 6))[:, ::2]),
                ValueError,
                "contiguous",
            ),
            "int32 order": (
                _epoch(order=np.arange(6, dtype=np.int32)),
                ValueError,
                "dtype mismatch",
            ),
            "order past X": (
                _epoch(order=np.array([0, 1, 2, 3, 4, 6], np.intp)),
                ValueError,
                r"order\[5\] = 6 is not a row",
            ),
            "negative order": (
                _epoch(order=np.array([0, -1, 2, 3, 4, 5], np.intp)),
                ValueError,
                r"order\[1\] = -1",
            ),
            "stop past order": (
                _epoch(order=np.arange(4, dtype=np.intp), stop=5),
                ValueError,
                "not within",
            ),
            "stop past X": (_epoch(order=None, stop=7), ValueError, "not within"),
            "start after stop": (_epoch(start=4, stop=3), ValueError, "not within"),
            "negative start": (_epoch(start=-1), ValueError, "not within"),
            "one layer": (
                _epoch(
                    layer_units=np.array([3], np.intp),
                    coef_offsets=np.zeros(0, np.intp),
                    intercept_offsets=np.zeros(0, np.intp),
                    unit_offsets=np.zeros(0, np.intp),
                ),
                ValueError,
                "at least two layers",
            ),
            "an offset missing": (
                _epoch(unit_offsets=np.array([0], np.intp)),
                ValueError,
                "offsets of each kind",
            ),
            "a layer of no units": (
                _epoch(layer_units=np.array([3, 0, 2], np.intp)),
                ValueError,
                "layer 1 has no units",
            ),
            "weights past theta": (
                _epoch(coef_offsets=np.array([0, 19], np.intp)),
                ValueError,
                layout,
            ),
            "negative weight offset": (
                _epoch(coef_offsets=np.array([-1, 12], np.intp)),
                ValueError,
                layout,
            ),
            "biases past theta": (
                _epoch(intercept_offsets=np.array([20, 25], np.intp)),
                ValueError,
                layout,
            ),
            "units past the buffer": (
                _epoch(buffer=np.empty(11)),
                ValueError,
                layout,
            ),
            "an overflowing layer": (
                _epoch(layer_units=np.array([3, 2**62, 2], np.intp)),
                ValueError,
                layout,
            ),
            "read-only theta": (
                _epoch(theta=_read_only(_epoch_arguments()["theta"])),
                ValueError,
                "read-only",
            ),
        }
    )
    return cases


def _read_only(array):
    array.flags.writeable = False
    return array


@pytest.fixture(scope="module")
def epoch_refusal_outcomes():
    return outcomes_in_a_subprocess("test_sgd_loop", "epoch_refusals")


@pytest.mark.parametrize("case", sorted(epoch_refusals()))
def test_the_loop_refuses_what_it_cannot_compute(case, epoch_refusal_outcomes):
    _, error, match = epoch_refusals()[case]
    assert_refused(epoch_refusal_outcomes, case, error, match)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("order", ["shuffled", "in order"])
@pytest.mark.parametrize("weights", ["weighted", "unweighted"])
def test_the_valid_arguments_run(dtype, order, weights):
    # The refusals' starting point is a valid call (None for the optional
    # order and weights included), so that each refusal is its one change.
    arguments = _epoch_arguments(dtype)
    if order == "in order":
        arguments["order"] = None
    if weights == "unweighted":
        arguments["sample_weight"] = None
    before = arguments["theta"].copy()
    loss_sum, position, _ = sgd_epoch(*arguments.values())
    assert position == 6 and np.isfinite(loss_sum)
    assert not np.array_equal(arguments["theta"], before)


@pytest.mark.parametrize("code", sorted(SGD_EPOCH_ACTIVATIONS))
def test_every_declared_activation_code_runs(code):
    arguments = {**_epoch_arguments(), "hidden_codes": np.array([code], np.intc)}
    assert sgd_epoch(*arguments.values())[1] == 6


@pytest.mark.parametrize("code", sorted(SGD_EPOCH_OUTPUTS))
def test_every_declared_output_code_runs(code):
    arguments = {**_epoch_arguments(), "output_code": int(code)}
    assert sgd_epoch(*arguments.values())[1] == 6
