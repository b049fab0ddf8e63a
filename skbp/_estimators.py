"""BackpropClassifier and BackpropRegressor: validation, tags, fitted attributes.

The estimators validate their input, encode the targets, build a
:class:`~skbp._network.Network` and hand over to the drivers in
:mod:`skbp._training`.  Everything below this module receives validated,
contiguous float arrays.
"""

import functools
import math
import warnings
from contextlib import contextmanager
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from scipy.special import expit
from sklearn import get_config
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, _fit_context
from sklearn.callback import CallbackSupportMixin
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import (
    _check_sample_weight,
    check_is_fitted,
    column_or_1d,
    validate_data,
)

from ._activations import ACTIVATIONS
from ._losses import LINKS, get_output_layer, log_logistic, log_softmax
from ._network import Network, hidden_activations_from_views, predict_raw_from_views
from ._optimizers import SGD, Adam
from ._schedules import Constant, make_schedule
from ._training import (
    Progress,
    StochasticSettings,
    TrainingData,
    fit_lbfgs,
    fit_stochastic,
)

_STOCHASTIC_SOLVERS = ("sgd", "adam")


@contextmanager
def _unchanged_on_error(estimator):
    """Restore ``estimator`` exactly as it was if the block raises.

    Attributes are restored by reference; the flat parameter vector and the
    training bookkeeping, which training updates in place, are restored by
    value so that ``coefs_`` and ``intercepts_`` stay live views.
    """
    saved_attributes = dict(estimator.__dict__)
    theta = saved_attributes.get("_theta")
    saved_theta = None if theta is None else theta.copy()
    progress = saved_attributes.get("_progress")
    restore_progress = None if progress is None else progress.checkpoint()
    try:
        yield
    except BaseException:
        estimator.__dict__.clear()
        estimator.__dict__.update(saved_attributes)
        if theta is not None:
            theta[...] = saved_theta
        if restore_progress is not None:
            restore_progress()
        raise


def _is_same_view(candidate, view):
    """Whether ``candidate`` is exactly ``view``: same start, shape and strides."""
    return (
        isinstance(candidate, np.ndarray)
        and candidate.dtype == view.dtype
        and candidate.shape == view.shape
        and candidate.strides == view.strides
        and candidate.__array_interface__["data"][0]
        == view.__array_interface__["data"][0]
    )


_UNIT_INTERVAL_INSIDE = {
    np.dtype(dtype): (np.finfo(dtype).tiny, np.nextafter(dtype(1), dtype(0)))
    for dtype in (np.float32, np.float64)
}


def _quiet_floats(method):
    """Run ``method`` with NumPy's floating-point warnings off.

    Overflow and underflow in intermediate results are expected at the
    extremes (huge inputs, saturated units) and are handled where they matter:
    training checks its loss and weights and reports divergence as a
    ValueError, prediction clips infinite raw outputs.  No RuntimeWarning from
    deep inside the arithmetic reaches the user.
    """

    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        with np.errstate(all="ignore"):
            return method(*args, **kwargs)

    return wrapper


def _finite_raw(raw):
    """Clip infinite raw outputs to the largest finite float, in place.

    Overflowing products give +-inf; as the largest float they still rank and
    saturate the output units, where inf would turn the softmax into NaN.
    """
    largest = np.finfo(raw.dtype).max
    np.maximum(raw, -largest, out=raw)
    return np.minimum(raw, largest, out=raw)


def _inside_unit_interval(proba):
    """Clip probabilities in place to the floats strictly between 0 and 1."""
    lowest, highest = _UNIT_INTERVAL_INSIDE[proba.dtype]
    # Two ufunc calls: np.clip's Python wrapper costs more than the clipping
    # when predicting a single row.
    np.maximum(proba, lowest, out=proba)
    return np.minimum(proba, highest, out=proba)


def _hidden_layer_sizes_tuple(hidden_layer_sizes):
    """Return ``hidden_layer_sizes`` as a tuple of positive ints, or raise."""
    if not hasattr(hidden_layer_sizes, "__iter__"):
        hidden_layer_sizes = [hidden_layer_sizes]
    sizes = list(hidden_layer_sizes)
    if not all(isinstance(s, Integral) and not isinstance(s, bool) for s in sizes):
        raise ValueError(
            f"hidden_layer_sizes must be a sequence of positive integers, got "
            f"{hidden_layer_sizes!r}."
        )
    if any(s <= 0 for s in sizes):
        raise ValueError(f"hidden_layer_sizes must be > 0, got {sizes}.")
    return tuple(int(s) for s in sizes)


_FLOAT_DTYPES = (np.dtype(np.float64), np.dtype(np.float32))
_DIVERGENCE_PROBE_ROWS = 200
_PARAM_NAMES = {}


def _param_names(cls):
    """``cls._get_param_names()``, which inspects ``__init__``, cached per class."""
    if cls not in _PARAM_NAMES:
        _PARAM_NAMES[cls] = tuple(cls._get_param_names())
    return _PARAM_NAMES[cls]


def _all_finite(array):
    """Whether every value of ``array`` is finite.

    The sum is finite only if every term is, and it is one cheap pass without
    a boolean temporary; a sum that overflows from finite terms falls back to
    the elementwise test.
    """
    return bool(np.isfinite(array.sum())) or bool(np.isfinite(array).all())


def _is_finite(array):
    """:func:`_all_finite`, or True under ``sklearn.set_config(assume_finite=True)``."""
    return get_config()["assume_finite"] or _all_finite(array)


def _plain_float_matrix(X, n_features):
    """Whether ``X`` passes every check of ``validate_data`` as it is.

    A C-contiguous float32/float64 ndarray with at least one row, the fitted
    number of features and finite values needs no conversion; anything else
    goes through ``validate_data``, which converts it or explains the problem.
    """
    return (
        type(X) is np.ndarray
        and X.ndim == 2
        and X.dtype in _FLOAT_DTYPES
        and X.flags.c_contiguous
        and X.shape[0] > 0
        and X.shape[1] == n_features
        and _is_finite(X)
    )


def _plain_sample_weight(sample_weight, n_samples):
    """Whether ``sample_weight`` is a finite, non-negative float vector."""
    return (
        type(sample_weight) is np.ndarray
        and sample_weight.ndim == 1
        and sample_weight.shape[0] == n_samples
        and sample_weight.dtype in _FLOAT_DTYPES
        and _is_finite(sample_weight)
        and sample_weight.min() >= 0
        and sample_weight.any()
    )


class _MemoizedFirstShuffle:
    """``RandomState(seed)`` for a caller that draws one shuffle, memoized.

    :meth:`shuffle` permutes as a freshly seeded ``RandomState`` would, taking
    the permutation from ``memo`` (keyed by seed and length) when it is there.
    Any further draw gets a real ``RandomState`` advanced past that first
    shuffle, so the stream is exactly that of ``RandomState(seed)``.
    """

    def __init__(self, seed, memo):
        self._seed = seed
        self._memo = memo
        self._first_length = None
        self._state = None

    def shuffle(self, array):
        """Shuffle ``array`` in place along its first axis."""
        if self._first_length is not None or self._state is not None:
            return self._advanced().shuffle(array)
        n = len(array)
        key = (self._seed, n)
        if key not in self._memo:
            permutation = np.arange(n)
            np.random.RandomState(self._seed).shuffle(permutation)
            self._memo.clear()  # one size per stream, typically
            self._memo[key] = permutation
        array[...] = array[self._memo[key]]
        self._first_length = n

    def _advanced(self):
        if self._state is None:
            self._state = np.random.RandomState(self._seed)
            if self._first_length is not None:
                self._state.shuffle(np.arange(self._first_length))
        return self._state

    def __getattr__(self, name):
        # Any other draw (uniform, randint, ...) continues the real stream.
        return getattr(self._advanced(), name)


def _score_weights(sample_weight, X):
    """Validate ``score``'s sample weights as ``fit`` validates its own.

    scikit-learn's ``score`` hands the weights to the metric unchecked, and
    the metrics accept negative weights.
    """
    if sample_weight is None:
        return None
    return _check_sample_weight(sample_weight, X, ensure_non_negative=True)


def _raw_output_may_overflow(network, theta, X):
    """Whether some input of ``X``'s range could drive a raw output to inf.

    Bounds each layer's pre-activation by ``fan_in * max|a| * max|w| +
    max|b|`` from the largest parameter and input, layer by layer (tanh and
    logistic units reset the bound to 1).  Two reductions over the
    parameters and one over ``X``: cheap next to training.
    """
    largest_parameter = max(float(theta.max()), -float(theta.min()))
    bound = max(float(X.max()), -float(X.min()))
    bounded_units = network.hidden.name in ("tanh", "logistic")
    for layer, fan_in in enumerate(network.layer_units[:-1]):
        if layer > 0 and bounded_units:
            bound = 1.0
        bound = (fan_in * bound + 1.0) * largest_parameter
    # Margin: the bound must stay well inside the range to rule overflow out.
    return not bound < 1e-3 * float(np.finfo(theta.dtype).max)


def _comparable_labels(y_dtype, classes_dtype):
    """Whether labels of these dtypes compare as ``LabelBinarizer`` compares them."""
    kinds = y_dtype.kind + classes_dtype.kind
    return all(kind in "biuf" for kind in kinds) or kinds in ("UU", "SS")


class _CallbackTasks:
    """Report a fit and its epochs (or L-BFGS iterations) to sklearn callbacks.

    The root task is the ``fit`` or ``partial_fit`` call; each epoch or
    iteration is a subtask.  A callback that needs the model as it is after a
    subtask (``ScoringMonitor``) gets a copy of the estimator holding copies of
    the weights of that moment, built only if asked for.
    """

    def __init__(self, estimator, X, y, *, task_name, subtask_name, max_subtasks):
        self._estimator = estimator
        self._X, self._y = X, y
        self._subtask_name = subtask_name
        self._root = estimator._init_callback_context(
            task_name=task_name, max_subtasks=max_subtasks
        )
        self._root.call_on_fit_task_begin(estimator=estimator, X=X, y=y)
        self._subtask = None

    def _model_at(self, theta):
        return lambda: self._estimator._fitted_attributes(theta.copy())

    def begin(self):
        """Begin the next subtask."""
        self._subtask = self._root.subcontext(task_name=self._subtask_name)
        self._subtask.call_on_fit_task_begin(
            estimator=self._estimator, X=self._X, y=self._y
        )

    def end(self, theta):
        """End the subtask; return True if a callback asks to stop."""
        return self._subtask.call_on_fit_task_end(
            estimator=self._estimator,
            X=self._X,
            y=self._y,
            reconstruction_attributes=self._model_at(theta),
        )

    def finish(self, theta):
        """End the root task with the final weights."""
        self._root.call_on_fit_task_end(
            estimator=self._estimator,
            X=self._X,
            y=self._y,
            reconstruction_attributes=self._model_at(theta),
        )


class _BaseBackprop(CallbackSupportMixin, BaseEstimator):
    """Shared machinery of the classifier and the regressor."""

    _parameter_constraints: dict = {
        "hidden_layer_sizes": [
            "array-like",
            Interval(Integral, 1, None, closed="left"),
        ],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "solver": [StrOptions({"lbfgs", "sgd", "adam"})],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "batch_size": [
            StrOptions({"auto"}),
            Interval(Integral, 1, None, closed="left"),
        ],
        "learning_rate": [StrOptions({"constant", "invscaling", "adaptive"})],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "power_t": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "tol": [Interval(Real, 0, None, closed="left")],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "momentum": [Interval(Real, 0, 1, closed="both")],
        "nesterovs_momentum": ["boolean"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "beta_1": [Interval(Real, 0, 1, closed="left")],
        "beta_2": [Interval(Real, 0, 1, closed="left")],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "n_iter_no_change": [
            Interval(Integral, 1, None, closed="left"),
            Options(Real, {np.inf}),
        ],
        "max_fun": [Interval(Integral, 1, None, closed="left")],
    }

    # ------------------------------------------------------------------ fit

    @_fit_context(prefer_skip_nested_validation=True)
    @_quiet_floats
    def fit(
        self,
        X,
        y,
        sample_weight=None,
        *,
        X_val=None,
        y_val=None,
        sample_weight_val=None,
    ):
        """Fit the network to ``X`` and ``y``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Target values: class labels for the classifier, numbers for the
            regressor.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative sample weights; ``None`` weighs every sample by one.
        X_val : {array-like, sparse matrix} of shape (n_val, n_features), \
                default=None
            A validation set for early stopping, used instead of holding out
            ``validation_fraction`` of the training rows (all of ``X`` is
            then trained on). Needs ``y_val`` and ``early_stopping=True``, as
            in :class:`~sklearn.ensemble.HistGradientBoostingClassifier`. In
            a :class:`~sklearn.pipeline.Pipeline`, transform it like ``X``
            with ``Pipeline(..., transform_input=["X_val"])``.
        y_val : array-like of shape (n_val,) or (n_val, n_outputs), \
                default=None
            Targets of the validation set.
        sample_weight_val : array-like of shape (n_val,), default=None
            Sample weights of the validation set.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        validation_set = self._given_validation_set(X_val, y_val, sample_weight_val)
        with _unchanged_on_error(self):
            self._fit(
                X, y, sample_weight, incremental=False, validation_set=validation_set
            )
        return self

    def _given_validation_set(self, X_val, y_val, sample_weight_val, *, stream=False):
        """Check that a validation set comes whole and is used; return it or None."""
        if X_val is None and y_val is None:
            if sample_weight_val is not None:
                raise ValueError("sample_weight_val is provided, but X_val is not.")
            return None
        if y_val is None or X_val is None:
            given, missing = ("X_val", "y_val") if y_val is None else ("y_val", "X_val")
            raise ValueError(f"{given} is provided, but {missing} was not provided.")
        if not stream and (not self.early_stopping or self.solver == "lbfgs"):
            raise ValueError(
                "X_val and y_val are used for early stopping: pass them with "
                "early_stopping=True and solver='sgd' or 'adam' (got "
                f"early_stopping={self.early_stopping!r}, solver={self.solver!r})."
            )
        return X_val, y_val, sample_weight_val

    def _validate_params_if_changed(self):
        """Validate the parameters unless they are the objects last validated.

        ``partial_fit`` checks its parameters on every call, since
        ``set_params`` may come between calls; comparing the values by
        identity makes the check free when nothing changed.
        """
        values = tuple(getattr(self, name) for name in _param_names(type(self)))
        validated = self.__dict__.get("_validated_params", ())
        if len(values) != len(validated) or any(
            value is not old for value, old in zip(values, validated, strict=True)
        ):
            self._validate_params()
            self._validated_params = values

    def _stream_random_state(self):
        """The random state of a ``partial_fit`` call on a fitted model.

        Like scikit-learn, each call starts from ``check_random_state(
        random_state)``; such a call draws one thing only, the shuffle of its
        rows.  For an integer seed that shuffle is the same for every call of
        the same size, so it is memoized: seeding a ``RandomState`` costs more
        than a 32-row training step.
        """
        if not isinstance(self.random_state, Integral) or isinstance(
            self.random_state, bool
        ):
            return check_random_state(self.random_state)
        memo = self.__dict__.setdefault("_shuffle_memo", {})
        return _MemoizedFirstShuffle(int(self.random_state), memo)

    def _weighted_by_class(self, y_encoded, sample_weight, dtype, *, incremental):
        """Fold per-class weights into ``sample_weight`` (classifier only)."""
        return sample_weight

    def _partial_fit_available(self):
        return self.solver in _STOCHASTIC_SOLVERS

    def _fit(self, X, y, sample_weight, incremental, validation_set=None):
        hidden_sizes = _hidden_layer_sizes_tuple(self.hidden_layer_sizes)
        if incremental and self.early_stopping:
            raise ValueError(
                "partial_fit does not support early_stopping=True; fit with "
                "early_stopping=True or call partial_fit with early_stopping=False."
            )
        first_pass = not hasattr(self, "coefs_") or (
            not self.warm_start and not incremental
        )
        X, y_encoded, sample_weight = self._validate_training_data(
            X, y, sample_weight, first_pass=first_pass, incremental=incremental
        )
        sample_weight = self._weighted_by_class(
            y_encoded, sample_weight, X.dtype, incremental=incremental
        )
        network = self._build_network(X.shape[1], hidden_sizes, y_encoded.shape[1])
        if network == getattr(self, "_network", None):
            network = self._network  # keeps its cached layout
        if incremental and not first_pass:
            random_state = self._stream_random_state()
        else:
            random_state = check_random_state(self.random_state)
        if first_pass:
            self._theta = network.init_parameters(random_state, X.dtype)
            self._progress = None
        else:
            self._check_same_architecture(network)
            self._theta = self._packed_parameters(network, X.dtype)
        self._network = network
        data = TrainingData(X, y_encoded, sample_weight)
        if validation_set is not None:
            validation_set = self._validated_validation_set(*validation_set, X.dtype)
        tasks = self._callback_tasks(X, y, incremental)
        if self.solver == "lbfgs":
            self._run_lbfgs(data, tasks)
        else:
            self._run_stochastic(
                data, random_state, incremental, validation_set, tasks=tasks
            )
        self._check_not_diverged(X)
        if tasks is not None:
            tasks.finish(self._theta)
        self._publish_parameters()

    def _callback_tasks(self, X, y, incremental):
        """Callback reporting for this call, or None without callbacks."""
        if not getattr(self, "_skl_callbacks", None):
            return None
        lbfgs = self.solver == "lbfgs"
        return _CallbackTasks(
            self,
            X,
            y,
            task_name="partial_fit" if incremental else "fit",
            subtask_name="iteration" if lbfgs else "epoch",
            max_subtasks=1 if incremental else self.max_iter,
        )

    def _fitted_attributes(self, theta):
        """The attributes that make a copy of this estimator predict with ``theta``."""
        network = self._network
        coefs, intercepts = network.views(theta)
        return {
            "coefs_": coefs,
            "intercepts_": intercepts,
            "n_layers_": network.n_layers,
            "n_outputs_": network.layer_units[-1],
            "out_activation_": network.output.link_name,
        }

    def _build_network(self, n_features, hidden_sizes, n_outputs):
        output = get_output_layer(self.loss, self._output_activation(n_outputs))
        units = (n_features, *hidden_sizes, n_outputs)
        return Network(units, ACTIVATIONS[self.activation], output)

    def _check_same_architecture(self, network):
        fitted = self._network.layer_units
        if fitted != network.layer_units:
            raise ValueError(
                f"The network fitted so far has layer sizes {list(fitted)} but "
                f"this call needs {list(network.layer_units)} (input, hidden "
                "and output units). Keep hidden_layer_sizes, the features and "
                "the targets as they were, or set warm_start=False to refit."
            )

    def _packed_parameters(self, network, dtype):
        """Return the live flat vector, repacked if ``coefs_`` were replaced."""
        theta = self._theta
        views = [*self.coefs_, *self.intercepts_]
        if theta.dtype == dtype and self._views_are_published(views):
            return theta
        live_coefs, live_intercepts = network.views(theta)
        expected = [*live_coefs, *live_intercepts]
        is_live = len(views) == len(expected) and all(
            _is_same_view(v, e) for v, e in zip(views, expected, strict=True)
        )
        if is_live and theta.dtype == dtype:
            return theta
        shapes_ok = len(views) == len(expected) and all(
            np.shape(v) == e.shape for v, e in zip(views, expected, strict=True)
        )
        if not shapes_ok:
            raise ValueError(
                "coefs_ and intercepts_ do not match the fitted architecture "
                f"{list(network.layer_units)}; set warm_start=False to refit."
            )
        return network.pack(self.coefs_, self.intercepts_, dtype)

    def _publish_parameters(self):
        network = self._network
        self.coefs_, self.intercepts_ = network.views(self._theta)
        self._published_views = (*self.coefs_, *self.intercepts_)
        self.n_layers_ = network.n_layers
        self.n_outputs_ = network.layer_units[-1]
        self.out_activation_ = network.output.link_name

    def _views_are_published(self, views):
        """Whether ``views`` are the very arrays the last fit published.

        An identity test, cheap enough for every ``partial_fit`` call; views
        that were replaced (or rebuilt by unpickling) take the full test in
        :meth:`_packed_parameters`.
        """
        published = self.__dict__.get("_published_views", ())
        return len(views) == len(published) and all(
            view is old for view, old in zip(views, published, strict=True)
        )

    def _check_not_diverged(self, X):
        """Raise if training left non-finite weights, loss or outputs.

        Weights can stay finite yet grow so large that the next forward pass
        over data like the training data overflows (inf - inf is NaN).  Where
        a bound from the largest weight and input allows that, the outputs on
        the first rows of ``X`` are checked too.
        """
        loss_is_finite = self.loss_ is None or math.isfinite(self.loss_)
        if loss_is_finite and _all_finite(self._theta):
            if not _raw_output_may_overflow(self._network, self._theta, X):
                return
            coefs, intercepts = self._network.views(self._theta)
            raw = predict_raw_from_views(
                self._network.hidden, coefs, intercepts, X[:_DIVERGENCE_PROBE_ROWS]
            )
            if _all_finite(raw):
                return
        raise ValueError(
            "Training diverged: the solver produced non-finite parameter weights, "
            "loss or outputs. Try a smaller learning_rate_init, a larger alpha, "
            "or scale the input data (for example with StandardScaler)."
        )

    # ------------------------------------------------------------ solvers

    def _run_lbfgs(self, data, tasks=None):
        n_iter, loss, loss_curve = fit_lbfgs(
            self._network,
            self._theta,
            data,
            alpha=self.alpha,
            max_iter=self.max_iter,
            max_fun=self.max_fun,
            tol=self.tol,
            verbose=self.verbose,
            tasks=tasks,
        )
        self.n_iter_ = n_iter
        self.t_ = getattr(self, "t_", 0) if self.warm_start else 0
        self.loss_ = loss
        self.loss_curve_ = loss_curve
        self.best_loss_ = min(loss_curve, default=loss)
        self.validation_scores_ = None
        self.validation_loss_curve_ = None
        self.best_validation_score_ = None
        self.early_stopped_ = False

    def _run_stochastic(
        self, data, random_state, incremental, validation_set=None, *, tasks=None
    ):
        # fit validates with early_stopping=True; a partial_fit stream when
        # it is given a validation set.
        validates = validation_set is not None or (
            self.early_stopping and not incremental
        )
        progress = self._progress
        if progress is None:
            progress = Progress(validates)
            progress.best_theta = self._theta.copy() if validates else None
        else:
            progress.use_stopping_rule(validates, self._theta)
        optimizer = self._optimizer()
        # fit starts a fresh optimizer; partial_fit carries its state on,
        # unless the solver was changed in between.
        if not incremental or not isinstance(
            progress.optimizer_state, optimizer.state_type
        ):
            progress.optimizer_state = optimizer.init(self._theta)
            progress.learning_rate = self.learning_rate_init
        validation_score = None
        if validation_set is not None:
            validation_score = self._validation_scorer(*validation_set)
        elif self.early_stopping:
            data, validation_score = self._split_validation(data, random_state)
        settings = self._stochastic_settings(optimizer, data.n_samples)
        self._progress = progress
        workspace = fit_stochastic(
            self._network,
            self._theta,
            data,
            settings,
            progress,
            random_state=random_state,
            incremental=incremental,
            validation_score=validation_score,
            workspace=self.__dict__.get("_workspace"),
            tasks=tasks,
        )
        # Only partial_fit streams reuse the buffers; a fit does not hold on
        # to them.
        self._workspace = workspace if incremental else None
        self._publish_progress(progress)

    def _optimizer(self):
        if self.solver == "sgd":
            return SGD(self.momentum, self.nesterovs_momentum)
        return Adam(self.beta_1, self.beta_2, self.epsilon)

    def _stochastic_settings(self, optimizer, n_samples):
        if self.solver == "sgd":
            schedule = make_schedule(
                self.learning_rate, self.learning_rate_init, self.power_t
            )
        else:
            schedule = Constant(self.learning_rate_init)
        return StochasticSettings(
            optimizer=optimizer,
            schedule=schedule,
            batch_size=self._batch_size(n_samples),
            max_iter=self.max_iter,
            shuffle=self.shuffle,
            tol=self.tol,
            n_iter_no_change=self.n_iter_no_change,
            alpha=self.alpha,
            verbose=self.verbose,
        )

    def _batch_size(self, n_samples):
        if self.batch_size == "auto":
            return min(200, n_samples)
        if self.batch_size > n_samples:
            warnings.warn(
                "Got `batch_size` less than 1 or larger than sample size. It is "
                "going to be clipped",
                stacklevel=2,
            )
        return int(np.clip(self.batch_size, 1, n_samples))

    def _split_validation(self, data, random_state):
        """Hold out ``validation_fraction`` of the rows, as scikit-learn does."""
        # As scikit-learn's MLP: stratify on the boolean label encoding, and only
        # for a single output (binary targets), so the same random state gives
        # the same split.
        stratify = None
        if self._stratify_validation() and data.y.shape[1] == 1:
            stratify = data.y.astype(bool)
        arrays = [data.X, data.y]
        if data.sample_weight is not None:
            arrays.append(data.sample_weight)
        parts = train_test_split(
            *arrays,
            random_state=random_state,
            test_size=self.validation_fraction,
            stratify=stratify,
        )
        X_train, X_val, y_train, y_val = parts[:4]
        sw_train, sw_val = parts[4:] if len(parts) > 4 else (None, None)
        if X_val.shape[0] < 2:
            raise ValueError(
                "The validation set is too small. Increase 'validation_fraction' "
                "or the size of your dataset."
            )
        for part, weights in (("training", sw_train), ("validation", sw_val)):
            if weights is not None and not weights.any():
                raise ValueError(
                    f"The {part} part of the early-stopping split has sample "
                    "weights that are all zero. Use a different random_state or "
                    "validation_fraction, or give more samples non-zero weights."
                )
        if sp.issparse(X_train):
            X_train = X_train.tocsr()
        train = TrainingData(X_train, np.ascontiguousarray(y_train), sw_train)
        return train, self._validation_scorer(X_val, y_val, sw_val)

    def _validated_validation_set(self, X_val, y_val, sample_weight_val, dtype):
        """Validate a given validation set against the training data's shape."""
        X_val, y_val = validate_data(
            self,
            X_val,
            y_val,
            accept_sparse=["csr", "csc"],
            multi_output=True,
            dtype=dtype,
            reset=False,
            **self._y_validation_options(),
        )
        if y_val.ndim == 2 and y_val.shape[1] == 1:
            y_val = column_or_1d(y_val, warn=True)
        if sample_weight_val is not None:
            sample_weight_val = _check_sample_weight(
                sample_weight_val, X_val, dtype=dtype, ensure_non_negative=True
            )
        y_val_encoded = self._encode_targets(
            y_val, first_pass=False, incremental=True, dtype=dtype
        )
        return X_val, y_val_encoded, sample_weight_val

    def _validation_scorer(self, X_val, y_val_encoded, sample_weight):
        y_val = self._decode_validation_targets(y_val_encoded)

        def score_and_loss(theta):
            network = self._network
            coefs, intercepts = network.views(theta)
            raw = predict_raw_from_views(network.hidden, coefs, intercepts, X_val)
            if not np.isfinite(raw).all():
                return np.nan, np.nan
            prediction = network.output.link(raw, out=np.empty_like(raw))
            # The data term of the objective, without the L2 penalty.
            loss = network.output.loss(y_val_encoded, raw, prediction, sample_weight)
            y_pred = self._predict_from_raw(raw)
            score = self._score_function(y_val, y_pred, sample_weight=sample_weight)
            return score, loss

        return score_and_loss

    def _publish_progress(self, progress):
        self.n_iter_ = progress.n_iter
        self.t_ = progress.t
        self.loss_ = progress.loss
        self.loss_curve_ = progress.loss_curve
        self.best_loss_ = progress.best_loss
        self.early_stopped_ = progress.stopped
        self.validation_scores_ = progress.validation_scores
        self.validation_loss_curve_ = progress.validation_losses
        self.best_validation_score_ = progress.best_validation_score

    # --------------------------------------------------------- validation

    def _validate_training_data(self, X, y, sample_weight, *, first_pass, incremental):
        if incremental and not first_pass:
            plain = self._plain_training_data(X, y, sample_weight)
            if plain is not None:
                return plain
        X, y = validate_data(
            self,
            X,
            y,
            accept_sparse=["csr", "csc"],
            multi_output=True,
            dtype=(np.float64, np.float32),
            reset=first_pass,
            **self._y_validation_options(),
        )
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(
                sample_weight, X, dtype=X.dtype, ensure_non_negative=True
            )
        y_encoded = self._encode_targets(y, first_pass, incremental, X.dtype)
        if sp.issparse(X):
            X = X.tocsr()
        return X, y_encoded, sample_weight

    def _plain_training_data(self, X, y, sample_weight):
        """Return ``(X, y_encoded, sample_weight)`` if no conversion is needed.

        The lean path of ``partial_fit`` on a fitted model: plain float arrays
        that pass every check ``validate_data`` would make are used as they
        are, and class labels are encoded by lookup in ``classes_``.  Returns
        None for anything else, which then takes the full validation (and its
        error messages).
        """
        if hasattr(self, "feature_names_in_") or not _plain_float_matrix(
            X, self.n_features_in_
        ):
            return None
        if sample_weight is not None:
            if not _plain_sample_weight(sample_weight, X.shape[0]):
                return None
            sample_weight = sample_weight.astype(X.dtype, copy=False)
        y_encoded = self._plain_targets(y, X.shape[0], X.dtype)
        if y_encoded is None:
            return None
        return X, y_encoded, sample_weight

    # --------------------------------------------------------- prediction

    def _checked_input(self, X):
        """Validate ``X`` for prediction; plain float arrays pass as they are."""
        if "coefs_" not in self.__dict__:
            check_is_fitted(self)
        if hasattr(self, "feature_names_in_") or not _plain_float_matrix(
            X, self.n_features_in_
        ):
            X = validate_data(self, X, accept_sparse=["csr", "csc"], reset=False)
        return X

    def _raw_output(self, X):
        X = self._checked_input(X)
        raw = predict_raw_from_views(
            self._network.hidden, self.coefs_, self.intercepts_, X
        )
        return _finite_raw(raw)

    @_quiet_floats
    def hidden_activations(self, X, layer=-1):
        """Return the output of a hidden layer: the network's learnt features.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.
        layer : int, default=-1
            Which hidden layer, counted from 0 (the first) or from the end
            (-1 is the last hidden layer, the one the output layer reads).

        Returns
        -------
        activations : ndarray of shape (n_samples, hidden_layer_sizes[layer])
            The layer's activations (after its activation function).

        See Also
        --------
        skbp.HiddenLayerEmbedding : The same as a transformer, for pipelines.

        Examples
        --------
        >>> from sklearn.datasets import load_iris
        >>> from skbp import BackpropClassifier
        >>> X, y = load_iris(return_X_y=True)
        >>> clf = BackpropClassifier(hidden_layer_sizes=(8, 3), solver="lbfgs",
        ...                          max_iter=300, random_state=0).fit(X, y)
        >>> clf.hidden_activations(X[:2]).shape
        (2, 3)
        >>> clf.hidden_activations(X[:2], layer=0).shape
        (2, 8)
        """
        X = self._checked_input(X)
        n_layers = self._layers_up_to(layer)
        activations = hidden_activations_from_views(
            self._network.hidden, self.coefs_[:n_layers], self.intercepts_[:n_layers], X
        )
        return activations

    def _layers_up_to(self, layer):
        """How many layers lead to hidden ``layer``; ValueError if there is none."""
        n_hidden = self.n_layers_ - 2
        if not isinstance(layer, Integral) or not -n_hidden <= layer < n_hidden:
            raise ValueError(
                f"layer must be an int in [{-n_hidden}, {n_hidden}) for a network "
                f"with {n_hidden} hidden layer(s), got {layer!r}."
            )
        return layer % n_hidden + 1

    def _output(self, raw):
        """Apply the output link to ``raw`` (a fresh array)."""
        return self._network.output.link(raw, out=raw)

    # ------------------------------------------------------------ pickling

    def __getstate__(self):
        # object.__getstate__ may return the live __dict__: copy before editing.
        state = dict(super().__getstate__())
        if "_theta" in state and "coefs_" in state:
            # Views do not survive pickling: store the flat vector only and
            # rebuild the views on unpickling.
            state["_theta"] = self._packed_parameters(self._network, self._theta.dtype)
            del state["coefs_"], state["intercepts_"]
        # Caches (scratch buffers, view and validation records) are not model
        # state; they are rebuilt on demand.
        for cache in (
            "_workspace",
            "_published_views",
            "_validated_params",
            "_shuffle_memo",
        ):
            state.pop(cache, None)
        return state

    def __setstate__(self, state):
        super().__setstate__(state)
        if "_theta" in state and "_network" in state and "coefs_" not in state:
            self.coefs_, self.intercepts_ = self._network.views(self._theta)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


_SHARED_PARAMETERS_DOC = """
    hidden_layer_sizes : array-like of shape (n_layers - 2,), default=(100,)
        The ith element is the number of units in the ith hidden layer.
        ``()`` gives a network without hidden layers (a generalised linear
        model: logistic regression for the classifier with log-loss).

    activation : {'identity', 'logistic', 'tanh', 'relu'}, default='relu'
        Activation function of the hidden layers.

    solver : {'lbfgs', 'sgd', 'adam'}, default='adam'
        Weight optimiser: scipy's L-BFGS-B quasi-Newton method, minibatch
        stochastic gradient descent, or Adam.

    alpha : float, default=0.0001
        Strength of the L2 penalty on the weights (not the biases). The
        penalty is divided by the total sample weight when added to the loss.

    batch_size : int, default='auto'
        Size of minibatches for the stochastic solvers; ``'auto'`` is
        ``min(200, n_samples)``. Not used by 'lbfgs'.

    learning_rate : {'constant', 'invscaling', 'adaptive'}, default='constant'
        Learning-rate schedule of 'sgd': constant; ``learning_rate_init /
        pow(t, power_t)`` with ``t`` the samples seen; or divided by 5 each
        time the loss (or validation score) fails to improve by ``tol`` for
        ``n_iter_no_change`` epochs.

    learning_rate_init : float, default=0.001
        Initial learning rate of 'sgd' and 'adam'.

    power_t : float, default=0.5
        Exponent of the 'invscaling' schedule.

    max_iter : int, default=200
        Maximum number of iterations: epochs for 'sgd' and 'adam', L-BFGS
        iterations for 'lbfgs'.

    shuffle : bool, default=True
        Whether to shuffle the samples in each epoch ('sgd', 'adam').

    random_state : int, RandomState instance or None, default=None
        Seeds the initial weights, the validation split and the shuffles.
        The same seed gives the same initial weights as scikit-learn's MLP.

    tol : float, default=1e-4
        Minimum improvement of the loss (or validation score) counted as
        progress; for 'lbfgs', the projected-gradient tolerance.

    verbose : bool, default=False
        Print the loss after each epoch or iteration.

    warm_start : bool, default=False
        Reuse the solution of the previous call to ``fit`` as initialisation.

    momentum : float, default=0.9
        Momentum of 'sgd', in [0, 1].

    nesterovs_momentum : bool, default=True
        Whether 'sgd' uses Nesterov's momentum.

    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the data, stop when its score has
        not improved by ``tol`` for ``n_iter_no_change`` epochs, and restore
        the best weights ('sgd', 'adam'). As in scikit-learn's implementation,
        the split is stratified for binary classification only.

    validation_fraction : float, default=0.1
        Fraction of the training data held out for early stopping, in (0, 1).

    beta_1 : float, default=0.9
        Decay rate of Adam's first-moment estimate, in [0, 1).

    beta_2 : float, default=0.999
        Decay rate of Adam's second-moment estimate, in [0, 1).

    epsilon : float, default=1e-8
        Adam's numerical-stability constant.

    n_iter_no_change : int, default=10
        Epochs without ``tol`` improvement before stopping ('sgd', 'adam').

    max_fun : int, default=15000
        Maximum number of objective evaluations of 'lbfgs'.
"""

_SHARED_ATTRIBUTES_DOC = """
    loss_ : float
        The objective (loss plus penalty) at the end of training.

    best_loss_ : float or None
        The smallest training loss reached; ``None`` with early stopping.

    loss_curve_ : list of float
        The loss after each epoch ('sgd', 'adam') or iteration ('lbfgs').

    validation_scores_ : list of float or None
        Validation score after each epoch when ``early_stopping=True``.

    early_stopped_ : bool
        Whether the last call ended early: the validation score stopped
        improving (early stopping in ``fit``, or in a ``partial_fit`` stream
        given ``X_val`` and ``y_val``, where the best weights are then
        restored), or, for 'sgd' and 'adam', a callback asked to stop.

    validation_loss_curve_ : list of float or None
        Validation loss after each epoch when ``early_stopping=True``: the
        mean (sample-weighted) loss on the held-out rows, or on ``X_val``
        when given to ``fit``, without the L2 penalty. Beside
        ``validation_scores_`` it shows where the model starts to overfit.

    best_validation_score_ : float or None
        Best validation score when ``early_stopping=True``.

    t_ : int
        Number of training samples seen by the stochastic solvers.

    coefs_ : list of ndarray of shape (n_units_in, n_units_out)
        Weight matrices, live views of the parameters: writing into them in
        place changes the model.

    intercepts_ : list of ndarray of shape (n_units_out,)
        Bias vectors, live views of the parameters.

    n_features_in_ : int
        Number of features seen during fit.

    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, when ``X`` has string names.

    n_iter_ : int
        Number of iterations run by the solver in the last call.

    n_layers_ : int
        Number of layers, input and output included.

    n_outputs_ : int
        Number of output units.

    out_activation_ : str
        Name of the output activation.
"""


class BackpropClassifier(ClassifierMixin, _BaseBackprop):
    """Multi-layer perceptron classifier trained by backpropagation.

    A drop-in superset of :class:`sklearn.neural_network.MLPClassifier`: the
    same parameters, defaults and fitted attributes, plus a choice of output
    loss. Binary, multiclass and multilabel targets; dense or sparse input;
    float32 kept end to end.

    Parameters
    ----------
    %(parameters)s
    loss : {'log_loss', 'squared_error'}, default='log_loss'
        Loss of the output layer. ``'log_loss'`` uses softmax units for
        multiclass targets and logistic units otherwise. ``'squared_error'``
        uses logistic units trained on one-hot targets with half the squared
        error, the network of the classic backpropagation derivation; its
        ``predict_proba`` normalises the multiclass outputs to sum to one.

    class_weight : dict, 'balanced' or None, default=None
        Weights of the classes, ``{class_label: weight}``; classes not listed
        weigh 1. ``'balanced'`` weighs each class by ``n_samples /
        (n_classes * np.bincount(y))``, computed from the ``y`` given to
        ``fit``. The class weight of each sample multiplies its
        ``sample_weight``, in every solver. As in
        :class:`~sklearn.linear_model.SGDClassifier`, ``partial_fit`` takes a
        dict but not ``'balanced'``, which needs the class frequencies of the
        whole stream: compute them with
        :func:`~sklearn.utils.class_weight.compute_class_weight` on a large
        enough sample of the targets and pass the result as a dict. Not
        supported for multilabel targets.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    %(attributes)s
    See Also
    --------
    BackpropRegressor : The regressor.
    sklearn.neural_network.MLPClassifier : scikit-learn's classifier.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from skbp import BackpropClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = BackpropClassifier(hidden_layer_sizes=(10,), solver="lbfgs",
    ...                          max_iter=500, random_state=0).fit(X, y)
    >>> clf.predict(X[:3])
    array([0, 0, 0])
    >>> clf.predict_proba(X[:1]).shape
    (1, 3)
    >>> round(clf.score(X, y), 2) >= 0.95
    True
    """

    _parameter_constraints: dict = {
        **_BaseBackprop._parameter_constraints,
        "loss": [StrOptions({"log_loss", "squared_error"})],
        "class_weight": [dict, StrOptions({"balanced"}), None],
    }

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
        loss="log_loss",
        class_weight=None,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.loss = loss
        self.class_weight = class_weight

    _score_function = staticmethod(accuracy_score)

    @available_if(_BaseBackprop._partial_fit_available)
    @_fit_context(prefer_skip_nested_validation=True)
    @_quiet_floats
    def partial_fit(
        self,
        X,
        y,
        sample_weight=None,
        classes=None,
        *,
        X_val=None,
        y_val=None,
        sample_weight_val=None,
    ):
        """Update the model with one epoch over the given data.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            Class labels (or a label indicator matrix).
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative sample weights.
        classes : array-like of shape (n_classes,), default=None
            All classes of the stream. Required on the first call; later
            calls may omit it. ``y`` need not contain every class.
        X_val : {array-like, sparse matrix} of shape (n_val, n_features), \
                default=None
            A held-out set to monitor the stream: early stopping for
            ``partial_fit``, which scikit-learn's MLP refuses. After the
            update the set is scored (appended to ``validation_scores_`` and
            ``validation_loss_curve_``) and the best weights are kept. Once
            the score has not improved by ``tol`` for ``n_iter_no_change``
            consecutive calls, the best weights are restored and
            ``early_stopped_`` becomes True: the loop should stop there.
            Needs ``y_val``.
        y_val : array-like of shape (n_val,) or (n_val, n_outputs), \
                default=None
            Targets of the held-out set.
        sample_weight_val : array-like of shape (n_val,), default=None
            Sample weights of the held-out set.

        Returns
        -------
        self : object
            The updated estimator.
        """
        # scikit-learn's _fit_context validates partial_fit's parameters only on
        # the first call; set_params between calls must be checked too.
        self._validate_params_if_changed()
        validation_set = self._given_validation_set(
            X_val, y_val, sample_weight_val, stream=True
        )
        with _unchanged_on_error(self):
            self._set_partial_fit_classes(y, classes)
            self._fit(
                X, y, sample_weight, incremental=True, validation_set=validation_set
            )
        return self

    def _set_partial_fit_classes(self, y, classes):
        if hasattr(self, "classes_"):
            if classes is not None and not np.array_equal(
                np.unique(classes), self.classes_
            ):
                raise ValueError(
                    f"classes={np.unique(classes)!r} is not the same as on the "
                    f"first call to partial_fit, which was {self.classes_!r}."
                )
            return
        if classes is None:
            raise ValueError(
                "classes must be passed on the first call to partial_fit: the "
                "full list of classes of the stream, e.g. np.unique(y_all)."
            )
        binarizer = LabelBinarizer()
        if type_of_target(y).startswith("multilabel"):
            binarizer.fit(y)
        else:
            binarizer.fit(np.asarray(classes))
        if len(binarizer.classes_) < 2:
            raise ValueError(
                f"{type(self).__name__} needs at least 2 classes, but classes="
                f"{classes!r} holds only one class: {binarizer.classes_[0]!r}."
            )
        self._label_binarizer = binarizer
        self.classes_ = binarizer.classes_

    def _y_validation_options(self):
        return {}

    def _weighted_by_class(self, y_encoded, sample_weight, dtype, *, incremental):
        """Multiply ``sample_weight`` by the ``class_weight`` of each sample."""
        if self.class_weight is None:
            return sample_weight
        if self._is_multilabel():
            raise ValueError(
                "class_weight is not supported for multilabel targets; pass "
                "sample_weight instead."
            )
        if incremental and self.class_weight == "balanced":
            raise ValueError(
                "class_weight='balanced' is not supported for partial_fit: it "
                "needs the class frequencies of the whole stream. Compute them "
                "with sklearn.utils.class_weight.compute_class_weight('balanced', "
                "classes=classes, y=y_sample) on a large enough sample of the "
                "targets, and pass the result as a dict to class_weight."
            )
        if y_encoded.shape[1] == 1:
            class_index = y_encoded[:, 0].astype(np.intp)
        else:
            class_index = y_encoded.argmax(axis=1)
        per_class = compute_class_weight(
            self.class_weight, classes=self.classes_, y=self.classes_[class_index]
        )
        weights = per_class.astype(dtype)[class_index]
        return weights if sample_weight is None else sample_weight * weights

    def _plain_targets(self, y, n_samples, dtype):
        """Encode a 1-d label array by lookup in ``classes_``, or return None.

        Labels already known are encoded exactly as the fitted
        ``LabelBinarizer`` would; unknown or unusual labels return None and
        take the full validation, which explains what is wrong.
        """
        if type(y) is not np.ndarray or y.ndim != 1 or y.shape[0] != n_samples:
            return None
        return self._encode_by_lookup(y)

    def _encode_by_lookup(self, y):
        """One-hot encode 1-d labels of ``classes_`` straight into booleans.

        What the fitted ``LabelBinarizer`` computes, without its validation
        and without its int64 intermediate. Returns None for labels it cannot
        handle this way.
        """
        classes = self.classes_
        if (
            y.ndim != 1
            or self._is_multilabel()
            or not _comparable_labels(y.dtype, classes.dtype)
        ):
            return None
        n_samples = y.shape[0]
        index = np.searchsorted(classes, y)
        np.minimum(index, len(classes) - 1, out=index)
        if not np.array_equal(classes[index], y):
            return None
        if self._label_binarizer.y_type_ == "binary":
            return (index == 1)[:, np.newaxis]
        encoded = np.zeros((n_samples, len(classes)), dtype=bool)
        encoded[np.arange(n_samples), index] = 1
        return encoded

    def _output_activation(self, n_outputs):
        if self.loss == "squared_error":
            return "logistic"
        return (
            "softmax" if self._label_binarizer.y_type_ == "multiclass" else "logistic"
        )

    def _encode_targets(self, y, first_pass, incremental, dtype):
        check_classification_targets(y)
        if not hasattr(self, "classes_") or (not self.warm_start and not incremental):
            binarizer = LabelBinarizer().fit(y)
            if len(binarizer.classes_) < 2:
                raise ValueError(
                    f"{type(self).__name__} needs samples of at least 2 classes "
                    f"in the data, but the data contains only one class: "
                    f"{binarizer.classes_[0]!r}."
                )
            self._label_binarizer = binarizer
            self.classes_ = binarizer.classes_
        else:
            self._check_known_classes(y, incremental)
        encoded = self._encode_by_lookup(y)
        if encoded is None:
            encoded = self._label_binarizer.transform(y)
        # Class indicators are exact as booleans, at an eighth of the memory
        # of float64 (scikit-learn's MLP keeps them so too); the core's ufuncs
        # promote them where they meet the float outputs.
        return np.ascontiguousarray(encoded, dtype=bool)

    def _check_known_classes(self, y, incremental):
        if self._label_binarizer.y_type_.startswith("multilabel"):
            classes = np.arange(np.shape(y)[1]) if np.ndim(y) == 2 else np.unique(y)
        else:
            classes = np.unique(y)
        if self.warm_start and not incremental:
            if set(classes) != set(self.classes_):
                raise ValueError(
                    "warm_start can only be used where `y` has the same classes "
                    f"as in the previous call to fit. Previously got "
                    f"{self.classes_}, `y` has {classes}."
                )
        elif len(np.setdiff1d(classes, self.classes_)):
            raise ValueError(
                f"`y` has classes not in `self.classes_`. `self.classes_` has "
                f"{self.classes_}. 'y' has {classes}."
            )

    def _stratify_validation(self):
        return not self._is_multilabel()

    def _is_multilabel(self):
        return self._label_binarizer.y_type_.startswith("multilabel")

    def _decode_validation_targets(self, y_encoded):
        return self._label_binarizer.inverse_transform(y_encoded)

    def _unit_probabilities(self, raw):
        """Return the probability carried by each output unit.

        Softmax and logistic units are probabilities already; logistic units
        trained on one-hot targets (squared error, multiclass) are normalised
        to sum to one, in log space so that underflowing units still rank.
        """
        if self._is_squared_error_multiclass():
            return LINKS["softmax"](log_logistic(raw), out=raw)
        return self._output(raw)

    def _is_squared_error_multiclass(self):
        link = self._network.output.link_name
        return link == "logistic" and self._label_binarizer.y_type_ == "multiclass"

    def _predict_from_raw(self, raw):
        proba = self._unit_probabilities(raw)
        if proba.shape[1] == 1:
            proba = proba.ravel()
        return self._label_binarizer.inverse_transform(proba)

    @_quiet_floats
    def predict(self, X):
        """Predict class labels.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_labels)
            Predicted classes (a label indicator matrix for multilabel).
        """
        return self._predict_from_raw(self._raw_output(X))

    @_quiet_floats
    def predict_proba(self, X):
        """Return probability estimates.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probability of each class, in the order of ``classes_``; for
            multilabel targets, the probability of each label. Logistic and
            softmax units never reach 0 or 1, so values that round to 0 or 1
            are returned as the nearest float inside (0, 1): their logarithm
            stays finite, as :meth:`predict_log_proba` is.
        """
        raw = self._raw_output(X)
        if raw.shape[1] == 1 and not self._is_multilabel():
            proba = np.hstack([expit(-raw), expit(raw)])
        else:
            proba = self._unit_probabilities(raw)
        return _inside_unit_interval(proba)

    @_quiet_floats
    def predict_log_proba(self, X):
        """Return log-probability estimates, computed in log space.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            Logarithm of :meth:`predict_proba`, computed from the raw outputs
            in log space: accurate where ``1 - p`` rounds off, and finite
            everywhere (floored at the logarithm of the smallest normal
            float, where :meth:`predict_proba` is floored too).
        """
        raw = self._raw_output(X)
        if self._network.output.link_name == "softmax":
            log_proba = log_softmax(raw)
        elif self._is_multilabel():
            log_proba = log_logistic(raw)
        elif raw.shape[1] == 1:
            log_proba = np.hstack([log_logistic(-raw), log_logistic(raw)])
        else:
            # log of _unit_probabilities: softmax over the log-logistic units
            log_proba = log_softmax(log_logistic(raw))
        # predict_proba floors at the smallest normal float; floor at its log
        # so that log(predict_proba(X)) and predict_log_proba(X) agree.
        floor = np.log(np.finfo(log_proba.dtype).tiny)
        return np.maximum(log_proba, floor, out=log_proba)

    @_quiet_floats
    def score(self, X, y, sample_weight=None):
        """Return the mean accuracy on the given test data and labels.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Test samples.
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            True labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative sample weights, checked as ``fit`` checks them.

        Returns
        -------
        score : float
            Mean accuracy (subset accuracy for multilabel targets).
        """
        return super().score(X, y, _score_weights(sample_weight, X))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


class BackpropRegressor(RegressorMixin, _BaseBackprop):
    """Multi-layer perceptron regressor trained by backpropagation.

    A drop-in superset of :class:`sklearn.neural_network.MLPRegressor`: the
    same parameters, defaults and fitted attributes, plus a log-loss option
    for targets that are proportions. Single or multiple outputs; dense or
    sparse input; float32 kept end to end.

    Parameters
    ----------
    loss : {'squared_error', 'poisson', 'log_loss'}, default='squared_error'
        Loss of the output layer: half squared error with identity units,
        half Poisson deviance with exponential units (targets >= 0), or
        log-loss with logistic units (targets in [0, 1], e.g. proportions).
    %(parameters)s
    Attributes
    ----------
    %(attributes)s
    See Also
    --------
    BackpropClassifier : The classifier.
    sklearn.neural_network.MLPRegressor : scikit-learn's regressor.

    Examples
    --------
    >>> import numpy as np
    >>> from skbp import BackpropRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.uniform(-1, 1, size=(200, 2))
    >>> y = X[:, 0] ** 2 + X[:, 1]
    >>> reg = BackpropRegressor(hidden_layer_sizes=(20,), solver="lbfgs",
    ...                         max_iter=1000, random_state=0).fit(X, y)
    >>> reg.predict(X[:2]).shape
    (2,)
    >>> reg.score(X, y) > 0.95
    True
    """

    _parameter_constraints: dict = {
        **_BaseBackprop._parameter_constraints,
        "loss": [StrOptions({"squared_error", "poisson", "log_loss"})],
    }

    def __init__(
        self,
        loss="squared_error",
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
    ):
        self.loss = loss
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun

    _score_function = staticmethod(r2_score)

    @available_if(_BaseBackprop._partial_fit_available)
    @_fit_context(prefer_skip_nested_validation=True)
    @_quiet_floats
    def partial_fit(
        self,
        X,
        y,
        sample_weight=None,
        *,
        X_val=None,
        y_val=None,
        sample_weight_val=None,
    ):
        """Update the model with one epoch over the given data.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Target values.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative sample weights.
        X_val : {array-like, sparse matrix} of shape (n_val, n_features), \
                default=None
            A held-out set to monitor the stream: early stopping for
            ``partial_fit``, which scikit-learn's MLP refuses. After the
            update the set is scored (appended to ``validation_scores_`` and
            ``validation_loss_curve_``) and the best weights are kept. Once
            the score has not improved by ``tol`` for ``n_iter_no_change``
            consecutive calls, the best weights are restored and
            ``early_stopped_`` becomes True: the loop should stop there.
            Needs ``y_val``.
        y_val : array-like of shape (n_val,) or (n_val, n_outputs), \
                default=None
            Targets of the held-out set.
        sample_weight_val : array-like of shape (n_val,), default=None
            Sample weights of the held-out set.

        Returns
        -------
        self : object
            The updated estimator.
        """
        # As in the classifier: validate on every call, not only the first.
        self._validate_params_if_changed()
        validation_set = self._given_validation_set(
            X_val, y_val, sample_weight_val, stream=True
        )
        with _unchanged_on_error(self):
            self._fit(
                X, y, sample_weight, incremental=True, validation_set=validation_set
            )
        return self

    def _y_validation_options(self):
        return {"y_numeric": True}

    def _plain_targets(self, y, n_samples, dtype):
        """Return numeric, finite 1-d or 2-d ``y`` encoded, or None."""
        if (
            type(y) is not np.ndarray
            or y.dtype.kind not in "iuf"
            or not (y.ndim == 1 or (y.ndim == 2 and y.shape[1] > 1))
            or y.shape[0] != n_samples
            or not _is_finite(y)
        ):
            return None
        return self._encode_targets(y, False, True, dtype)

    def _output_activation(self, n_outputs):
        return {"squared_error": "identity", "poisson": "exp", "log_loss": "logistic"}[
            self.loss
        ]

    def _encode_targets(self, y, first_pass, incremental, dtype):
        if self.loss == "poisson" and np.any(y < 0):
            raise ValueError(
                "loss='poisson' needs non-negative targets, but y has values "
                f"down to {np.min(y)}."
            )
        if self.loss == "log_loss" and (np.any(y < 0) or np.any(y > 1)):
            raise ValueError(
                "loss='log_loss' needs targets in [0, 1] (proportions), but y "
                f"ranges over [{np.min(y)}, {np.max(y)}]."
            )
        y = y.reshape(-1, 1) if y.ndim == 1 else y
        return np.ascontiguousarray(y, dtype=dtype)

    def _stratify_validation(self):
        return False

    def _decode_validation_targets(self, y_encoded):
        return y_encoded.ravel() if y_encoded.shape[1] == 1 else y_encoded

    def _predict_from_raw(self, raw):
        # The exp link overflows for raw outputs past ~709; as the largest
        # float the prediction stays finite.
        prediction = _finite_raw(self._output(raw))
        return prediction.ravel() if prediction.shape[1] == 1 else prediction

    @_quiet_floats
    def predict(self, X):
        """Predict target values.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            Predicted values.
        """
        return self._predict_from_raw(self._raw_output(X))

    @_quiet_floats
    def score(self, X, y, sample_weight=None):
        """Return the coefficient of determination R^2 of the prediction.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Test samples.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            True values.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative sample weights, checked as ``fit`` checks them.

        Returns
        -------
        score : float
            R^2 of ``self.predict(X)`` against ``y``.
        """
        return super().score(X, y, _score_weights(sample_weight, X))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.positive_only = self.loss == "poisson"
        return tags


for _cls in (BackpropClassifier, BackpropRegressor):
    _cls.__doc__ = _cls.__doc__ % {
        "parameters": _SHARED_PARAMETERS_DOC.strip(),
        "attributes": _SHARED_ATTRIBUTES_DOC.strip(),
    }
