"""A Ctrl-C during training stops it cleanly and keeps a usable model.

The interrupt is a real SIGINT sent to this process from inside the k-th
objective evaluation, or a ``KeyboardInterrupt`` raised there by an injected
hook.  Either way training must warn, stop, and keep the weights of the last
completed step: never a half-applied one.  The reference for "the weights
after k steps" is a model trained for exactly k steps by other means (the
first k batches as a whole epoch, or L-BFGS capped at the completed
iterations), which must be bit-identical.
"""

import os
import pickle
import signal
import threading
import warnings

import numpy as np
import pytest
import scipy.optimize
from numpy.testing import assert_array_equal
from sklearn.exceptions import ConvergenceWarning

import skbp._lbfgs
import skbp._training
from skbp import BackpropClassifier, BackpropRegressor
from skbp._interrupt import GracefulInterrupt
from skbp._optimizers import SGD, Adam

# Ctrl-C tests need Python's own SIGINT handler (conftest.py).
pytestmark = pytest.mark.usefixtures("python_sigint_handler")

BATCH = 10
INTERRUPTED = "Training interrupted by user"


def _data(n_samples=120, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_samples, 4))
    y = (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 1)
    return X, y


def _interrupt_at(monkeypatch, call, *, how):
    """Make the ``call``-th objective evaluation send SIGINT or raise."""
    original = skbp._training.loss_and_grad
    calls = []

    def hooked(*args, **kwargs):
        calls.append(None)
        if len(calls) == call:
            if how == "sigint":
                os.kill(os.getpid(), signal.SIGINT)
            else:
                raise KeyboardInterrupt
        return original(*args, **kwargs)

    monkeypatch.setattr(skbp._training, "loss_and_grad", hooked)
    monkeypatch.setattr(skbp._lbfgs, "loss_and_grad", hooked)
    return calls


def _assert_same_weights(model, reference):
    for ours, theirs in zip(
        model.coefs_ + model.intercepts_,
        reference.coefs_ + reference.intercepts_,
        strict=True,
    ):
        assert_array_equal(ours, theirs)


def _stochastic(solver, **params):
    settings = dict(
        hidden_layer_sizes=(5,),
        batch_size=BATCH,
        shuffle=False,
        random_state=0,
        max_iter=5,
    )
    return BackpropClassifier(solver=solver, **{**settings, **params})


def _fit_quietly(model, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(X, y)


@pytest.mark.parametrize("solver", ["sgd", "adam"])
@pytest.mark.parametrize(("how", "steps_done"), [("sigint", 4), ("raise", 3)])
def test_interrupted_fit_keeps_the_last_completed_step(
    monkeypatch, solver, how, steps_done
):
    # A SIGINT during step 4 lets step 4 finish; an exception raised inside
    # step 4 means only 3 steps happened.
    X, y = _data()
    _interrupt_at(monkeypatch, 4, how=how)
    with pytest.warns(UserWarning, match=INTERRUPTED):
        model = _stochastic(solver).fit(X, y)
    monkeypatch.undo()
    rows = steps_done * BATCH
    reference = _fit_quietly(_stochastic(solver, max_iter=1), X[:rows], y[:rows])
    _assert_same_weights(model, reference)
    assert model.n_iter_ == 0  # no epoch was completed
    assert np.isfinite(model.predict_proba(X)).all()


def test_sigint_handler_is_restored_after_fit(monkeypatch):
    X, y = _data()
    before = signal.getsignal(signal.SIGINT)
    _interrupt_at(monkeypatch, 2, how="sigint")
    with pytest.warns(UserWarning, match=INTERRUPTED):
        _stochastic("adam").fit(X, y)
    assert signal.getsignal(signal.SIGINT) is before
    # A Ctrl-C outside training raises as usual again.
    with pytest.raises(KeyboardInterrupt):
        os.kill(os.getpid(), signal.SIGINT)
        # Give the interpreter a chance to run the handler.
        for _ in range(1000):
            pass


def test_user_sigint_handler_is_left_alone(monkeypatch):
    X, y = _data()
    received = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: received.append(1))
    try:
        _interrupt_at(monkeypatch, 2, how="sigint")
        model = _fit_quietly(_stochastic("sgd", max_iter=2), X, y)
        assert received == [1]  # the user's handler ran; training went on
        assert model.n_iter_ == 2
    finally:
        signal.signal(signal.SIGINT, previous)


def test_interrupted_partial_fit_keeps_completed_steps_and_continues(monkeypatch):
    X, y = _data()
    classes = np.unique(y)
    model = _stochastic("adam")
    model.partial_fit(X[:40], y[:40], classes=classes)
    twin = _stochastic("adam")
    twin.partial_fit(X[:40], y[:40], classes=classes)

    _interrupt_at(monkeypatch, 2, how="sigint")
    with pytest.warns(UserWarning, match=INTERRUPTED):
        model.partial_fit(X[40:100], y[40:100])  # 6 batches; stops after 2
    monkeypatch.undo()
    twin.partial_fit(X[40:60], y[40:60])  # exactly those 2 batches
    _assert_same_weights(model, twin)

    # The stream carries on from there, optimizer state included.
    model.partial_fit(X[100:], y[100:])
    twin.partial_fit(X[100:], y[100:])
    _assert_same_weights(model, twin)


def test_interrupted_early_stopping_keeps_the_best_weights(monkeypatch):
    X, y = _data(200)
    params = dict(early_stopping=True, n_iter_no_change=50, learning_rate_init=0.05)
    n_batches = int(np.ceil(200 * 0.9 / BATCH))
    # Interrupt in the middle of epoch 4.
    _interrupt_at(monkeypatch, 3 * n_batches + 5, how="sigint")
    with pytest.warns(UserWarning, match=INTERRUPTED):
        model = _stochastic("adam", max_iter=20, **params).fit(X, y)
    monkeypatch.undo()
    assert model.n_iter_ == 3
    reference = _fit_quietly(_stochastic("adam", max_iter=3, **params), X, y)
    _assert_same_weights(model, reference)
    assert model.validation_scores_ == reference.validation_scores_


@pytest.mark.parametrize("how", ["sigint", "raise"])
def test_interrupted_lbfgs_keeps_the_last_completed_iteration(monkeypatch, how):
    X, y = _data()
    calls = _interrupt_at(monkeypatch, 8, how=how)
    params = dict(hidden_layer_sizes=(5,), solver="lbfgs", random_state=0)
    with pytest.warns(UserWarning, match=INTERRUPTED):
        model = BackpropRegressor(max_iter=200, **params).fit(X, y.astype(float))
    monkeypatch.undo()
    assert 0 < model.n_iter_ < len(calls)
    assert len(model.loss_curve_) == model.n_iter_
    reference = _fit_quietly(
        BackpropRegressor(max_iter=model.n_iter_, **params), X, y.astype(float)
    )
    _assert_same_weights(model, reference)
    assert model.loss_ == reference.loss_


def test_fit_in_a_worker_thread_trains_normally():
    # Signal handlers can only be installed from the main thread; training in
    # another thread must neither fail nor touch the handler.
    X, y = _data()
    results = {}

    def work():
        results["model"] = _fit_quietly(_stochastic("adam"), X, y)

    before = signal.getsignal(signal.SIGINT)
    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    assert signal.getsignal(signal.SIGINT) is before
    reference = _fit_quietly(_stochastic("adam"), X, y)
    _assert_same_weights(results["model"], reference)


# ------------------------------- a KeyboardInterrupt that cuts a step in two
#
# skbp's own handler never raises inside an atomic section (an optimizer
# update, the record of an epoch or of an L-BFGS iteration).  A
# KeyboardInterrupt from elsewhere (a SIGINT handler of the user's, another
# thread's) may: the weights and the bookkeeping are then torn, so the call
# is undone and the interrupt raised, not turned into a warning.

OPTIMIZER_CLASSES = {"sgd": SGD, "adam": Adam}


def _raise_inside_the_update(monkeypatch, optimizer_class, call):
    """Make the ``call``-th update raise once it has written the weights."""
    original = optimizer_class.apply
    calls = []

    def apply(self, *args, **kwargs):
        calls.append(None)
        theta = original(self, *args, **kwargs)
        if len(calls) == call:
            raise KeyboardInterrupt
        return theta

    monkeypatch.setattr(optimizer_class, "apply", apply)


def _raising_without_warnings(call):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(KeyboardInterrupt):
            call()


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_an_interrupt_inside_an_update_undoes_the_partial_fit(monkeypatch, solver):
    X, y = _data()
    model = _stochastic(solver)
    model.partial_fit(X[:40], y[:40], classes=np.unique(y))
    before = pickle.dumps(model)
    _raise_inside_the_update(monkeypatch, OPTIMIZER_CLASSES[solver], call=3)
    _raising_without_warnings(lambda: model.partial_fit(X[40:100], y[40:100]))
    assert pickle.dumps(model) == before
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_an_interrupt_inside_an_update_leaves_a_new_model_unfitted(monkeypatch, solver):
    X, y = _data()
    model = _stochastic(solver)
    _raise_inside_the_update(monkeypatch, OPTIMIZER_CLASSES[solver], call=3)
    _raising_without_warnings(lambda: model.fit(X, y))
    assert not hasattr(model, "coefs_")
    assert pickle.dumps(model) == pickle.dumps(_stochastic(solver))


class _LossRaising:
    """An L-BFGS iterate whose loss, when read, raises ``KeyboardInterrupt``.

    Parameters
    ----------
    result : scipy.optimize.OptimizeResult
        The iterate scipy passes to the callback; its ``x`` is passed on.
    """

    def __init__(self, result):
        self.x = result.x

    @property
    def fun(self):
        """Raise: the interrupt lands between the iterate and its loss."""
        raise KeyboardInterrupt


def test_an_interrupt_inside_the_record_of_an_lbfgs_iteration_undoes_the_fit(
    monkeypatch,
):
    X, y = _data()
    y = y.astype(float)
    params = dict(hidden_layer_sizes=(5,), solver="lbfgs", random_state=0)
    model = _fit_quietly(BackpropRegressor(max_iter=5, warm_start=True, **params), X, y)
    before = pickle.dumps(model)
    original_minimize = scipy.optimize.minimize

    def minimize(fun, x0, *args, callback, **kwargs):
        calls = []

        def record(intermediate_result):
            calls.append(None)
            if len(calls) == 3:
                intermediate_result = _LossRaising(intermediate_result)
            return callback(intermediate_result)

        return original_minimize(fun, x0, *args, callback=record, **kwargs)

    monkeypatch.setattr(scipy.optimize, "minimize", minimize)
    _raising_without_warnings(lambda: model.fit(X, y))
    assert pickle.dumps(model) == before
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


# ------------------------------------------------- the handler on its own


def _entered_interrupt():
    """A GracefulInterrupt entered in the main thread, and its SIGINT handler."""
    interrupt = GracefulInterrupt()
    interrupt.__enter__()
    handler = signal.getsignal(signal.SIGINT)
    assert handler is not signal.default_int_handler
    return interrupt, handler


def test_a_second_ctrl_c_outside_a_section_raises_at_once():
    interrupt, handler = _entered_interrupt()
    try:
        handler(signal.SIGINT, None)
        assert interrupt.requested  # the first only asks
        with pytest.raises(KeyboardInterrupt):
            handler(signal.SIGINT, None)
        # Python's handler is back before the exception leaves.
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
        assert not interrupt.torn
    finally:
        interrupt.__exit__(None, None, None)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_second_ctrl_c_inside_a_section_waits_for_its_end():
    interrupt, handler = _entered_interrupt()
    try:
        interrupt.begin_atomic()
        interrupt.begin_atomic()  # sections nest
        handler(signal.SIGINT, None)
        handler(signal.SIGINT, None)  # held: no exception inside the section
        interrupt.end_atomic()  # still inside the outer one
        assert interrupt.torn  # an exception now would cut the section in two
        with pytest.raises(KeyboardInterrupt):
            interrupt.end_atomic()
        assert not interrupt.torn
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    finally:
        interrupt.__exit__(None, None, None)
