"""scikit-learn's callback API (``sklearn.callback``) on both estimators.

Epochs (sgd, adam) and L-BFGS iterations are reported as subtasks of the
fit; callbacks see the model as it was after each one, may ask training to
stop, and never change what is learnt.  References: fits capped at the same
number of epochs or iterations, which must be bit-identical.  scikit-learn's
``ProgressBar``, which needs rich, is tested in tests/test_progress_bar.py.
"""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn.callback import ScoringMonitor
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, r2_score

from skbp import BackpropClassifier, BackpropRegressor


def _data(seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(120, 4))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    return X, y


def _model(solver="adam", estimator=BackpropClassifier, **params):
    settings = dict(
        hidden_layer_sizes=(5,),
        solver=solver,
        max_iter=6,
        tol=0.0,
        n_iter_no_change=100,
        random_state=0,
    )
    return estimator(**{**settings, **params})


def _fit(model, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(X, y)


def _assert_same_weights(a, b):
    for ours, theirs in zip(
        a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_, strict=True
    ):
        assert_array_equal(ours, theirs)


class StopAfter:
    """A minimal FitCallback that asks to stop after ``n`` subtasks."""

    def __init__(self, n):
        self.n = n
        self.begun = []
        self.ended = 0

    def setup(self, estimator, context):
        pass

    def teardown(self, estimator, context):
        pass

    def on_fit_task_begin(self, estimator, context):
        self.begun.append(context.task_name)

    def on_fit_task_end(self, estimator, context):
        if context.parent is None:
            return False  # the fit itself
        self.ended += 1
        return self.ended >= self.n


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_scoring_monitor_scores_the_model_after_each_epoch(solver):
    X, y = _data()
    monitor = ScoringMonitor(scoring="accuracy")
    model = _fit(_model(solver).set_callbacks(monitor), X, y)
    epochs = [row for row in monitor.get_logs().data if row["task_name"] == "epoch"]
    assert len(epochs) == model.n_iter_ == 6
    for k, row in enumerate(epochs, start=1):
        # The model after k epochs is the model fitted for k epochs.
        reference = _fit(_model(solver, max_iter=k), X, y)
        assert row["accuracy"] == accuracy_score(y, reference.predict(X))


def test_scoring_monitor_on_lbfgs_iterations_of_a_regressor():
    X, y = _data()
    target = X @ [1.0, -1.0, 0.5, 2.0]
    monitor = ScoringMonitor(scoring="r2")
    model = _fit(
        _model("lbfgs", BackpropRegressor, max_iter=8).set_callbacks(monitor),
        X,
        target,
    )
    rows = [row for row in monitor.get_logs().data if row["task_name"] == "iteration"]
    assert len(rows) == model.n_iter_ == 8
    for k in (1, 4, 8):
        reference = _fit(_model("lbfgs", BackpropRegressor, max_iter=k), X, target)
        assert rows[k - 1]["r2"] == pytest.approx(
            r2_score(target, reference.predict(X)), rel=1e-12
        )


@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
def test_a_callback_can_stop_training(solver):
    X, y = _data()
    stopper = StopAfter(3)
    model = _fit(_model(solver, max_iter=50).set_callbacks(stopper), X, y)
    assert model.n_iter_ == 3
    reference = _fit(_model(solver, max_iter=3), X, y)
    _assert_same_weights(model, reference)
    subtask = "iteration" if solver == "lbfgs" else "epoch"
    assert stopper.begun[0] == "fit"
    assert set(stopper.begun[1:]) == {subtask}


def test_callbacks_can_be_removed_and_verbose_output_stays():
    X, y = _data()
    model = _model(verbose=True).set_callbacks(StopAfter(2))
    assert model.set_callbacks() is model
    assert not hasattr(model, "_skl_callbacks")
    _fit(model, X, y)
    assert model.n_iter_ == 6


def test_verbose_lines_are_scikit_learns(capsys):
    X, y = _data()
    _fit(_model(verbose=True, max_iter=2).set_callbacks(StopAfter(10)), X, y)
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(",")[0] for line in lines[:2]] == ["Iteration 1", "Iteration 2"]
