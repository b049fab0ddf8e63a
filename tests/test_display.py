"""TrainingCurveDisplay plots the curves the estimators record, epoch by epoch."""

import sys
import warnings

import matplotlib
import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skbp import BackpropClassifier, BackpropRegressor, TrainingCurveDisplay

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

X, y = load_iris(return_X_y=True)
X = StandardScaler().fit_transform(X)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def _fit(estimator, X=X, y=y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator.fit(X, y)


@pytest.fixture(scope="module")
def early_stopped():
    return _fit(BackpropClassifier(early_stopping=True, max_iter=15, random_state=0))


@pytest.fixture(scope="module")
def plain():
    return _fit(BackpropClassifier(max_iter=15, random_state=0))


def _legend_labels(display):
    axes = display.ax_ if display.score_ax_ is None else display.score_ax_
    return [text.get_text() for text in axes.get_legend().get_texts()]


def test_lines_are_the_estimators_curves(early_stopped):
    display = TrainingCurveDisplay.from_estimator(early_stopped)
    n_epochs = len(early_stopped.loss_curve_)
    epochs = np.arange(1, n_epochs + 1)

    loss = display.lines_["loss"]
    np.testing.assert_array_equal(loss.get_xdata(), epochs)
    np.testing.assert_array_equal(loss.get_ydata(), early_stopped.loss_curve_)

    score = display.lines_["validation_score"]
    assert len(early_stopped.validation_scores_) == n_epochs
    np.testing.assert_array_equal(score.get_xdata(), epochs)
    np.testing.assert_array_equal(score.get_ydata(), early_stopped.validation_scores_)

    validation_loss = getattr(early_stopped, "validation_loss_curve_", None)
    if validation_loss is None:
        assert display.lines_["validation_loss"] is None
    else:
        line = display.lines_["validation_loss"]
        np.testing.assert_array_equal(line.get_xdata(), epochs)
        np.testing.assert_array_equal(line.get_ydata(), validation_loss)

    assert display.ax_.get_xlabel() == "Epoch"
    assert display.ax_.get_ylabel() == "Loss"
    assert display.score_ax_.get_ylabel() == "Validation score"
    assert display.figure_ is display.ax_.figure
    assert display.lines_["loss"].axes is display.ax_
    assert score.axes is display.score_ax_


def test_validation_loss_curve_is_plotted_on_the_loss_axis(early_stopped):
    # Independent of whether the estimators record validation_loss_curve_ yet.
    validation_loss = [0.9, 0.7, 0.6]
    display = TrainingCurveDisplay(
        loss_curve=[1.0, 0.8, 0.5], validation_loss_curve=validation_loss
    ).plot()
    line = display.lines_["validation_loss"]
    assert line.axes is display.ax_
    np.testing.assert_array_equal(line.get_xdata(), [1, 2, 3])
    np.testing.assert_array_equal(line.get_ydata(), validation_loss)
    # Same colour as the training loss, told apart by the dashes.
    assert line.get_color() == display.lines_["loss"].get_color()
    assert line.get_linestyle() == "--"
    assert display.score_ax_ is None
    assert _legend_labels(display) == ["Training loss", "Validation loss"]


def test_no_validation_lines_without_early_stopping(plain):
    display = TrainingCurveDisplay.from_estimator(plain)
    assert display.lines_["validation_loss"] is None
    assert display.lines_["validation_score"] is None
    assert display.score_ax_ is None
    # No twin axes was created.
    assert display.figure_.axes == [display.ax_]
    np.testing.assert_array_equal(display.lines_["loss"].get_ydata(), plain.loss_curve_)


def test_twin_axis_only_with_scores():
    without = TrainingCurveDisplay(loss_curve=[1.0, 0.5]).plot()
    assert without.score_ax_ is None
    assert len(without.figure_.axes) == 1

    with_scores = TrainingCurveDisplay(
        loss_curve=[1.0, 0.5], validation_scores=[0.6, 0.8]
    ).plot()
    assert with_scores.score_ax_ is not None
    assert with_scores.figure_.axes == [with_scores.ax_, with_scores.score_ax_]
    assert with_scores.score_ax_.get_shared_x_axes().joined(
        with_scores.ax_, with_scores.score_ax_
    )
    # The legend holds the lines of both axes.
    assert _legend_labels(with_scores) == ["Training loss", "Validation score"]


def test_sklearn_mlp_classifier():
    mlp = _fit(
        MLPClassifier(
            hidden_layer_sizes=(5,), early_stopping=True, max_iter=15, random_state=0
        )
    )
    assert not hasattr(mlp, "validation_loss_curve_")
    display = TrainingCurveDisplay.from_estimator(mlp)
    np.testing.assert_array_equal(display.lines_["loss"].get_ydata(), mlp.loss_curve_)
    np.testing.assert_array_equal(
        display.lines_["validation_score"].get_ydata(), mlp.validation_scores_
    )
    assert display.lines_["validation_loss"] is None
    assert _legend_labels(display) == [
        "MLPClassifier: training loss",
        "MLPClassifier: validation score",
    ]


def test_pipeline_uses_its_final_estimator():
    pipe = _fit(make_pipeline(StandardScaler(), BackpropRegressor(max_iter=10)), y=y)
    display = TrainingCurveDisplay.from_estimator(pipe)
    np.testing.assert_array_equal(
        display.lines_["loss"].get_ydata(), pipe[-1].loss_curve_
    )
    assert display.estimator_name == "BackpropRegressor"


def test_existing_ax(early_stopped, plain):
    fig, ax = plt.subplots()
    display = TrainingCurveDisplay.from_estimator(early_stopped, ax=ax)
    assert display.ax_ is ax
    assert display.figure_ is fig
    assert display.lines_["loss"] in ax.lines

    # A second display on the same axes reuses the twin for its scores,
    # and the legend lists the lines of both.
    other = TrainingCurveDisplay.from_estimator(early_stopped, ax=ax, name="again")
    assert other.score_ax_ is display.score_ax_
    assert len(fig.axes) == 2
    plotted = [
        line.get_label()
        for shown in (display, other)
        for line in shown.lines_.values()
        if line is not None
    ]
    assert sorted(_legend_labels(other)) == sorted(plotted)
    assert other.lines_["loss"].get_color() != display.lines_["loss"].get_color()

    # A display without scores on the same axes keeps a single legend.
    TrainingCurveDisplay.from_estimator(plain, ax=ax, name="plain")
    assert ax.get_legend() is None
    assert "plain: training loss" in _legend_labels(other)


def test_unfitted_estimator_raises():
    with pytest.raises(NotFittedError):
        TrainingCurveDisplay.from_estimator(BackpropClassifier())
    with pytest.raises(NotFittedError):
        TrainingCurveDisplay.from_estimator(MLPClassifier())


def test_estimator_without_loss_curve_raises():
    from sklearn.linear_model import LogisticRegression

    fitted = LogisticRegression().fit(X, y)
    with pytest.raises(TypeError, match="has no loss_curve_"):
        TrainingCurveDisplay.from_estimator(fitted)


def test_missing_matplotlib_raises_with_install_hint(monkeypatch, plain):
    for module in list(sys.modules):
        if module == "matplotlib" or module.startswith("matplotlib."):
            monkeypatch.setitem(sys.modules, module, None)
    hint = (
        "TrainingCurveDisplay needs matplotlib: pip install matplotlib "
        "(or pip install 'skbp[examples]')"
    )
    with pytest.raises(ImportError) as excinfo:
        TrainingCurveDisplay(loss_curve=[1.0]).plot()
    assert str(excinfo.value) == hint
    with pytest.raises(ImportError, match=r"pip install 'skbp\[examples\]'"):
        TrainingCurveDisplay.from_estimator(plain)


def test_name_in_legend_labels(early_stopped):
    display = TrainingCurveDisplay.from_estimator(early_stopped, name="my net")
    labels = _legend_labels(display)
    assert labels and all(label.startswith("my net: ") for label in labels)
    assert display.lines_["loss"].get_label() == "my net: training loss"

    # Default: the estimator's class name; plot(name=...) overrides it.
    assert TrainingCurveDisplay.from_estimator(early_stopped).lines_[
        "loss"
    ].get_label() == ("BackpropClassifier: training loss")
    display = TrainingCurveDisplay(loss_curve=[1.0, 0.5], estimator_name="stored").plot(
        name="given"
    )
    assert _legend_labels(display) == ["given: training loss"]


def test_line_keywords_override_defaults():
    display = TrainingCurveDisplay(
        loss_curve=[1.0, 0.5], validation_scores=[0.2, 0.4]
    ).plot(loss_kw={"c": "red", "label": "train"}, score_kw={"ls": "-."})
    assert display.lines_["loss"].get_color() == "red"
    assert display.lines_["loss"].get_label() == "train"
    assert display.lines_["validation_score"].get_linestyle() == "-."
    assert display.lines_["validation_score"].get_color() == "red"


def test_shorter_validation_curves_end_with_the_loss_curve():
    # A warm-start fit that turns early_stopping on records scores from then on.
    display = TrainingCurveDisplay(
        loss_curve=[1.0, 0.8, 0.6, 0.5], validation_scores=[0.7, 0.9]
    ).plot()
    np.testing.assert_array_equal(
        display.lines_["validation_score"].get_xdata(), [3, 4]
    )
    with pytest.raises(ValueError, match="more than the 1"):
        TrainingCurveDisplay(loss_curve=[1.0], validation_scores=[0.5, 0.6]).plot()


def test_warm_start_switching_on_early_stopping():
    clf = _fit(BackpropClassifier(max_iter=5, random_state=0, warm_start=True))
    clf.set_params(early_stopping=True)
    clf = _fit(clf)
    display = TrainingCurveDisplay.from_estimator(clf)
    n_epochs, n_scores = len(clf.loss_curve_), len(clf.validation_scores_)
    assert n_scores < n_epochs
    np.testing.assert_array_equal(
        display.lines_["validation_score"].get_xdata(),
        np.arange(n_epochs - n_scores + 1, n_epochs + 1),
    )


def test_plot_returns_self():
    display = TrainingCurveDisplay(loss_curve=[1.0, 0.5])
    assert display.plot() is display
