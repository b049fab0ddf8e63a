"""Ctrl-C at every point of a short fit leaves the model at a completed step.

Python runs a signal handler between the lines of the main thread's code. A
tracer (``sys.settrace``) counts the lines that skbp executes during a short
call; then the call is repeated once for every line, with the SIGINT handler
in force at that moment run right there, as if Ctrl-C had been pressed: once
(a first Ctrl-C) or twice in a row (a second one, which may stop at once).
No point is chosen: the signal lands on each line in turn.

The contract, whatever happened (a warning and a normal return, or a
``KeyboardInterrupt`` out of the call): the model is exactly as it was after
some completed step of the uninterrupted call (weights and optimizer state
together), or exactly as it was before the call; its bookkeeping agrees with
itself; it predicts finite values; and Python's own SIGINT handler is back.

One kind of line event is left out: the tracer reports a ``with`` line again
just before its ``__exit__`` is called, a point where CPython never runs a
signal handler, and where an exception would skip ``__exit__`` (a lock would
stay held).  Running the handler on every other line found three places where
a second Ctrl-C left skbp's SIGINT handler installed after the call.
"""

import copy
import dis
import functools
import pickle
import signal
import sys
import warnings
from dataclasses import fields

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from threadpoolctl import threadpool_info

import skbp._lbfgs
import skbp._training
from skbp import BackpropClassifier

pytestmark = [
    pytest.mark.filterwarnings("ignore::UserWarning"),
    # Ctrl-C tests need Python's own SIGINT handler (conftest.py).
    pytest.mark.usefixtures("python_sigint_handler"),
]


def _data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(12, 3))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    return X, y


def _model(solver):
    return BackpropClassifier(
        hidden_layer_sizes=(3,),
        solver=solver,
        batch_size=4,
        max_iter=2,
        random_state=0,
        learning_rate_init=0.05,
    )


def _in_skbp(frame):
    return "/skbp/" in frame.f_code.co_filename.replace("\\", "/")


@functools.cache
def _instructions(code):
    return {i.offset: i for i in dis.get_instructions(code)}


def _is_with_exit(frame):
    """Whether this line event is the ``with`` statement calling ``__exit__``.

    The tracer reports the ``with`` line again as its block ends, before the
    three ``None`` arguments of ``__exit__`` are loaded.  No signal handler
    runs there (CPython runs them after a call or on a loop's back edge), and
    an exception raised there skips ``__exit__``: a lock stays held.
    """
    instructions = _instructions(frame.f_code)
    offset = frame.f_lasti
    for _ in range(3):
        instruction = instructions.get(offset)
        if instruction is None or instruction.opname != "LOAD_CONST":
            return False
        if instruction.argval is not None:
            return False
        offset += 2
    following = instructions.get(offset)
    return following is not None and following.opname in ("PRECALL", "CALL")


def _line_tracer(on_line, where=_in_skbp):
    """A ``sys.settrace`` function calling ``on_line(frame)`` on lines ``where``."""

    def local(frame, event, arg):
        if event == "line" and not _is_with_exit(frame):
            on_line(frame)
        return local

    def start(frame, event, arg):
        return local if where(frame) else None

    return start


def _traced(call, on_line, where=_in_skbp):
    """Return ``call()`` run under the line tracer.

    The tracer in force before (coverage.py's, a debugger's) is put back
    afterwards, not switched off: it traces every later test too.
    """
    previous = sys.gettrace()
    sys.settrace(_line_tracer(on_line, where))
    try:
        return call()
    finally:
        sys.settrace(previous)


def _count_lines(call, where=_in_skbp):
    count = [0]

    def on_line(frame):
        count[0] += 1

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _traced(call, on_line, where)
    return count[0]


def _press_ctrl_c_at(call, line, presses, where=_in_skbp):
    """Run ``call`` with Ctrl-C pressed ``presses`` times at its ``line``-th line.

    The handler in force at that line is run there, as the interpreter runs
    a signal's handler; the default one raises ``KeyboardInterrupt``.
    """
    count = [0]

    def on_line(frame):
        count[0] += 1
        if count[0] == line:
            for _ in range(presses):
                signal.getsignal(signal.SIGINT)(signal.SIGINT, frame)

    try:
        _traced(call, on_line, where)
    except KeyboardInterrupt:
        pass


def _state_arrays(state):
    """The optimizer state as a tuple of arrays (scalars as 0-d arrays)."""
    return tuple(np.array(getattr(state, f.name), copy=True) for f in fields(state))


def _snapshot(theta, state):
    return theta.copy(), _state_arrays(state)


def _completed_steps(monkeypatch, call, model):
    """Weights and optimizer state after each completed step of ``call``.

    A step is complete when the next objective evaluation starts, and after
    the call; the first entry is the state before the first step.
    """
    snapshots = []
    original = skbp._training.loss_and_grad

    def recording(theta, *args, **kwargs):
        snapshots.append(_snapshot(theta, model._progress.optimizer_state))
        return original(theta, *args, **kwargs)

    monkeypatch.setattr(skbp._training, "loss_and_grad", recording)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        call()
    monkeypatch.undo()
    snapshots.append(_snapshot(model._theta, model._progress.optimizer_state))
    return snapshots


def _same(snapshot, other):
    theta, state = snapshot
    other_theta, other_state = other
    return np.array_equal(theta, other_theta) and all(
        np.array_equal(a, b) for a, b in zip(state, other_state, strict=True)
    )


def _assert_at_a_completed_step(model, snapshots, before, X, earlier_epochs):
    if pickle.dumps(model) == before:
        return  # the call was undone: the model as it was before it
    state = _snapshot(model._theta, model._progress.optimizer_state)
    assert any(_same(state, s) for s in snapshots), "weights between two steps"
    assert len(model.loss_curve_) == earlier_epochs + model.n_iter_
    assert np.isfinite(model.predict_proba(X)).all()


def _fit_call(solver):
    X, y = _data()
    model = _model(solver)
    return model, (lambda m: m.fit(X, y))


def _partial_fit_call(solver):
    X, y = _data()
    model = _model(solver)
    model.partial_fit(X[:8], y[:8], classes=[0, 1])
    return model, (lambda m: m.partial_fit(X, y))


CALLS = {
    "fit-sgd": lambda: _fit_call("sgd"),
    "fit-adam": lambda: _fit_call("adam"),
    "partial_fit-adam": lambda: _partial_fit_call("adam"),
}


@pytest.mark.parametrize("presses", [1, 2], ids=["first", "second"])
@pytest.mark.parametrize("call_name", list(CALLS))
def test_ctrl_c_on_every_line_leaves_a_completed_step(monkeypatch, call_name, presses):
    X, _ = _data()
    template, call = CALLS[call_name]()
    before = pickle.dumps(template)
    reference = copy.deepcopy(template)
    snapshots = _completed_steps(monkeypatch, lambda: call(reference), reference)
    if hasattr(template, "_progress"):
        # partial_fit: the state before the call is a completed step too.
        snapshots.append(_snapshot(template._theta, template._progress.optimizer_state))
    earlier_epochs = len(getattr(template, "loss_curve_", []))
    for model in _each_line_pressed(template, call, presses):
        if "_progress" not in model.__dict__:
            assert pickle.dumps(model) == before  # an unfitted model stays so
            continue
        _assert_at_a_completed_step(model, snapshots, before, X, earlier_epochs)


def _each_line_pressed(template, call, presses):
    """Yield a copy of ``template`` after ``call`` with Ctrl-C on each line."""
    n_lines = _count_lines(lambda: call(copy.deepcopy(template)))
    assert n_lines > 100  # the tracer sees skbp's code
    for line in range(1, n_lines + 1):
        model = copy.deepcopy(template)
        _press_ctrl_c_at(lambda m=model: call(m), line, presses)
        # Whatever happened, Ctrl-C is Python's own again.
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
        yield model


@pytest.mark.parametrize("presses", [1, 2], ids=["first", "second"])
def test_ctrl_c_on_every_line_of_lbfgs_leaves_a_completed_iteration(presses):
    X, y = _data()
    template = _model("lbfgs")
    references = {}

    def after(n_iter):
        # L-BFGS capped at n_iter iterations, the reference for a completed one.
        if n_iter not in references:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                references[n_iter] = _model("lbfgs").set_params(max_iter=n_iter)
                references[n_iter].fit(X, y)
        return references[n_iter]

    for model in _each_line_pressed(template, lambda m: m.fit(X, y), presses):
        if "_theta" not in model.__dict__:
            continue  # undone: unfitted, as before the call
        assert len(model.loss_curve_) == model.n_iter_
        if model.n_iter_ == 0:
            initial = model._network.init_parameters(
                np.random.RandomState(0), np.float64
            )
            assert_array_equal(model._theta, initial)
        else:
            assert_array_equal(model._theta, after(model.n_iter_)._theta)
        assert np.isfinite(model.predict_proba(X)).all()


def _in_the_blas_limit(frame):
    """Whether ``frame`` runs the shared BLAS limit of L-BFGS, or what it calls."""
    code = frame.f_code
    return code.co_filename.endswith("_lbfgs.py") and (
        code.co_qualname.startswith("_SharedThreadLimit.")
        or code.co_name in ("_limit_scipy_blas", "_release_openblas_control")
    )


def _blas_threads():
    return {
        info["filepath"]: info["num_threads"]
        for info in threadpool_info()
        if info["user_api"] == "blas"
    }


@pytest.mark.parametrize("presses", [1, 2], ids=["first", "second"])
def test_ctrl_c_in_the_blas_limit_of_lbfgs_leaves_no_limit_behind(presses):
    # A Ctrl-C between the count and the limit once left the count too high
    # (scipy's BLAS then stayed on one thread for every later fit) or the
    # limit applied with no fit counted.
    X, y = _data()
    shared = skbp._lbfgs._scipy_blas_on_one_thread
    before = _blas_threads()

    def call():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _model("lbfgs").fit(X, y)

    n_lines = _count_lines(call, where=_in_the_blas_limit)
    assert n_lines > 10  # the tracer sees the limit's code
    for line in range(1, n_lines + 1):
        _press_ctrl_c_at(call, line, presses, where=_in_the_blas_limit)
        assert (shared._users, shared._limiter) == (0, None), f"line {line}"
        assert _blas_threads() == before, f"line {line}"
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_ctrl_c_in_the_last_epochs_bookkeeping_is_not_lost(monkeypatch):
    # It used to be dropped: the flag was only read between steps.
    X, y = _data()
    original = skbp._training._record_epoch
    calls = []

    def record_then_press(*args):
        original(*args)
        calls.append(None)
        if len(calls) == 2:  # the last epoch of max_iter=2
            signal.getsignal(signal.SIGINT)(signal.SIGINT, None)

    monkeypatch.setattr(skbp._training, "_record_epoch", record_then_press)
    with pytest.warns(UserWarning, match="Training interrupted by user"):
        model = _model("adam").fit(X, y)
    assert model.n_iter_ == 2
    assert_array_equal(model.loss_curve_, _model("adam").fit(X, y).loss_curve_)


def _a_function_to_trace():
    """Do nothing: a call for the outer tracer to see."""


def test_the_tracer_in_force_before_survives_the_line_tracing():
    # coverage.py and debuggers trace through sys.settrace: switching tracing
    # off when these tests end would blind them to every later test.
    seen = []

    def outer_tracer(frame, event, arg):
        if event == "call" and frame.f_code is _a_function_to_trace.__code__:
            seen.append(event)

    template, call = _fit_call("sgd")
    previous = sys.gettrace()
    sys.settrace(outer_tracer)
    try:
        _count_lines(lambda: call(copy.deepcopy(template)))
        _press_ctrl_c_at(lambda: call(copy.deepcopy(template)), 10, presses=2)
        in_force = sys.gettrace()
        _a_function_to_trace()
    finally:
        sys.settrace(previous)
    assert in_force is outer_tracer
    assert seen == ["call"]
