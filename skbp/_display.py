"""Plot of a network's training and validation curves per epoch."""

import numpy as np
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

_MATPLOTLIB_HINT = (
    "TrainingCurveDisplay needs matplotlib: pip install matplotlib "
    "(or pip install 'skbp[examples]')"
)

# Marks the twin axes holding validation scores, so that a later plot on the
# same axes puts its scores there too instead of stacking a second right axis.
_TWIN_MARK = "_skbp_validation_score_axis_of"


def _import_pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as err:
        raise ImportError(_MATPLOTLIB_HINT) from err
    return plt


def _as_curve(values, what):
    """A 1-d float array, or None for a missing or empty curve."""
    if values is None:
        return None
    curve = np.asarray(values, dtype=float)
    if curve.ndim != 1:
        raise ValueError(f"{what} must be one-dimensional, got shape {curve.shape}.")
    return curve if curve.size else None


def _line_kwargs(defaults, user_kw):
    """``defaults`` updated by ``user_kw``, whose aliases (``c``, ``ls``...) win."""
    from matplotlib.cbook import normalize_kwargs
    from matplotlib.lines import Line2D

    return {**defaults, **normalize_kwargs(user_kw or {}, Line2D)}


def _label(quantity, name):
    return quantity.capitalize() if name is None else f"{name}: {quantity}"


def _plot_validation_curve(ax, epochs, curve, *, quantity, name, style, user_kw):
    """Plot a validation curve against the last epochs; return its line.

    A validation curve shorter than the loss curve (early stopping turned on
    in a warm start) belongs to the last epochs.
    """
    defaults = {"label": _label(quantity, name), **style}
    (line,) = ax.plot(
        epochs[epochs.size - curve.size :], curve, **_line_kwargs(defaults, user_kw)
    )
    return line


class TrainingCurveDisplay:
    """Training loss, validation loss and validation score per epoch.

    The training loss and, when recorded, the validation loss share the left
    y-axis; the validation score, when recorded, is drawn on a twin y-axis on
    the right. Use :meth:`from_estimator` to create a display from a fitted
    estimator; all parameters are stored as attributes.

    Parameters
    ----------
    loss_curve : array-like of shape (n_epochs,)
        Training loss after each epoch, as in an estimator's ``loss_curve_``.

    validation_loss_curve : array-like of shape (n_validation_epochs,), \
            default=None
        Loss on the validation set after each epoch, as in an estimator's
        ``validation_loss_curve_``. ``None`` when not recorded.

    validation_scores : array-like of shape (n_validation_epochs,), default=None
        Validation score after each epoch, as in an estimator's
        ``validation_scores_``. ``None`` when not recorded.

    estimator_name : str, default=None
        Name prefixed to the legend labels. ``None`` for plain labels.

    Attributes
    ----------
    ax_ : matplotlib Axes
        Axes holding the loss curves.

    score_ax_ : matplotlib Axes or None
        Twin axes (sharing the x-axis of ``ax_``) holding the validation score;
        ``None`` when there are no validation scores. The legend of all
        lines is drawn on it when it exists, otherwise on ``ax_``.

    figure_ : matplotlib Figure
        Figure containing the plot.

    lines_ : dict
        The plotted lines, ``matplotlib.lines.Line2D`` or ``None`` where the
        curve is absent, under the keys ``"loss"``, ``"validation_loss"`` and
        ``"validation_score"``.

    See Also
    --------
    sklearn.model_selection.LearningCurveDisplay : Scores against the number of
        training samples.

    Notes
    -----
    Epochs are numbered from 1. Validation curves shorter than the training
    loss curve are aligned with its last epochs: a warm-start ``fit`` that
    turns ``early_stopping`` on records them from then on, while the training
    loss curve carries on.

    Examples
    --------
    >>> import warnings
    >>> import pytest; matplotlib = pytest.importorskip("matplotlib")
    >>> matplotlib.use("Agg")
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.exceptions import ConvergenceWarning
    >>> from skbp import BackpropClassifier, TrainingCurveDisplay
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = BackpropClassifier(early_stopping=True, max_iter=20, random_state=0)
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore", ConvergenceWarning)
    ...     clf = clf.fit(X, y)
    >>> display = TrainingCurveDisplay.from_estimator(clf)
    >>> display.lines_["loss"].get_xdata()[:3]
    array([1, 2, 3])
    >>> len(display.lines_["loss"].get_xdata()) == len(clf.loss_curve_)
    True
    >>> display.score_ax_.get_ylabel()
    'Validation score'
    """

    def __init__(
        self,
        *,
        loss_curve,
        validation_loss_curve=None,
        validation_scores=None,
        estimator_name=None,
    ):
        self.loss_curve = loss_curve
        self.validation_loss_curve = validation_loss_curve
        self.validation_scores = validation_scores
        self.estimator_name = estimator_name

    def plot(
        self,
        ax=None,
        *,
        name=None,
        loss_kw=None,
        validation_loss_kw=None,
        score_kw=None,
    ):
        """Plot the curves against the epoch.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to plot the losses on. ``None`` creates a new figure and axes.
            Plotting several displays on the same axes overlays them; their
            validation scores share one twin axis.

        name : str, default=None
            Name prefixed to the legend labels. ``None`` uses
            ``estimator_name``.

        loss_kw : dict, default=None
            Keyword arguments of ``ax.plot`` for the training loss.

        validation_loss_kw : dict, default=None
            Keyword arguments of ``ax.plot`` for the validation loss. By
            default it has the training loss's color, dashed.

        score_kw : dict, default=None
            Keyword arguments of ``plot`` for the validation score. By default
            it has the training loss's color, dotted.

        Returns
        -------
        display : TrainingCurveDisplay
            This display, with ``ax_``, ``score_ax_``, ``figure_`` and
            ``lines_`` set.

        Raises
        ------
        ImportError
            If matplotlib is not installed.

        ValueError
            If a curve is not one-dimensional, or a validation curve is longer
            than the training loss curve.
        """
        plt = _import_pyplot()
        from matplotlib.ticker import MaxNLocator

        loss = _as_curve(self.loss_curve, "loss_curve")
        if loss is None:
            loss = np.empty(0)
        n_epochs = loss.size
        validation = {
            "validation_loss_curve": _as_curve(
                self.validation_loss_curve, "validation_loss_curve"
            ),
            "validation_scores": _as_curve(self.validation_scores, "validation_scores"),
        }
        for what, curve in validation.items():
            if curve is not None and curve.size > n_epochs:
                raise ValueError(
                    f"{what} has {curve.size} epochs, more than the {n_epochs} "
                    "of loss_curve."
                )
        name = self.estimator_name if name is None else name

        if ax is None:
            _, ax = plt.subplots()
        twins = [
            other for other in ax.figure.axes if getattr(other, _TWIN_MARK, None) is ax
        ]
        twin = twins[0] if twins else None
        epochs = np.arange(1, n_epochs + 1)

        (loss_line,) = ax.plot(
            epochs,
            loss,
            **_line_kwargs({"label": _label("training loss", name)}, loss_kw),
        )
        color = loss_line.get_color()

        validation_loss_line = None
        curve = validation["validation_loss_curve"]
        if curve is not None:
            validation_loss_line = _plot_validation_curve(
                ax,
                epochs,
                curve,
                quantity="validation loss",
                name=name,
                style={"color": color, "linestyle": "--"},
                user_kw=validation_loss_kw,
            )

        score_ax = score_line = None
        curve = validation["validation_scores"]
        if curve is not None:
            if twin is None:
                twin = ax.twinx()
                setattr(twin, _TWIN_MARK, ax)
            score_ax = twin
            score_line = _plot_validation_curve(
                score_ax,
                epochs,
                curve,
                quantity="validation score",
                name=name,
                style={"color": color, "linestyle": ":"},
                user_kw=score_kw,
            )
            score_ax.set_ylabel("Validation score")

        ax.set_xlabel("Epoch")
        ax.set_ylabel("Loss")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))

        # One legend for the lines of both axes, on the twin when there is one
        # since it is drawn over ax.
        handles, labels = ax.get_legend_handles_labels()
        if twin is not None:
            twin_handles, twin_labels = twin.get_legend_handles_labels()
            handles, labels = handles + twin_handles, labels + twin_labels
            if ax.get_legend() is not None:
                ax.get_legend().remove()
        if handles:
            (ax if twin is None else twin).legend(handles, labels)

        self.ax_ = ax
        self.score_ax_ = score_ax
        self.figure_ = ax.figure
        self.lines_ = {
            "loss": loss_line,
            "validation_loss": validation_loss_line,
            "validation_score": score_line,
        }
        return self

    @classmethod
    def from_estimator(cls, estimator, *, ax=None, name=None, **kwargs):
        """Plot the training curves recorded by a fitted estimator.

        Parameters
        ----------
        estimator : estimator instance
            A fitted estimator that records ``loss_curve_``, such as
            :class:`~skbp.BackpropClassifier`, :class:`~skbp.BackpropRegressor`
            or scikit-learn's MLP estimators with ``solver="sgd"`` or
            ``"adam"``, or a fitted
            :class:`~sklearn.pipeline.Pipeline` ending in one. Its
            ``validation_loss_curve_`` and ``validation_scores_`` are plotted
            where present and not ``None``.

        ax : matplotlib Axes, default=None
            Axes to plot the losses on. ``None`` creates a new figure and axes.

        name : str, default=None
            Name prefixed to the legend labels. ``None`` uses the estimator's
            class name.

        **kwargs : dict
            Keyword arguments of :meth:`plot`: ``loss_kw``,
            ``validation_loss_kw`` and ``score_kw``.

        Returns
        -------
        display : TrainingCurveDisplay
            The plotted display.

        Raises
        ------
        ImportError
            If matplotlib is not installed.

        sklearn.exceptions.NotFittedError
            If the estimator is not fitted.

        TypeError
            If the estimator does not record ``loss_curve_``.

        Examples
        --------
        >>> import pytest; matplotlib = pytest.importorskip("matplotlib")
        >>> matplotlib.use("Agg")
        >>> import warnings
        >>> from sklearn.datasets import load_iris
        >>> from sklearn.exceptions import ConvergenceWarning
        >>> from skbp import BackpropClassifier, TrainingCurveDisplay
        >>> X, y = load_iris(return_X_y=True)
        >>> with warnings.catch_warnings():
        ...     warnings.simplefilter("ignore", ConvergenceWarning)
        ...     clf = BackpropClassifier(max_iter=20, random_state=0).fit(X, y)
        >>> display = TrainingCurveDisplay.from_estimator(clf, name="net")
        >>> display.lines_["loss"].get_label()
        'net: training loss'
        >>> display.lines_["validation_score"] is None
        True
        """
        _import_pyplot()
        check_is_fitted(estimator)
        final = estimator[-1] if isinstance(estimator, Pipeline) else estimator
        if not hasattr(final, "loss_curve_"):
            raise TypeError(
                f"{type(final).__name__} has no loss_curve_: TrainingCurveDisplay "
                "plots the loss per epoch recorded by estimators such as "
                "BackpropClassifier, BackpropRegressor or scikit-learn's MLPs "
                "with solver='sgd' or 'adam'."
            )
        display = cls(
            loss_curve=final.loss_curve_,
            validation_loss_curve=getattr(final, "validation_loss_curve_", None),
            validation_scores=getattr(final, "validation_scores_", None),
            estimator_name=type(final).__name__ if name is None else name,
        )
        return display.plot(ax=ax, **kwargs)
