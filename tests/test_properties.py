"""Property-based tests: any fit either works or says ValueError.

Over random shapes (1 to 40 samples, 1 to 6 features, 1 to 4 classes or
outputs), dtypes (float64, float32, int64), dense, CSR or CSC input, random
parameter combinations (some changed with ``set_params`` between calls), and
tiny or degenerate data sets (constant columns, duplicated rows, all-equal
targets, one or two samples, classes with one member, values from 1e-8 to
1e8, zero and tiny sample weights), ``fit`` (then, with ``warm_start``, a
second ``fit``, and for 'sgd' / 'adam' a few ``partial_fit`` calls) either

* succeeds, with finite ``coefs_`` and ``intercepts_`` and finite
  predictions of the right shape on the training data (probability rows
  summing to one), or
* raises a ``ValueError``, the documented outcome for bad input, a
  validation set that is too small, a single class, negative Poisson
  targets, divergence, ...

and never anything else: no other exception type, no ``RuntimeWarning``.
The same ``random_state`` gives bit-identical weights.

The bug the properties found (switching ``early_stopping`` between calls
crashed), fixed since, is kept at the end as concrete cases.
"""

import copy
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning, DataConversionWarning

from skbp import BackpropClassifier, BackpropRegressor

# Reproducible and short for CI: the same examples on every run (derandomize,
# no example database), a few hundred in all across the module.
SETTINGS = settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
    ],
)

STOCHASTIC = ("sgd", "adam")

# ValueErrors that numpy or scipy raise from deep inside a computation: no
# user-facing check produces these, so seeing one means the input got past
# validation to code that cannot handle it.
INTERNAL_VALUE_ERRORS = (
    "could not be broadcast",
    "zero-size array",
    "not aligned",
    "cannot reshape",
    "setting an array element",
    "mismatch in its core dimension",
    "math domain error",
)


# --------------------------------------------------------------------------
# Strategies
# --------------------------------------------------------------------------


def _arrays(dtype, shape, elements):
    """``hnp.arrays`` drawing every element (no repeated fill value)."""
    return hnp.arrays(np.dtype(dtype), shape, elements=elements, fill=st.nothing())


def _signed(magnitudes):
    return st.builds(lambda s, m: s * m, st.sampled_from([-1.0, 1.0]), magnitudes)


@st.composite
def design_matrices(draw, n_samples, n_features):
    """X of the given shape: float64, float32 or int64; dense, CSR or CSC.

    Values are of unit scale, span 1e-8..1e8 (with zeros), or are scaled per
    column; some columns are constant and some rows duplicate others.
    """
    dtype = draw(st.sampled_from(["float64", "float32", "int64"]))
    scale = draw(st.sampled_from(["unit", "wide", "columns"]))
    if dtype == "int64":
        bound = 10**8 if scale == "wide" else 3
        elements = st.integers(-bound, bound)
    elif scale == "wide":
        elements = st.just(0.0) | _signed(
            st.floats(float(np.float32(1e-8)), 1e8, width=32)
        )
    else:
        elements = st.floats(-3.0, 3.0, width=32)
    X = draw(_arrays(dtype, (n_samples, n_features), elements))
    if scale == "columns":
        exponents = draw(_arrays(np.int64, n_features, st.integers(-8, 8)))
        X = (X * 10.0**exponents).astype(X.dtype)
    for column in draw(st.sets(st.integers(0, n_features - 1), max_size=n_features)):
        X[:, column] = X[0, column]
    pairs = st.tuples(st.integers(0, n_samples - 1), st.integers(0, n_samples - 1))
    for target, source in draw(st.lists(pairs, max_size=3)):
        X[target] = X[source]
    layout = draw(st.sampled_from(["dense", "csr", "csc"]))
    event(f"X: {dtype} {layout} {scale}")
    if layout == "csr":
        return sp.csr_matrix(X)
    if layout == "csc":
        return sp.csc_matrix(X)
    return X


@st.composite
def sample_weights(draw, n_samples):
    """None, or non-negative weights, some of them zero or tiny."""
    if draw(st.booleans()):
        return None
    weights = draw(_arrays(np.float64, n_samples, st.floats(0.1, 10.0)))
    special = st.sampled_from([1e-6, 1e-12, 1e-30, 1e-300, 0.0])
    for row in draw(st.sets(st.integers(0, n_samples - 1), max_size=n_samples)):
        weights[row] = draw(special)
    return weights


@st.composite
def classification_targets(draw, n_samples):
    """Labels of 1 to 4 classes (ints or strings), or a label indicator."""
    if (
        draw(st.sampled_from(["labels", "labels", "labels", "indicator"]))
        == "indicator"
    ):
        n_labels = draw(st.integers(2, 4))
        event("y: multilabel")
        return draw(_arrays(np.int64, (n_samples, n_labels), st.integers(0, 1)))
    n_classes = draw(st.sampled_from([2, 3, 4, 2, 3, 4, 1]))
    labels = draw(
        st.sampled_from(
            [
                np.arange(4),
                np.array([-5, 2, 3, 100]),
                np.array(["a", "b", "c", "d"]),
            ]
        )
    )[:n_classes]
    if draw(st.booleans()):  # every class present as far as n_samples allows
        order = draw(st.permutations(range(n_samples)))
        index = np.arange(n_samples)[order] % n_classes
    else:
        index = draw(_arrays(np.int64, n_samples, st.integers(0, n_classes - 1)))
    event(f"y: {n_classes} classes")
    return labels[index]


@st.composite
def regression_targets(draw, n_samples, loss):
    """Targets in the domain of ``loss``, now and then one outside it."""
    n_outputs = draw(st.integers(1, 4))
    domain, outside = {
        "squared_error": (st.floats(-1e3, 1e3), None),
        "poisson": (st.floats(0.0, 50.0), -1.0),
        "log_loss": (st.floats(0.0, 1.0), 1.5),
    }[loss]
    shape = n_samples if n_outputs == 1 else (n_samples, n_outputs)
    y = draw(_arrays(np.float64, shape, domain))
    if draw(st.booleans()):
        y[...] = y[:1]  # all targets equal
    if outside is not None and draw(st.integers(0, 7)) == 7:
        y.flat[draw(st.integers(0, y.size - 1))] = outside
    if n_outputs == 1 and draw(st.booleans()):
        y = y.reshape(-1, 1)
    return y


@st.composite
def parameters(draw, n_samples, losses):
    return {
        "loss": draw(st.sampled_from(losses)),
        "hidden_layer_sizes": draw(st.sampled_from([(), (1,), (3,), (4, 2)])),
        "activation": draw(st.sampled_from(["identity", "logistic", "tanh", "relu"])),
        "solver": draw(st.sampled_from(["sgd", "adam", "lbfgs"])),
        "alpha": draw(st.floats(0.0, 1.0)),
        "batch_size": draw(st.just("auto") | st.integers(1, n_samples + 5)),
        "learning_rate": draw(st.sampled_from(["constant", "invscaling", "adaptive"])),
        "learning_rate_init": draw(st.floats(1e-4, 1.0)),
        "momentum": draw(st.floats(0.0, 1.0)),
        "nesterovs_momentum": draw(st.booleans()),
        "early_stopping": draw(st.booleans()),
        "validation_fraction": draw(st.floats(0.1, 0.9)),
        "shuffle": draw(st.booleans()),
        "max_iter": draw(st.integers(1, 5)),
        "n_iter_no_change": draw(st.integers(1, 3)),
        "warm_start": draw(st.booleans()),
        "random_state": draw(st.integers(0, 2**16)),
    }


@dataclass
class Case:
    """One generated scenario: an unfitted estimator, its data and its calls.

    ``changes`` are parameters set after the first fit, before the
    ``warm_start`` refit or the ``partial_fit`` calls.  ``partial_rows`` are
    the row subsets of the ``partial_fit`` calls (none for 'lbfgs'); with
    ``fresh_stream`` they go to an unfitted copy of the estimator instead, the
    first call naming the classes.
    """

    estimator: object
    X: object
    y: np.ndarray
    sample_weight: np.ndarray = None
    changes: dict = field(default_factory=dict)
    partial_rows: list = field(default_factory=list)
    fresh_stream: bool = False


# Parameters that may change between calls.  Not warm_start, which decides
# what the calls are.
_CHANGEABLE = (
    "early_stopping",
    "loss",
    "hidden_layer_sizes",
    "activation",
    "solver",
    "alpha",
    "batch_size",
    "learning_rate",
    "learning_rate_init",
    "momentum",
    "nesterovs_momentum",
    "validation_fraction",
    "shuffle",
    "max_iter",
    "n_iter_no_change",
    "random_state",
)


@st.composite
def cases(draw, kind):
    # Single-sample and two-sample data sets get a branch of their own.
    if draw(st.integers(0, 9)) == 9:
        n_samples = draw(st.integers(1, 2))
    else:
        n_samples = draw(st.integers(1, 40))
    event(f"n_samples: {n_samples if n_samples < 3 else '3+'}")
    n_features = draw(st.integers(1, 6))
    X = draw(design_matrices(n_samples, n_features))
    if kind == "classifier":
        losses = ["log_loss", "squared_error"]
        params = draw(parameters(n_samples, losses))
        estimator = BackpropClassifier(**params)
        y = draw(classification_targets(n_samples))
    else:
        losses = ["squared_error", "poisson", "log_loss"]
        params = draw(parameters(n_samples, losses))
        estimator = BackpropRegressor(**params)
        y = draw(regression_targets(n_samples, params["loss"]))
    stochastic = params["solver"] in STOCHASTIC
    changes = {}
    if draw(st.integers(0, 2)) == 2:
        new = draw(parameters(n_samples, losses))
        # sgd <-> adam swaps the optimizer; lbfgs has no partial_fit.
        new["solver"] = draw(st.sampled_from(STOCHASTIC)) if stochastic else "lbfgs"
        names = draw(st.sets(st.sampled_from(_CHANGEABLE), min_size=1, max_size=3))
        changes = {name: new[name] for name in sorted(names)}
        event("changes parameters between calls")
    rows = st.lists(
        st.integers(0, n_samples - 1), min_size=1, max_size=n_samples, unique=True
    )
    n_partial = draw(st.integers(1, 3)) if stochastic else 0
    event(f"solver: {params['solver']}")
    return Case(
        estimator,
        X,
        y,
        sample_weight=draw(sample_weights(n_samples)),
        changes=changes,
        partial_rows=[np.array(sorted(draw(rows))) for _ in range(n_partial)],
        fresh_stream=draw(st.booleans()),
    )


# --------------------------------------------------------------------------
# Checks
# --------------------------------------------------------------------------


def _check_fitted(estimator, X, y):
    """Finite parameters; finite predictions of the right shape on ``X``."""
    n_samples = X.shape[0]
    for array in [*estimator.coefs_, *estimator.intercepts_]:
        assert np.isfinite(array).all()
    prediction = estimator.predict(X)
    expected_shape = (n_samples,) if np.ndim(y) == 1 or y.shape[1] == 1 else y.shape
    assert prediction.shape == expected_shape
    if isinstance(estimator, BackpropRegressor):
        assert prediction.dtype == X.dtype or X.dtype.kind != "f"
        assert np.isfinite(prediction).all()
        return
    assert np.isin(prediction, estimator.classes_).all()
    proba = estimator.predict_proba(X)
    log_proba = estimator.predict_log_proba(X)
    assert proba.shape == log_proba.shape == (n_samples, len(estimator.classes_))
    assert np.isfinite(proba).all()
    assert np.isfinite(log_proba).all()
    assert ((proba > 0) & (proba < 1)).all()
    assert (log_proba <= 0).all()
    if np.ndim(y) == 1:  # not multilabel
        tolerance = 1e-4 if proba.dtype == np.float32 else 1e-6
        np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=0, atol=tolerance)


def _check_refusal(error):
    """Fail if a ValueError comes from deep inside numpy, not from a check."""
    message = str(error)
    # numpy's AxisError is both a ValueError and an IndexError.
    assert not isinstance(error, (IndexError, TypeError)), repr(error)
    assert not any(text in message for text in INTERNAL_VALUE_ERRORS), repr(error)


def _refused(error):
    _check_refusal(error)
    event("outcome: ValueError " + str(error)[:40])


@contextmanager
def _warnings_checked():
    """RuntimeWarnings raise; convergence and clipping warnings are expected."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", DataConversionWarning)  # y of shape (n, 1)
        warnings.filterwarnings("ignore", "Got `batch_size`", UserWarning)
        yield


def _rows(array, rows):
    return None if array is None else array[rows]


def _calls(case):
    """Yield ``(estimator, method, args, kwargs)`` for each call of ``case``."""
    estimator, X, y, sample_weight = case.estimator, case.X, case.y, case.sample_weight
    refit = estimator.warm_start
    yield estimator, "fit", (X, y), {"sample_weight": sample_weight}
    estimator.set_params(**case.changes)
    if refit:
        yield estimator, "fit", (X, y), {"sample_weight": sample_weight}
    if not case.partial_rows:
        return
    stream = estimator
    classes = None
    # partial_fit refuses early_stopping=True: a stream switches it off, either
    # carrying on from the fit or starting afresh.
    if case.fresh_stream:
        stream = clone(estimator).set_params(early_stopping=False)
        if isinstance(stream, BackpropClassifier):
            classes = np.arange(y.shape[1]) if np.ndim(y) == 2 else np.unique(y)
    else:
        stream.set_params(early_stopping=False)
    for rows in case.partial_rows:
        kwargs = {"sample_weight": _rows(sample_weight, rows)}
        if classes is not None:
            kwargs["classes"] = classes
            classes = None
        yield stream, "partial_fit", (X[rows], y[rows]), kwargs


def _exercise(case):
    """Run every call of ``case``; return the fitted models, or None if refused.

    Each call either succeeds, leaving a model whose weights and predictions
    on the training X are finite, or raises a ValueError, which ends the case.
    """
    fitted = []
    with _warnings_checked():
        for estimator, method, args, kwargs in _calls(case):
            try:
                getattr(estimator, method)(*args, **kwargs)
            except ValueError as error:
                _refused(error)
                return None
            _check_fitted(estimator, case.X, case.y)
            fitted.append(estimator)
    event("outcome: fitted")
    return fitted


def _weights(estimator):
    return [a.copy() for a in [*estimator.coefs_, *estimator.intercepts_]]


# --------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------


@SETTINGS
@given(case=cases("classifier"))
def test_classifier_fits_or_raises_value_error(case):
    _exercise(case)


@SETTINGS
@given(case=cases("regressor"))
def test_regressor_fits_or_raises_value_error(case):
    _exercise(case)


@settings(SETTINGS, max_examples=60)  # each example fits twice
@given(case=st.sampled_from(["classifier", "regressor"]).flatmap(cases))
def test_same_random_state_gives_identical_weights(case):
    twin = copy.deepcopy(case)
    fitted = _exercise(case)
    twin_fitted = _exercise(twin)
    assert (fitted is None) == (twin_fitted is None)
    for model, twin_model in zip(fitted or [], twin_fitted or [], strict=True):
        for a, b in zip(_weights(model), _weights(twin_model), strict=True):
            np.testing.assert_array_equal(a, b, strict=True)


# --------------------------------------------------------------------------
# Bugs the properties found, kept as concrete cases
# --------------------------------------------------------------------------

_FOUR_ROWS = np.array([[0.0], [1.0], [0.0], [1.0]]), np.array([0, 1, 0, 1])


@pytest.mark.parametrize("solver", STOCHASTIC)
@pytest.mark.parametrize(
    "fitted_with, then, method",
    [
        pytest.param(
            True,
            False,
            "partial_fit",
            id="on-then-off-partial_fit",
        ),
        pytest.param(
            True,
            False,
            "fit",
            id="on-then-off-warm-fit",
        ),
        pytest.param(
            False,
            True,
            "fit",
            id="off-then-on-warm-fit",
        ),
    ],
)
def test_switching_early_stopping_between_calls(solver, fitted_with, then, method):
    # Found by the properties with set_params(early_stopping=...) between
    # calls, and fixed: it raised TypeError "unsupported operand type(s) for
    # -: 'NoneType' and 'float'" (best_loss_ was None after an early-stopping
    # fit) and AttributeError "'NoneType' object has no attribute 'append'"
    # (validation_scores_ was None after a fit without early stopping).
    X, y = _FOUR_ROWS
    estimator = BackpropClassifier(
        hidden_layer_sizes=(),
        solver=solver,
        max_iter=2,
        early_stopping=fitted_with,
        validation_fraction=0.5,
        warm_start=True,
        random_state=0,
    )
    with _warnings_checked():
        estimator.fit(X, y)
        estimator.set_params(early_stopping=then)
        try:
            getattr(estimator, method)(X, y)
        except ValueError as error:  # partial_fit refuses early_stopping=True
            _check_refusal(error)
            return
        _check_fitted(estimator, X, y)
