"""Correctness of the estimators against references written elsewhere.

skbp's classes claim to be drop-in supersets of scikit-learn's
``MLPClassifier`` and ``MLPRegressor``.  These tests hold them to that claim
with references nobody here wrote:

* a network without hidden layers trained with log-loss *is* logistic
  regression, so it must reproduce :class:`~sklearn.linear_model.LogisticRegression`
  on real data sets shipped with scikit-learn;
* plain SGD started from identical weights must take the same steps as
  scikit-learn's MLP, batch for batch, for every kind of target, with and
  without sample weights, on dense and sparse input;
* the same ``random_state`` must give the same fitted model as scikit-learn
  for the usual solver settings (Adam, SGD with Nesterov momentum, the
  adaptive and inverse-scaling schedules, L-BFGS, early stopping).

Known, deliberate difference: for *multi-output* squared error, skbp's
``loss_`` is the squared error summed over the outputs (the objective whose
gradient both libraries follow), while scikit-learn reports it averaged over
the outputs.  ``loss_`` and ``loss_curve_`` are therefore compared for
single-output models only; the weights, which depend on the gradient alone,
are compared everywhere.
"""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.preprocessing import StandardScaler

from skbp import BackpropClassifier, BackpropRegressor

# --------------------------------------------------------------------------
# 1. No hidden layer + log-loss == logistic regression
# --------------------------------------------------------------------------


def _standardized(loader):
    X, y = loader(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def _penalized_log_loss(proba, y, coef, C):
    """LogisticRegression's objective: mean log-loss + ||W||^2 / (2 C n)."""
    return log_loss(y, proba) + 0.5 * float(np.sum(coef**2)) / (C * len(y))


@pytest.mark.parametrize(
    "loader, out_activation",
    [(load_breast_cancer, "logistic"), (load_iris, "softmax")],
    ids=["breast_cancer-binary", "iris-multinomial"],
)
def test_no_hidden_layer_is_logistic_regression(loader, out_activation):
    # Unpenalized LR is ill-posed here: standardized breast_cancer is
    # linearly separable (the unpenalized weights run off to ~6e4) and
    # setosa is separable in iris.  So both sides get the same small L2
    # penalty.  LogisticRegression minimises
    #     mean log-loss + ||W||^2 / (2 C n)
    # and the MLP minimises
    #     mean log-loss + alpha ||W||^2 / (2 n),
    # neither penalising the intercepts, so alpha = 1 / C is the same problem,
    # strictly convex in the weights: one optimum, one set of probabilities.
    # (C=np.inf is the spelling of "no penalty" that scikit-learn 1.9 accepts
    # without a FutureWarning; penalty=None is deprecated.)
    X, y = _standardized(loader)
    C = 10.0
    reference = LogisticRegression(C=C, tol=1e-10, max_iter=10000).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        model = BackpropClassifier(
            hidden_layer_sizes=(),
            solver="lbfgs",
            alpha=1.0 / C,
            tol=1e-10,
            max_iter=10000,
            random_state=0,
        ).fit(X, y)

    assert model.out_activation_ == out_activation
    assert model.n_layers_ == 2
    proba, reference_proba = model.predict_proba(X), reference.predict_proba(X)
    # The MLP's L-BFGS (like scikit-learn's MLP) runs with scipy's default
    # ftol=2.2e-9: it stops once an iteration lowers the objective (~0.05 here)
    # by less than ~2e-9 absolute, with a projected gradient of ~3e-6, while
    # LogisticRegression passes ftol=64 eps and gets to ~1e-9.  A gradient of
    # 3e-6 over a Hessian of a few 1e-3 leaves the weights off by ~1e-3 and
    # the probabilities by up to ~4e-4 (measured), hence atol=1e-3 ...
    assert_allclose(proba, reference_proba, rtol=0, atol=1e-3)
    assert_array_equal(model.predict(X), reference.predict(X))
    # ... while the objective, flat at the optimum, agrees far more tightly:
    # within 1e-7 absolute (measured gap ~2e-8, about ten final L-BFGS steps
    # of ftol size), computed here with scikit-learn's log_loss, not with
    # skbp's own loss code.  LR's optimum must not be beaten by more than
    # round-off, or one of the two solves a different problem.
    objective = _penalized_log_loss(proba, y, model.coefs_[0], C)
    reference_objective = _penalized_log_loss(reference_proba, y, reference.coef_, C)
    assert objective >= reference_objective - 1e-12
    assert objective == pytest.approx(reference_objective, rel=0, abs=1e-7)
    # The weights themselves: LR stores (n_classes or 1, n_features).
    assert_allclose(model.coefs_[0].T, reference.coef_, rtol=0, atol=5e-2)


def _diabetes_classes(n_classes):
    """Diabetes progression cut at its quantiles: real, overlapping classes."""
    X, target = _standardized(load_diabetes)
    cuts = np.quantile(target, np.arange(1, n_classes) / n_classes)
    return X, np.digitize(target, cuts)


@pytest.mark.parametrize("n_classes", [2, 3], ids=["binary", "multinomial"])
def test_no_hidden_layer_without_penalty_is_logistic_regression(n_classes):
    # Without any penalty on either side: these classes overlap, so the
    # unpenalized maximum-likelihood problem has a finite optimum and both
    # libraries must find the same probabilities.  (Multinomial weights are
    # only identified up to a shift shared by all classes, so probabilities
    # and the objective are compared, not the weights.)
    X, y = _diabetes_classes(n_classes)
    reference = LogisticRegression(C=np.inf, tol=1e-12, max_iter=100_000).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        model = BackpropClassifier(
            hidden_layer_sizes=(),
            solver="lbfgs",
            alpha=0.0,
            tol=1e-12,
            max_iter=100_000,
            random_state=0,
        ).fit(X, y)
    proba, reference_proba = model.predict_proba(X), reference.predict_proba(X)
    # L-BFGS stops on scipy's default ftol (as scikit-learn's MLP does):
    # measured gaps are 7e-5 (binary) and 2e-4 (multinomial).
    assert_allclose(proba, reference_proba, rtol=0, atol=5e-4)
    # The likelihood, flat at the optimum, agrees much more tightly, and LR's
    # optimum is not beaten beyond round-off.
    objective, reference_objective = log_loss(y, proba), log_loss(y, reference_proba)
    assert objective >= reference_objective - 1e-12
    assert objective == pytest.approx(reference_objective, rel=0, abs=1e-7)


# --------------------------------------------------------------------------
# 2. Identical starting weights -> identical SGD steps
# --------------------------------------------------------------------------

N_SAMPLES, N_FEATURES = 50, 4


def _targets(kind, X, rng):
    """Targets of the given kind for the rows of ``X``."""
    signal = X @ rng.normal(size=(X.shape[1], 3))
    if kind == "binary":
        return (signal[:, 0] > 0).astype(int)
    if kind == "multiclass":
        return np.array(["a", "b", "c"])[np.argmax(signal, axis=1)]
    if kind == "multilabel":
        return (signal > 0).astype(int)
    if kind == "regression":
        return signal[:, 0] + 0.1 * rng.normal(size=X.shape[0])
    if kind == "multioutput":
        return signal[:, :2] + 0.1 * rng.normal(size=(X.shape[0], 2))
    raise AssertionError(kind)


def _pair(kind, **params):
    """skbp's estimator and scikit-learn's, with the same parameters."""
    if kind in ("binary", "multiclass", "multilabel"):
        return BackpropClassifier(**params), MLPClassifier(**params)
    return BackpropRegressor(**params), MLPRegressor(**params)


def _assert_same_weights(ours, theirs, rtol, atol):
    assert len(ours.coefs_) == len(theirs.coefs_)
    for mine, reference in zip(ours.coefs_, theirs.coefs_, strict=True):
        assert_allclose(mine, reference, rtol=rtol, atol=atol)
    for mine, reference in zip(ours.intercepts_, theirs.intercepts_, strict=True):
        assert_allclose(mine, reference, rtol=rtol, atol=atol)


def _quiet_fit(estimator, *args, **kwargs):
    # max_iter is deliberately small: the ConvergenceWarning is expected.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator.fit(*args, **kwargs)


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize(
    "kind", ["binary", "multiclass", "multilabel", "regression", "multioutput"]
)
def test_plain_sgd_takes_sklearns_steps(kind, weighted, sparse):
    rng = np.random.default_rng(2)
    X = rng.normal(size=(N_SAMPLES, N_FEATURES))
    y = _targets(kind, X, rng)
    sample_weight = rng.uniform(0.2, 3.0, size=N_SAMPLES) if weighted else None
    if sparse:
        # A third of the entries zero, so the sparse products do real work.
        X[rng.uniform(size=X.shape) < 0.3] = 0.0
        X = sp.csr_matrix(X)
    params = dict(
        hidden_layer_sizes=(5, 3),
        activation="tanh",
        solver="sgd",
        momentum=0.0,
        shuffle=False,
        learning_rate="constant",
        learning_rate_init=0.05,
        batch_size=16,  # 50 rows: three full batches and a short one
        alpha=1e-3,
        max_iter=1,
        random_state=0,
    )
    ours, theirs = _pair(kind, **params)
    _quiet_fit(ours, X, y, sample_weight=sample_weight)
    _quiet_fit(theirs, X, y, sample_weight=sample_weight)

    # Overwrite both with the same weights, drawn independently of either
    # library's initialisation; in place for skbp, whose coefs_ are views.
    for layer, coef in enumerate(theirs.coefs_):
        W = rng.uniform(-0.7, 0.7, size=coef.shape)
        b = rng.uniform(-0.7, 0.7, size=theirs.intercepts_[layer].shape)
        ours.coefs_[layer][...] = W
        ours.intercepts_[layer][...] = b
        theirs.coefs_[layer][...] = W
        theirs.intercepts_[layer][...] = b
    start = [coef.copy() for coef in ours.coefs_]

    for _ in range(4):
        ours.partial_fit(X, y, sample_weight=sample_weight)
        theirs.partial_fit(X, y, sample_weight=sample_weight)
        # Same arithmetic in a possibly different order: round-off only.
        _assert_same_weights(ours, theirs, rtol=1e-10, atol=1e-13)
        if kind != "multioutput":
            assert ours.loss_ == pytest.approx(theirs.loss_, rel=1e-10)
    assert ours.t_ == theirs.t_
    # The steps were real ones: every layer moved from where it was set.
    for coef, initial in zip(ours.coefs_, start, strict=True):
        assert np.max(np.abs(coef - initial)) > 1e-4


@pytest.mark.parametrize("activation", ["identity", "logistic", "relu"])
def test_plain_sgd_steps_for_each_hidden_activation(activation):
    # tanh is covered above; the other derivatives feed backprop as well.
    rng = np.random.default_rng(3)
    X = rng.normal(size=(N_SAMPLES, N_FEATURES))
    y = _targets("multiclass", X, rng)
    params = dict(
        hidden_layer_sizes=(6,),
        activation=activation,
        solver="sgd",
        momentum=0.0,
        shuffle=False,
        learning_rate_init=0.1,
        batch_size=20,
        max_iter=1,
        random_state=1,
    )
    ours, theirs = _pair("multiclass", **params)
    _quiet_fit(ours, X, y)
    _quiet_fit(theirs, X, y)
    for layer, coef in enumerate(theirs.coefs_):
        W = rng.uniform(-1, 1, size=coef.shape)
        ours.coefs_[layer][...] = W
        theirs.coefs_[layer][...] = W
    for _ in range(3):
        ours.partial_fit(X, y)
        theirs.partial_fit(X, y)
        _assert_same_weights(ours, theirs, rtol=1e-10, atol=1e-13)


def test_warm_start_sgd_epochs_match_sklearn():
    # The other route to more epochs: fit again with warm_start=True.
    rng = np.random.default_rng(4)
    X = rng.normal(size=(N_SAMPLES, N_FEATURES))
    y = _targets("regression", X, rng)
    params = dict(
        hidden_layer_sizes=(4,),
        solver="sgd",
        momentum=0.0,
        shuffle=False,
        learning_rate_init=0.02,
        batch_size=10,
        max_iter=1,
        random_state=0,
        warm_start=True,
    )
    ours, theirs = _pair("regression", **params)
    _quiet_fit(ours, X, y)
    _quiet_fit(theirs, X, y)
    W = rng.uniform(-1, 1, size=theirs.coefs_[0].shape)
    ours.coefs_[0][...] = W
    theirs.coefs_[0][...] = W
    ours.set_params(max_iter=3)
    theirs.set_params(max_iter=3)
    _quiet_fit(ours, X, y)
    _quiet_fit(theirs, X, y)
    _assert_same_weights(ours, theirs, rtol=1e-10, atol=1e-13)
    assert ours.n_iter_ == theirs.n_iter_ == 3


# --------------------------------------------------------------------------
# 3. Same random_state -> same fitted model
# --------------------------------------------------------------------------

SOLVER_SETTINGS = {
    "adam": dict(solver="adam", learning_rate_init=0.01, max_iter=40),
    "sgd-nesterov": dict(
        solver="sgd", momentum=0.9, nesterovs_momentum=True, max_iter=40
    ),
    "sgd-classical": dict(
        solver="sgd", momentum=0.5, nesterovs_momentum=False, max_iter=20
    ),
    # A large tol and short patience make the adaptive schedule divide the
    # learning rate (and eventually stop) within the run.
    "sgd-adaptive": dict(
        solver="sgd",
        learning_rate="adaptive",
        learning_rate_init=0.05,
        tol=1e-2,
        n_iter_no_change=2,
        max_iter=60,
    ),
    "sgd-invscaling": dict(
        solver="sgd",
        learning_rate="invscaling",
        learning_rate_init=0.5,
        power_t=0.3,
        max_iter=20,
    ),
    # Binary and multiclass converge in ~20 iterations; multilabel does not,
    # and past ~40 iterations round-off (1e-15 at first) has grown to 1e-8 in
    # both libraries' L-BFGS trajectories, so stop at 30 (both warn).
    "lbfgs": dict(solver="lbfgs", max_iter=30),
    # Fast enough to learn within the run and patient enough that the best
    # validation epoch is neither the first nor the last: early stopping
    # fires and the restored weights are not the final ones.
    "adam-early-stopping": dict(
        solver="adam",
        learning_rate_init=0.05,
        early_stopping=True,
        validation_fraction=0.2,
        n_iter_no_change=5,
        max_iter=60,
    ),
    "sgd-early-stopping": dict(
        solver="sgd",
        learning_rate_init=0.3,
        early_stopping=True,
        validation_fraction=0.25,
        n_iter_no_change=5,
        max_iter=60,
    ),
}

_EXACT_ATTRIBUTES = ("n_iter_", "t_", "n_layers_", "n_outputs_", "out_activation_")


def _assert_same_fitted_model(ours, theirs, compare_loss):
    # L-BFGS and many epochs amplify round-off a little: rtol 1e-7.
    _assert_same_weights(ours, theirs, rtol=1e-7, atol=1e-10)
    for name in _EXACT_ATTRIBUTES:
        assert getattr(ours, name) == getattr(theirs, name), name
    reference_scores = getattr(theirs, "validation_scores_", None)
    if reference_scores is None:
        assert ours.validation_scores_ is None
        assert ours.best_validation_score_ is None
    else:
        # Accuracy / R^2 on the same held-out rows: the split must match.
        assert_allclose(ours.validation_scores_, reference_scores, rtol=1e-7)
        assert ours.best_validation_score_ == pytest.approx(
            theirs.best_validation_score_, rel=1e-7
        )
        # The best epoch was not the last one, so the weights compared above
        # are the restored best ones, not simply the final ones.
        assert int(np.argmax(ours.validation_scores_)) < ours.n_iter_ - 1
    if compare_loss:
        assert ours.loss_ == pytest.approx(theirs.loss_, rel=1e-7)
        if hasattr(theirs, "loss_curve_"):
            assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-7)
        if getattr(theirs, "best_loss_", None) is not None:
            assert ours.best_loss_ == pytest.approx(theirs.best_loss_, rel=1e-7)
    if hasattr(theirs, "classes_"):
        assert_array_equal(ours.classes_, theirs.classes_)


# Multi-output squared error is left out where the *value* of the loss steers
# training, since skbp's is n_outputs times scikit-learn's (see the module
# docstring): the adaptive schedule's stall test compares loss improvements
# with tol, and scikit-learn's L-BFGS line search is fed the output-averaged
# loss with the output-summed gradient, so the two take different paths.
# Where only the gradient matters (Adam, SGD) multi-output is compared.
_LOSS_STEERED = {"sgd-adaptive", "lbfgs"}
_KINDS = ["binary", "multiclass", "multilabel", "regression", "multioutput"]


@pytest.mark.parametrize(
    "kind, setting",
    [
        (kind, setting)
        for kind in _KINDS
        for setting in SOLVER_SETTINGS
        if not (kind == "multioutput" and setting in _LOSS_STEERED)
    ],
)
def test_same_random_state_same_model_as_sklearn(kind, setting):
    rng = np.random.default_rng(5)
    X = rng.normal(size=(80, N_FEATURES))
    y = _targets(kind, X, rng)
    params = dict(hidden_layer_sizes=(7,), random_state=11, **SOLVER_SETTINGS[setting])
    ours, theirs = _pair(kind, **params)
    with warnings.catch_warnings(record=True) as our_warnings:
        warnings.simplefilter("always", ConvergenceWarning)
        ours.fit(X, y)
    with warnings.catch_warnings(record=True) as their_warnings:
        warnings.simplefilter("always", ConvergenceWarning)
        theirs.fit(X, y)

    _assert_same_fitted_model(ours, theirs, compare_loss=kind != "multioutput")
    if params.get("early_stopping"):
        # Early stopping fired before max_iter (the settings are chosen so).
        assert ours.n_iter_ < params["max_iter"]
    # Both stopped for the same reason: both warn, or neither does.
    assert _converged(our_warnings) == _converged(their_warnings)
    assert_allclose(_decision(ours, X), _decision(theirs, X), rtol=1e-6, atol=1e-9)


def _converged(caught):
    return not any(issubclass(w.category, ConvergenceWarning) for w in caught)


def _decision(estimator, X):
    if hasattr(estimator, "predict_proba"):
        return estimator.predict_proba(X)
    return estimator.predict(X)


def test_multioutput_loss_is_summed_where_sklearn_averages():
    # The documented difference, pinned down so that it cannot change
    # silently: skbp's loss_ is scikit-learn's times the number of outputs
    # (for alpha=0, where no penalty term muddies the relation).
    rng = np.random.default_rng(6)
    X = rng.normal(size=(40, 3))
    y = _targets("multioutput", X, rng)
    params = dict(
        hidden_layer_sizes=(4,), solver="sgd", alpha=0.0, max_iter=5, random_state=0
    )
    ours, theirs = _pair("multioutput", **params)
    _quiet_fit(ours, X, y)
    _quiet_fit(theirs, X, y)
    _assert_same_weights(ours, theirs, rtol=1e-10, atol=1e-13)
    assert_allclose(
        ours.loss_curve_, np.multiply(theirs.loss_curve_, y.shape[1]), rtol=1e-10
    )


@pytest.mark.parametrize("solver", ["sgd", "adam"])
@pytest.mark.parametrize("seed", [0, 7, "RandomState(5)"])
def test_shuffled_partial_fit_stream_matches_sklearn(solver, seed):
    # partial_fit re-seeds from random_state on every call and shuffles the
    # call's rows, as scikit-learn does; skbp memoizes that shuffle for integer
    # seeds. Batches of changing sizes, several calls of each, must give
    # scikit-learn's weights.
    rng = np.random.default_rng(12)
    X = rng.normal(size=(N_SAMPLES, N_FEATURES))
    y = _targets("multiclass", X, rng)
    classes = np.unique(y)
    models = {}
    for lib in ("skbp", "sklearn"):
        # A RandomState instance is drawn from across calls (not memoized):
        # each library gets its own, seeded alike.
        random_state = np.random.RandomState(5) if isinstance(seed, str) else seed
        params = dict(
            hidden_layer_sizes=(6,),
            solver=solver,
            batch_size=8,
            random_state=random_state,
        )
        ours, theirs = _pair("multiclass", **params)
        model = ours if lib == "skbp" else theirs
        for start, size in [(0, 20), (20, 20), (5, 13), (30, 20), (7, 13), (19, 31)]:
            rows = slice(start, start + size)
            model.partial_fit(X[rows], y[rows], classes=classes)
        models[lib] = model
    _assert_same_weights(models["skbp"], models["sklearn"], rtol=1e-10, atol=1e-13)
    assert models["skbp"].t_ == models["sklearn"].t_


# --------------------------------------------------------------------------
# 4. The same warnings
# --------------------------------------------------------------------------


def _convergence_messages(estimator, X, y):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        estimator.fit(X, y)
    return [
        str(w.message) for w in caught if issubclass(w.category, ConvergenceWarning)
    ]


@pytest.mark.parametrize("limit", [{"max_iter": 5}, {"max_fun": 4}])
def test_lbfgs_convergence_warning_is_sklearns(limit):
    # Word for word scikit-learn's: iterations and status are the same here.
    rng = np.random.default_rng(3)
    X = rng.normal(size=(N_SAMPLES, N_FEATURES))
    y = X[:, 0] - 2 * X[:, 1] ** 2
    params = dict(hidden_layer_sizes=(6,), solver="lbfgs", random_state=0, **limit)
    ours = _convergence_messages(BackpropRegressor(**params), X, y)
    theirs = _convergence_messages(MLPRegressor(**params), X, y)
    assert len(theirs) == 1
    assert ours == theirs


def test_lbfgs_convergence_warning_without_sklearns_helper(monkeypatch):
    # skbp's own words, for a scikit-learn without its private helper.
    import skbp._base

    rng = np.random.default_rng(3)
    X = rng.normal(size=(N_SAMPLES, N_FEATURES))
    y = X[:, 0] - 2 * X[:, 1] ** 2
    params = dict(hidden_layer_sizes=(6,), solver="lbfgs", random_state=0)
    for limit in ({"max_iter": 5}, {"max_fun": 4}):
        theirs = _convergence_messages(MLPRegressor(**params, **limit), X, y)
        with monkeypatch.context() as patch:
            patch.setattr(skbp._base, "_check_optimize_result", None)
            ours = _convergence_messages(BackpropRegressor(**params, **limit), X, y)
        assert ours == theirs
