"""Failure paths: what a failing or diverging call leaves behind.

Covers the fixes of one change, each test failing on the code before it:

* a ``np.random.RandomState`` given as ``random_state`` is rewound when a call
  fails, so that the next fit draws what it would have drawn without it;
* callbacks are torn down whether the fit succeeds or fails, so that none
  (``ScoringMonitor`` included) keeps the estimator alive;
* concurrent L-BFGS fits give scipy's BLAS its thread count back (the limit
  to one thread is shared and counted, not saved and restored by each fit);
* later calls (``partial_fit``, warm-started ``fit``) keep the model's dtype
  and the ``coefs_`` views a user holds;
* a fit that returns predicts finite values on every training row, not only
  on the first ones;
* early stopping survives an epoch whose loss is not finite: its score is NaN
  and the best weights are kept, as in scikit-learn's MLP.

A few assertions inside these tests held before the change too, and are kept
beside the ones that did not as the other half of the same contract: the
pickle of a successfully fitted model never held the callback context, and a
divergence with no best epoch to fall back on (first epoch, or a
``partial_fit`` stream) raised then as it does now.

Two BLAS tests cover threadpoolctl 3.8's rule that only one live thread at
a time may set the thread count of an OpenBLAS with pthreads: fits in
threads that outlive them (a thread pool) must still leave scipy's BLAS as
it was, and the thread of an L-BFGS fit must not keep control of OpenBLAS
after it, so that other threads' limits still work.
"""

import gc
import os
import pickle
import re
import threading
import types
import warnings
import weakref
from contextlib import ExitStack
from functools import partial

import numpy as np
import pytest
import scipy
from numpy.testing import assert_array_equal
from sklearn.base import clone
from sklearn.callback import ScoringMonitor
from sklearn.datasets import load_iris
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import (
    OpenBLASController,
    ThreadpoolController,
    threadpool_info,
    threadpool_limits,
)

import skbp._lbfgs
from skbp import BackpropRegressor
from skbp._lbfgs import _scipy_blas_on_one_thread

DIVERGED = "non-finite"


# ---------------------------------------------------------------- helpers


def _regression_data(seed=0, n_samples=100, n_features=3):
    """Gaussian features and a linear target."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_samples, n_features))
    return X, X[:, 0] - X[:, 1]


def _small(**params):
    """A small stochastic regressor; ``params`` override the defaults."""
    settings = dict(hidden_layer_sizes=(5,), solver="sgd", max_iter=3, random_state=0)
    return BackpropRegressor(**{**settings, **params})


def _quietly(call, *args, **kwargs):
    """``call(*args, **kwargs)`` with ConvergenceWarning silenced."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return call(*args, **kwargs)


def _weights(model):
    """The model's coefficient and intercept arrays, in order."""
    return [*model.coefs_, *model.intercepts_]


def _assert_same_weights(model, reference):
    for ours, theirs in zip(_weights(model), _weights(reference), strict=True):
        assert ours.dtype == theirs.dtype
        assert_array_equal(ours, theirs)


def _assert_same_random_state(state, expected):
    """Compare two ``RandomState.get_state()`` tuples."""
    assert len(state) == len(expected)
    for ours, theirs in zip(state, expected, strict=True):
        assert_array_equal(ours, theirs)


def _assert_fails_and_changes_nothing(model, call, random_state=None):
    """``call()`` raises ValueError; ``model`` and ``random_state`` are unchanged."""
    pickled = pickle.dumps(model)
    state = None if random_state is None else random_state.get_state()
    with pytest.raises(ValueError):
        _quietly(call)
    if random_state is not None:
        _assert_same_random_state(random_state.get_state(), state)
    assert pickle.dumps(model) == pickled


# ----------------------------------------------- RandomState rewound on failure


def test_failed_fit_rewinds_random_state_instance():
    """A diverging fit leaves the RandomState where it was."""
    X, y = _regression_data()
    random_state = np.random.RandomState(7)
    model = _small(random_state=random_state)
    state = random_state.get_state()
    pickled = pickle.dumps(model)
    with pytest.raises(ValueError, match=DIVERGED):
        _quietly(model.fit, X * 1e150, y)
    _assert_same_random_state(random_state.get_state(), state)
    assert pickle.dumps(model) == pickled

    # The next fit draws what a first fit from a fresh twin state draws.
    _quietly(model.fit, X, y)
    twin = _quietly(_small(random_state=np.random.RandomState(7)).fit, X, y)
    _assert_same_weights(model, twin)


def test_failed_fit_with_bad_validation_set_rewinds_random_state():
    """``X_val`` of the wrong width is refused before anything is drawn."""
    X, y = _regression_data()
    random_state = np.random.RandomState(7)
    model = _small(early_stopping=True, random_state=random_state)
    bad_fit = partial(model.fit, X, y, X_val=X[:20, :2], y_val=y[:20])
    _assert_fails_and_changes_nothing(model, bad_fit, random_state)
    _quietly(model.fit, X, y)
    twin = _quietly(
        _small(early_stopping=True, random_state=np.random.RandomState(7)).fit, X, y
    )
    _assert_same_weights(model, twin)


@pytest.mark.parametrize("failure", ["diverging batch", "y_val of two outputs"])
def test_failed_partial_fit_rewinds_random_state(failure):
    """A failing ``partial_fit`` of a fitted, shuffling model draws nothing."""
    X, y = _regression_data()
    random_state = np.random.RandomState(7)
    model = _small(shuffle=True, random_state=random_state)
    twin = _small(shuffle=True, random_state=np.random.RandomState(7))
    for estimator in (model, twin):
        estimator.partial_fit(X, y)
    if failure == "diverging batch":
        call = partial(model.partial_fit, X * 1e150, y)
    else:
        y_val = np.column_stack([y[:20], y[:20]])
        call = partial(model.partial_fit, X, y, X_val=X[:20], y_val=y_val)
    _assert_fails_and_changes_nothing(model, call, random_state)
    # The stream goes on as if the failed call had never been made.
    model.partial_fit(X, y)
    twin.partial_fit(X, y)
    _assert_same_weights(model, twin)


# ------------------------------------------------------- callbacks torn down


class Recorder:
    """A minimal FitCallback recording its setup and teardown calls."""

    def __init__(self):
        self.calls = []

    def setup(self, estimator, context):
        self.calls.append("setup")

    def teardown(self, estimator, context):
        self.calls.append("teardown")

    def on_fit_task_begin(self, estimator, context):
        pass

    def on_fit_task_end(self, estimator, context, **kwargs):
        return False


def _assert_no_callback_context(model):
    assert not hasattr(model, "_callback_fit_ctx")
    assert not hasattr(model, "_skl_callbacks_to_teardown")


@pytest.mark.parametrize("solver", ["sgd", "lbfgs"])
def test_callbacks_torn_down_after_success_and_failure(solver):
    X, y = _regression_data()
    recorder = Recorder()
    model = _small(solver=solver).set_callbacks(recorder)

    _quietly(model.fit, X, y)
    assert recorder.calls == ["setup", "teardown"]
    _assert_no_callback_context(model)
    unpickled = pickle.loads(pickle.dumps(model))
    _assert_no_callback_context(unpickled)
    assert_array_equal(unpickled.predict(X), model.predict(X))

    # Fails after setup: training diverges.
    with pytest.raises(ValueError, match=DIVERGED):
        _quietly(model.fit, X * 1e150, y)
    assert recorder.calls == ["setup", "teardown"] * 2
    _assert_no_callback_context(model)


def _fit_fails(model, X, y):
    """Fit ``model``, which must raise; keep no traceback (it holds ``model``)."""
    with pytest.raises(ValueError):
        _quietly(model.fit, X, y)


def test_scoring_monitor_does_not_keep_a_failed_estimator_alive():
    """The monitor holds the estimator from setup to teardown.

    The fit fails after setup: the monitor's scorer meets the NaN predictions
    of the diverging first epoch.
    """
    X, y = _regression_data()
    monitor = ScoringMonitor(scoring="r2")
    model = _small().set_callbacks(monitor)
    _fit_fails(model, X * 1e150, y)
    alive = weakref.ref(model)
    del model
    gc.collect()
    assert alive() is None


# ------------------------------------------------- scipy's BLAS thread limit


def _blas_threads():
    """Thread count of each BLAS library loaded, by file path."""
    return {
        info["filepath"]: info["num_threads"]
        for info in threadpool_info()
        if info["user_api"] == "blas"
    }


def _release_openblas_control():
    """Let any thread set OpenBLAS's thread count again.

    threadpoolctl (3.8 on) lets only one thread at a time set the thread count
    of an OpenBLAS with pthreads, the first to set it; other threads silently
    do nothing until that thread has left its ``with`` block or died.  A limit
    applied without ``with`` leaves its thread in control for good (see
    :func:`test_lbfgs_fit_leaves_other_threads_free_to_limit_blas`), and the
    limits of the threads of the tests below would then do nothing at all.
    """
    clear = getattr(OpenBLASController, "clear_controlling_thread", None)
    if clear is not None:
        clear(force=True)


@pytest.fixture(params=["scipy's own", "stand-in"])
def limited_blas(request, monkeypatch):
    """File paths of the BLAS that ``_scipy_blas_on_one_thread`` limits.

    ``"scipy's own"``: the BLAS scipy bundles (skipped where it has none, as
    when it shares NumPy's).  ``"stand-in"``: the first BLAS loaded, passed off
    as scipy's by pointing ``skbp._lbfgs.scipy.__file__`` into its folder, so
    that the limit is exercised on every machine.  No thread is left in control
    of OpenBLAS before or after, and the thread counts found are put back
    afterwards, whatever the test did to them.
    """
    _release_openblas_control()
    before = _blas_threads()
    if request.param == "scipy's own":
        scipy_dir = os.path.dirname(scipy.__file__)
        paths = [path for path in before if path.startswith(scipy_dir)]
        if not paths:
            pytest.skip("scipy has no BLAS of its own here (it uses NumPy's)")
    else:
        if not before:
            pytest.skip("no BLAS library is loaded")
        folder = os.path.dirname(next(iter(before)))
        stand_in = types.SimpleNamespace(
            __file__=os.path.join(folder, "__init__.py"), optimize=scipy.optimize
        )
        monkeypatch.setattr(skbp._lbfgs, "scipy", stand_in)
        paths = [path for path in before if path.startswith(folder)]
    if all(before[path] == 1 for path in paths):
        pytest.skip(
            "the BLAS already runs on one thread, so a limit left behind could "
            "not be told from the original"
        )
    yield paths
    _release_openblas_control()
    controller = ThreadpoolController()
    for path, threads in before.items():
        controller.select(filepath=[path]).limit(limits=threads)
    _release_openblas_control()


def test_blas_limit_held_until_the_last_of_two_overlapping_fits(limited_blas):
    """Enter A, enter B, exit A, exit B: one thread until B exits, then all."""
    before = _blas_threads()
    first, second = ExitStack(), ExitStack()
    with first, second:
        first.enter_context(_scipy_blas_on_one_thread())
        second.enter_context(_scipy_blas_on_one_thread())
        first.close()
        inside_second = _blas_threads()
        second.close()
        after = _blas_threads()
    assert {path: inside_second[path] for path in limited_blas} == dict.fromkeys(
        limited_blas, 1
    )
    assert after == before


def _interrupted_once(function):
    """``function``, but the first call raises ``KeyboardInterrupt`` instead."""
    calls = []

    def once(*args, **kwargs):
        calls.append(None)
        if len(calls) == 1:
            raise KeyboardInterrupt
        return function(*args, **kwargs)

    return once


def test_a_limit_that_fails_to_apply_leaves_nothing_behind(limited_blas, monkeypatch):
    shared = _scipy_blas_on_one_thread
    before = _blas_threads()
    make_limiter = _interrupted_once(shared._make_limiter)
    monkeypatch.setattr(shared, "_make_limiter", make_limiter)
    with pytest.raises(KeyboardInterrupt):
        with shared():
            pass
    assert (shared._users, shared._limiter) == (0, None)
    assert _blas_threads() == before
    with shared():
        assert all(_blas_threads()[path] == 1 for path in limited_blas)
    assert _blas_threads() == before


def test_a_limit_that_fails_to_restore_is_restored_by_the_next_fit(limited_blas):
    # The next fit must not take the one thread left behind for the original.
    shared = _scipy_blas_on_one_thread
    before = _blas_threads()
    with pytest.raises(KeyboardInterrupt):
        with shared():
            limiter = shared._limiter
            limiter.restore_original_limits = _interrupted_once(
                limiter.restore_original_limits
            )
    assert shared._users == 0
    X, y = _regression_data()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        BackpropRegressor(hidden_layer_sizes=(3,), solver="lbfgs", max_iter=2).fit(X, y)
    assert (shared._users, shared._limiter) == (0, None)
    assert _blas_threads() == before


_WAIT_S = 60  # against a deadlock only: every wait normally ends at once


class _Overlap:
    """Four L-BFGS fits in threads, overlapping in the worst order for the limit.

    Fit ``k`` starts once fit ``k - 1`` is inside the limit (its first
    iteration has begun), all four meet inside at a :class:`threading.Barrier`
    (where each records the thread counts), and fit ``k`` leaves the limit only
    after fit ``k - 1`` has returned: the first in is the first out, as A then
    B in the test above.  A fit that found the limit already applied and
    restored it on its own would restore one thread, last.

    Parameters
    ----------
    keep_alive : bool
        Whether each thread lives on after its fit, as in a thread pool, until
        every fit has returned.  If False, fit ``k`` leaves only once the
        thread of fit ``k - 1`` has ended.
    """

    n_fits = 4

    def __init__(self, keep_alive):
        self.keep_alive = keep_alive
        self.inside = [threading.Event() for _ in range(self.n_fits)]
        self.done = [threading.Event() for _ in range(self.n_fits)]
        self.all_inside = threading.Barrier(self.n_fits)
        self.release = threading.Event()
        self.threads = [
            threading.Thread(target=self._fit, args=(k,)) for k in range(self.n_fits)
        ]
        self.threads_inside = []
        self.errors = []

    def run(self):
        """Run the fits; return the thread counts once all have returned."""
        # Filters set here, in the main thread: catch_warnings is not thread-safe.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            for thread in self.threads:
                thread.start()
            try:
                for done in self.done:
                    _wait(done)
                after_fits = _blas_threads()
            finally:
                self.release.set()
                for thread in self.threads:
                    thread.join()
        assert not self.errors, self.errors
        return after_fits

    def _fit(self, k):
        try:
            if k:
                _wait(self.inside[k - 1])
            X, y = _regression_data(seed=k, n_samples=200, n_features=8)
            model = BackpropRegressor(
                hidden_layer_sizes=(16,), solver="lbfgs", max_iter=20, random_state=k
            )
            model.set_callbacks(_HeldInside(self, k)).fit(X, y)
        except BaseException as error:  # reported by run(), not lost here
            self.errors.append(error)
            self.all_inside.abort()
            for event in self.inside + self.done:
                event.set()
        finally:
            self.done[k].set()
        if self.keep_alive:
            _wait(self.release)

    def rendezvous(self, k):
        """Inside the limit, at the first iteration of fit ``k``."""
        self.inside[k].set()
        self.all_inside.wait(_WAIT_S)
        self.threads_inside.append(_blas_threads())
        if not k:
            return
        if self.keep_alive:
            _wait(self.done[k - 1])
        else:
            self.threads[k - 1].join(_WAIT_S)
            if self.threads[k - 1].is_alive():
                raise RuntimeError(f"the thread of fit {k - 1} did not end")


def _wait(event):
    if not event.wait(_WAIT_S):
        raise RuntimeError("a fit never reached its rendezvous")


class _HeldInside:
    """FitCallback: at the first iteration of fit ``k``, hold its rendezvous."""

    def __init__(self, overlap, k):
        self.overlap, self.k = overlap, k
        self.held = False

    def setup(self, estimator, context):
        pass

    def teardown(self, estimator, context):
        pass

    def on_fit_task_begin(self, estimator, context):
        if context.parent is None or self.held:
            return
        self.held = True
        self.overlap.rendezvous(self.k)

    def on_fit_task_end(self, estimator, context, **kwargs):
        return False


def _on_one_thread(threads, paths):
    return {path: threads[path] for path in paths} == dict.fromkeys(paths, 1)


def _skip_if_limits_are_per_thread(paths):
    """Skip where a limit set in one thread does not hold in the others."""
    layers = {
        info["filepath"]: info.get("threading_layer") for info in threadpool_info()
    }
    if any(layers[path] == "openmp" for path in paths):
        pytest.skip("this BLAS limits threads per calling thread (OpenMP layer)")


def test_concurrent_lbfgs_fits_restore_blas_threads(limited_blas):
    _skip_if_limits_are_per_thread(limited_blas)
    before = _blas_threads()
    overlap = _Overlap(keep_alive=False)
    overlap.run()
    assert len(overlap.threads_inside) == overlap.n_fits
    assert all(_on_one_thread(t, limited_blas) for t in overlap.threads_inside)
    assert _blas_threads() == before


def test_concurrent_lbfgs_fits_in_live_threads_restore_blas_threads(limited_blas):
    """As in a thread pool: the threads outlive their fits."""
    _skip_if_limits_are_per_thread(limited_blas)
    before = _blas_threads()
    after_fits = _Overlap(keep_alive=True).run()
    assert after_fits == before
    assert _blas_threads() == before


def test_lbfgs_fit_leaves_other_threads_free_to_limit_blas(limited_blas):
    _skip_if_limits_are_per_thread(limited_blas)
    X, y = _regression_data()
    _quietly(_small(solver="lbfgs").fit, X, y)
    seen = []

    def limit_and_look():
        with threadpool_limits(limits=1, user_api="blas"):
            seen.append(_blas_threads())

    thread = threading.Thread(target=limit_and_look)
    thread.start()
    thread.join()
    assert _on_one_thread(seen[0], limited_blas)


# ------------------------------------------------- later calls keep the dtype


_DTYPE_PAIRS = [(np.float64, np.float32), (np.float32, np.float64)]


def _first_and_later_call(method, model, X, y):
    """``partial_fit``, or ``fit`` with ``warm_start=True``."""
    if method == "fit":
        model.set_params(warm_start=True)
        return _quietly(model.fit, X, y)
    return model.partial_fit(X, y)


@pytest.mark.parametrize("method", ["partial_fit", "fit"])
@pytest.mark.parametrize(("model_dtype", "batch_dtype"), _DTYPE_PAIRS)
def test_later_call_keeps_model_dtype_and_live_views(method, model_dtype, batch_dtype):
    X, y = _regression_data()
    X_batch, y_batch = X.astype(batch_dtype), y.astype(batch_dtype)
    model, reference = _small(), _small()
    for estimator in (model, reference):
        _first_and_later_call(method, estimator, X.astype(model_dtype), y)
    held = list(model.coefs_)

    _first_and_later_call(method, model, X_batch, y_batch)
    # The same call, given the batch already cast to the model's dtype.
    _first_and_later_call(
        method, reference, X_batch.astype(model_dtype), y_batch.astype(model_dtype)
    )

    assert all(coef.dtype == model_dtype for coef in _weights(model))
    _assert_same_weights(model, reference)
    for old, new in zip(held, model.coefs_, strict=True):
        assert np.shares_memory(old, new)
    before = model.predict(X)
    held[-1] += 1.0  # writes through to the model
    assert not np.array_equal(model.predict(X), before)


# ------------------------------------- finite predictions on every training row


def _overflowing_last_row():
    """A fit whose weights keep the first 299 rows finite, not the last.

    Row 299 holds the largest floats (weight zero, so training never sees
    it); the old check of the outputs looked at the first 200 rows only.
    """
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 10))
    y = X[:, 0]
    X[299, :5] = np.finfo(float).max
    X[299, 5:] = -np.finfo(float).max
    sample_weight = np.ones(300)
    sample_weight[250:] = 0.0
    model = BackpropRegressor(
        hidden_layer_sizes=(20, 20),
        batch_size=50,
        shuffle=False,
        max_iter=3,
        random_state=0,
    )
    return model, X, y, sample_weight


def test_fit_that_returns_predicts_finite_values_on_every_training_row():
    """The contract: either refused as diverged, or finite on all of ``X``."""
    model, X, y, sample_weight = _overflowing_last_row()
    try:
        _quietly(model.fit, X, y, sample_weight=sample_weight)
    except ValueError as error:
        assert DIVERGED in str(error)
    else:
        assert np.isfinite(model.predict(X)).all()


def test_fit_overflowing_beyond_the_first_rows_is_refused():
    """How the contract is met on this case: the fit raises."""
    model, X, y, sample_weight = _overflowing_last_row()
    with pytest.raises(ValueError, match=DIVERGED):
        _quietly(model.fit, X, y, sample_weight=sample_weight)


# ---------------------------------------- early stopping past a diverging epoch


_DIVERGING_ON_IRIS = dict(
    hidden_layer_sizes=100,
    activation="identity",
    solver="sgd",
    learning_rate_init=1,
    max_iter=20,
    random_state=0,
)


def _stream_until_divergence(model, X, y, X_val, y_val, max_calls=20):
    """Feed ``partial_fit`` until a call diverges; that call changes nothing."""
    for _ in range(max_calls):
        pickled = pickle.dumps(model)
        try:
            model.partial_fit(X, y, X_val=X_val, y_val=y_val)
        except ValueError as error:
            assert DIVERGED in str(error)
            assert pickle.dumps(model) == pickled
            return
    pytest.fail(f"no partial_fit call diverged in {max_calls} calls")


def test_early_stopping_survives_a_diverging_epoch():
    X, y = load_iris(return_X_y=True)
    params = dict(_DIVERGING_ON_IRIS, early_stopping=True)
    with pytest.warns(ConvergenceWarning, match="diverged"):
        model = BackpropRegressor(**params).fit(X, y)

    scores = np.asarray(model.validation_scores_)
    assert np.isnan(scores[-1])
    finite = np.isfinite(scores)
    assert np.isfinite(model.best_validation_score_)
    assert model.best_validation_score_ == scores[finite].max()
    assert np.isfinite(model.predict(X)).all()
    # The weights kept are those of the best epoch.
    best_epoch = int(np.flatnonzero(scores == model.best_validation_score_)[0]) + 1
    reference = _quietly(
        BackpropRegressor(**dict(params, max_iter=best_epoch)).fit, X, y
    )
    _assert_same_weights(model, reference)

    # No best weights to fall back on, so these still raise (as before the
    # change): a first epoch that diverges (it needs several batches; with
    # one, its loss is that of the initial weights), and a partial_fit call.
    first_epoch = dict(params, learning_rate_init=1e10, batch_size=10)
    with pytest.raises(ValueError, match=DIVERGED):
        _quietly(BackpropRegressor(**first_epoch).fit, X, y)
    order = np.random.default_rng(0).permutation(len(y))
    train, val = order[:120], order[120:]
    stream = BackpropRegressor(**_DIVERGING_ON_IRIS)
    _stream_until_divergence(stream, X[train], y[train], X[val], y[val])


# ------------------------------- an early-stopping split without any weight

_WEIGHTLESS_PART = (
    r"The (training|validation) part of the early-stopping split has sample "
    r"weights that are all zero"
)


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_early_stopping_split_with_a_weightless_part_is_refused(solver):
    # One row carries all the weight.  Wherever the split puts it, the other
    # part weighs nothing: no gradient to train on, or no validation score.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 3))
    y = X[:, 0]
    unfitted = BackpropRegressor(
        hidden_layer_sizes=(3,),
        solver=solver,
        early_stopping=True,
        validation_fraction=0.2,
        max_iter=2,
        random_state=0,
    )
    weightless_parts = []
    for row in range(X.shape[0]):
        sample_weight = np.zeros(X.shape[0])
        sample_weight[row] = 1.0
        model = clone(unfitted)
        with pytest.raises(ValueError, match=_WEIGHTLESS_PART) as error:
            _quietly(model.fit, X, y, sample_weight=sample_weight)
        assert pickle.dumps(model) == pickle.dumps(unfitted)  # still unfitted
        weightless_parts.append(re.search(_WEIGHTLESS_PART, str(error.value))[1])
    # validation_fraction=0.2 holds out 4 of the 20 rows: when the weighted row
    # is one of them, the training part is the one without weight.
    assert weightless_parts.count("training") == 4
    assert weightless_parts.count("validation") == 16
