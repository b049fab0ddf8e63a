"""The shared base of the estimators: fit, solvers, prediction, pickling.

:class:`_BaseBackprop` validates its input, encodes the targets (through
hooks the classifier and the regressor define), builds a
:class:`~skbp._network.Network` and hands over to the drivers in
:mod:`skbp._training`.  Everything below it receives validated, contiguous
float arrays.
"""

import math
import warnings
from numbers import Integral, Real
from operator import attrgetter, is_
from types import SimpleNamespace
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, _fit_context
from sklearn.callback import CallbackSupportMixin
from sklearn.callback._callback_support import callback_management_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn.utils.validation import (
    check_is_fitted,
    column_or_1d,
    validate_data,
)

try:
    # What scikit-learn's MLP words its L-BFGS warning with (private).
    from sklearn.utils.optimize import _check_optimize_result
except ImportError:  # pragma: no cover - a scikit-learn that moved it
    _check_optimize_result = None

from ._activations import ACTIVATIONS
from ._array_api import (
    FIRST_FIT_DTYPES,
    ArrayAPIMixin,
    input_primitives,
    to_host,
)
from ._callbacks import CallbackTasks
from ._dropout import Dropout
from ._guards import (
    check_not_diverged,
    finite_raw,
    quiet_floats,
    unchanged_on_error,
)
from ._held_out import HeldOutValidationMixin
from ._lbfgs import fit_lbfgs, local_objective
from ._losses import get_output_layer
from ._network import Network, hidden_activations_from_views, predict_raw_from_views
from ._optimizers import SGD, Adam
from ._parameter_views import ParameterViewsMixin
from ._primitives import copy_array, primitives_for
from ._random import MemoizedFirstShuffle
from ._schedules import Constant, make_schedule
from ._training import (
    EpochLoop,
    Progress,
    StochasticSettings,
    TrainingData,
    fit_stochastic,
)
from ._validation import (
    check_has_features,
    check_parameter_memory,
    checked_sample_weight,
    hidden_layer_sizes_tuple,
    param_names,
    plain_float_matrix,
    plain_sample_weight,
)

_STOCHASTIC_SOLVERS = ("sgd", "adam")

#: The documented hooks of the fit: the steps of ``_BaseBackprop._fit`` that
#: a subclass whose rows live elsewhere may override, and the target hooks of
#: the classifier and the regressor such an override calls.  :mod:`skbp.dask`
#: touches no other private member of the estimators
#: (``tests/test_fit_steps.py`` reads its source to check).
FIT_HOOKS = frozenset(
    {
        # steps of _fit that read the rows, overridden where they live elsewhere
        "_training_data",
        "_callback_tasks",
        "_lbfgs_objective",
        "_check_not_diverged",
        # target hooks, defined by the classifier and the regressor
        "_encode_targets",
        "_target_encoder",
        "_per_class_weights",
        # whether partial_fit exists (available_if)
        "_partial_fit_available",
    }
)


def _warn_unless_converged(result, max_iter):
    """Warn as scikit-learn's MLP does where scipy's L-BFGS-B did not converge.

    Through scikit-learn's own ``_check_optimize_result`` where it exists,
    else in its words (scikit-learn 1.9's).  Either way the warning is
    attributed to this module, as every ConvergenceWarning of skbp is.
    """
    if _check_optimize_result is not None:
        _check_optimize_result("lbfgs", result, max_iter)  # stacklevel=2: here
        return
    if result.status == 0:
        return
    n_iter = min(result.nit, max_iter)
    message = (
        f"lbfgs failed to converge after {n_iter} iteration(s) "
        f"(status={result.status}):\n{result.message}\n"
    )
    if n_iter == max_iter:
        message += (
            "\nIncrease the number of iterations to improve the convergence "
            f"(max_iter={max_iter})."
        )
    message += (
        "\nYou might also want to scale the data as shown in:\n"
        "    https://scikit-learn.org/stable/modules/preprocessing.html"
    )
    warnings.warn(message, ConvergenceWarning, stacklevel=1)


class FitPlan(NamedTuple):
    """What one ``fit`` or ``partial_fit`` call does, settled before any data.

    Attributes
    ----------
    incremental : bool
        Whether the call is ``partial_fit``.
    first_pass : bool
        Whether fresh parameters are drawn (else training goes on from the
        fitted ones: ``warm_start`` or a ``partial_fit`` stream).
    hidden_sizes : tuple of int
        The hidden layers' sizes.
    dropout_rates : tuple of float
        The dropout rate of each hidden layer.
    activations : tuple of str
        The activation of each hidden layer.
    """

    incremental: bool
    first_pass: bool
    hidden_sizes: tuple
    dropout_rates: tuple
    activations: tuple


class _BaseBackprop(
    ArrayAPIMixin,
    HeldOutValidationMixin,
    ParameterViewsMixin,
    CallbackSupportMixin,
    BaseEstimator,
):
    """Shared machinery of the classifier and the regressor."""

    _parameter_constraints: dict = {
        "hidden_layer_sizes": [
            "array-like",
            Interval(Integral, 1, None, closed="left"),
        ],
        "activation": [StrOptions(set(ACTIVATIONS)), tuple, list],
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
        "dropout": [Interval(Real, 0, 1, closed="left"), tuple, list],
        "scoring": [None, str, callable],
    }

    # ------------------------------------------------------------------ fit

    @_fit_context(prefer_skip_nested_validation=True)
    @quiet_floats
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

        Raises
        ------
        ValueError
            If a parameter is invalid; if ``X`` or ``y`` has non-finite values,
            a wrong shape or inconsistent lengths (or, with ``warm_start``,
            other features, classes or outputs than the fitted model); if
            ``sample_weight`` is negative, non-finite, all zero or of the wrong
            shape, or ``class_weight`` names unknown classes or gives negative
            or non-finite weights; if the targets do not suit ``loss`` (the
            regressor's 'poisson' and 'log_loss'); if ``X_val`` and ``y_val``
            are not given together, or are given without
            ``early_stopping=True`` and solver 'sgd' or 'adam'; or if training
            diverges ("Solver produced non-finite parameter weights...").
        """
        validation_set = self._given_validation_set(X_val, y_val, sample_weight_val)
        with unchanged_on_error(self):
            self._fit(
                X, y, sample_weight, incremental=False, validation_set=validation_set
            )
        return self

    def _validate_params_if_changed(self):
        """Validate the parameters unless they are the objects last validated.

        ``partial_fit`` checks its parameters on every call, since
        ``set_params`` may come between calls; comparing the values by
        identity makes the check free when nothing changed.
        """
        values = attrgetter(*param_names(type(self)))(self)
        validated = self.__dict__.get("_validated_params", ())
        if len(values) != len(validated) or not all(map(is_, values, validated)):
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
        return MemoizedFirstShuffle(int(self.random_state), memo)

    def _weighted_by_class(self, y_encoded, sample_weight, dtype, *, incremental):
        """Fold per-class weights into ``sample_weight`` (classifier only).

        Hook of :meth:`_training_data`; the classifier overrides it.
        """
        return sample_weight

    def _per_class_weights(self, class_counts, *, incremental):
        """The weight of each class of ``classes_``; None without class weights.

        Hook: the classifier overrides it with its ``class_weight`` checks
        and values; the regressor has none.  ``class_counts`` (how often each
        class occurs in this call's targets) is read only for 'balanced'.
        """
        return None

    def _partial_fit_available(self):
        """Whether ``partial_fit`` exists (``available_if``): sgd and adam only."""
        return self.solver in _STOCHASTIC_SOLVERS

    def _fit(self, X, y, sample_weight, *, incremental, validation_set=None):
        """Validate, set up the network, train, and publish the parameters.

        The steps, in order; those marked (hook) are in :data:`FIT_HOOKS`
        and a subclass whose rows live elsewhere (:mod:`skbp.dask`) may
        override them, the others are the same for every fit:

        1. :meth:`_fit_plan`: the call's settings, checked;
        2. :meth:`_training_data` (hook): the rows validated, targets encoded;
        3. :meth:`_network_for`: the network built (or the fitted one kept);
        4. :meth:`_random_state_for`: the call's random state;
        5. :meth:`_set_up_parameters`: parameters drawn or taken up;
        6. :meth:`_callback_tasks` (hook): the callbacks' reporting;
        7. :meth:`_run_solver`: training, L-BFGS on :meth:`_lbfgs_objective`
           (hook);
        8. :meth:`_check_not_diverged` (hook): a diverged fit refused;
        9. :meth:`_publish_parameters`: ``coefs_``, ``intercepts_``, ....

        Every check comes before the first random draw and the first
        allocation of parameters; :func:`unchanged_on_error` around the
        public methods undoes the rest if training fails.
        """
        plan = self._fit_plan(incremental)
        data = self._training_data(X, y, sample_weight, plan)
        network = self._network_for(data, plan)
        if validation_set is not None:
            validation_set = self._validated_validation_set(
                *validation_set, data.dtype, data.n_outputs
            )
        random_state = self._random_state_for(plan)
        self._set_up_parameters(network, random_state, data, plan)
        # Tears the callbacks down whether training succeeds or fails, so
        # that none keeps the estimator (or its pickle) holding its context.
        with callback_management_context(self):
            tasks = self._callback_tasks(X, y, incremental)
            self._run_solver(
                data, random_state, plan, validation_set=validation_set, tasks=tasks
            )
            loss = self._loss_that_must_be_finite()
            self._check_not_diverged(data, network, self._theta, loss)
            if tasks is not None:
                tasks.finish(self._theta)
        self._publish_parameters()

    def _fit_plan(self, incremental):
        """Step 1: the settings of this call, checked before any data is read.

        Not a hook: the same for every fit.

        Parameters
        ----------
        incremental : bool
            Whether the call is ``partial_fit``.

        Returns
        -------
        plan : FitPlan
        """
        hidden_sizes = hidden_layer_sizes_tuple(self.hidden_layer_sizes)
        dropout_rates = self._dropout_rates(len(hidden_sizes))
        activations = self._hidden_activation_names(len(hidden_sizes))
        self._validation_scoring()  # a name that is no scorer, before any data
        if incremental and self.early_stopping:
            raise ValueError(
                "partial_fit does not support early_stopping=True; fit with "
                "early_stopping=True or call partial_fit with early_stopping=False."
            )
        first_pass = not hasattr(self, "coefs_") or (
            not self.warm_start and not incremental
        )
        return FitPlan(
            incremental, first_pass, hidden_sizes, dropout_rates, activations
        )

    def _training_data(self, X, y, sample_weight, plan):
        """Step 2: the validated rows, targets encoded, class weights folded in.

        Hook: a subclass whose rows live elsewhere overrides this step whole
        (:mod:`skbp.dask` validates and encodes each block where it lives,
        calling the target hooks :meth:`_encode_targets`,
        :meth:`_target_encoder` and :meth:`_per_class_weights`).  Estimators
        customise it through those hooks and :meth:`_weighted_by_class`.

        Returns
        -------
        data : TrainingData
            Or an object with the same ``n_samples``, ``n_features``,
            ``n_outputs``, ``dtype`` and ``ops``, which the later steps read.
        """
        X, y_encoded, sample_weight = self._validate_training_data(
            X,
            y,
            sample_weight,
            first_pass=plan.first_pass,
            incremental=plan.incremental,
        )
        dtype = primitives_for(X).host_dtype(X.dtype)
        sample_weight = self._weighted_by_class(
            y_encoded, sample_weight, dtype, incremental=plan.incremental
        )
        return self._on_device(TrainingData(X, y_encoded, sample_weight))

    def _network_for(self, data, plan):
        """Step 3: the network for this data; the fitted one if it is the same.

        Not a hook: it reads only ``n_features``, ``n_outputs``, ``dtype`` and
        ``ops`` of ``data``.
        """
        network = self._build_network(
            data.n_features, plan.hidden_sizes, plan.activations, data.n_outputs
        )
        if network == getattr(self, "_network", None):
            return self._network  # keeps its cached layout
        dtype = data.ops.host_dtype(data.dtype)
        check_parameter_memory(network, self.hidden_layer_sizes, dtype)
        return network

    def _random_state_for(self, plan):
        """Step 4: the random state of this call (nothing is drawn yet). Not a hook."""
        if plan.incremental and not plan.first_pass:
            return self._stream_random_state()
        return check_random_state(self.random_state)

    def _set_up_parameters(self, network, random_state, data, plan):
        """Step 5: draw fresh parameters, or take up the fitted ones to train on.

        Fresh parameters are drawn on the host and moved to the device of
        ``data`` (its ``ops``).  Not a hook: every fit draws the same weights.
        """
        ops = data.ops
        if plan.first_pass:
            # scikit-learn's rule reads its one activation even without hidden
            # layers; one per layer gives none to the output layer's weights.
            output_init = self.activation if isinstance(self.activation, str) else None
            theta = network.init_parameters(
                random_state, ops.host_dtype(data.dtype), output_init
            )
            self._theta = ops.from_host(theta)
            self._progress = None
        else:
            self._check_same_architecture(network)
            self._theta = self._packed_parameters(network, data.dtype, ops)
        self._network = network

    def _callback_tasks(self, X, y, incremental):
        """Step 6: callback reporting for this call, or None without callbacks.

        Hook: :mod:`skbp.dask` returns None for Dask collections, which
        scikit-learn's callbacks are not given.
        """
        if not getattr(self, "_skl_callbacks", None):
            return None
        lbfgs = self.solver == "lbfgs"
        return CallbackTasks(
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

    def _build_network(self, n_features, hidden_sizes, activations, n_outputs):
        output = get_output_layer(
            self.loss, self._output_activation(n_outputs), **self._loss_parameters()
        )
        units = (n_features, *hidden_sizes, n_outputs)
        return Network(units, tuple(ACTIVATIONS[name] for name in activations), output)

    def _check_same_architecture(self, network):
        if "_network" not in self.__dict__:
            return  # weights set by hand: their shapes are checked on packing
        fitted = self._network.layer_units
        if fitted != network.layer_units:
            raise ValueError(
                f"The network fitted so far has layer sizes {list(fitted)} but "
                f"this call needs {list(network.layer_units)} (input, hidden "
                "and output units). Keep hidden_layer_sizes, the features and "
                "the targets as they were, or set warm_start=False to refit."
            )

    def _check_not_diverged(self, data, network, theta, loss):
        """Step 8: raise if training left non-finite weights, loss or outputs.

        Hook: :mod:`skbp.dask` runs the pass over the training rows on the
        workers.  ``loss`` is None where it need not be finite.
        """
        check_not_diverged(network, theta, data.X, loss)

    def _loss_parameters(self):
        """The parameters of the chosen loss, by name, for its output layer.

        Hook: none here; the regressor's 'quantile' and 'huber' have one.
        Only the chosen loss's: other parameters leave the network as it was.
        """
        return {}

    def _loss_that_must_be_finite(self):
        """``loss_``, or None after a divergence that early stopping survived."""
        progress = self.__dict__.get("_progress")
        survived = (
            self.solver in _STOCHASTIC_SOLVERS
            and progress is not None
            and progress.diverged
            and math.isfinite(progress.best_validation_score)
        )
        return None if survived else self.loss_

    # ------------------------------------------------------------ solvers

    def _run_solver(self, data, random_state, plan, *, validation_set, tasks):
        """Step 7: train ``_theta`` in place with the chosen solver.

        Not a hook; L-BFGS minimises :meth:`_lbfgs_objective`, which is one.
        """
        if self.solver == "lbfgs":
            self._run_lbfgs(data, tasks)
        else:
            self._run_stochastic(
                data, random_state, plan, validation_set=validation_set, tasks=tasks
            )

    def _run_lbfgs(self, data, tasks=None):
        objective = self._lbfgs_objective(data, self._network, self._theta)
        n_iter, loss, loss_curve, result = self._minimise(objective, tasks)
        if result is not None:
            _warn_unless_converged(result, self.max_iter)
        self._record_lbfgs(n_iter, loss, loss_curve)

    def _lbfgs_objective(self, data, network, theta):
        """The objective L-BFGS minimises: ``objective(theta) -> (loss, grad)``.

        Hook: :mod:`skbp.dask` sums the blocks' shares on the workers
        instead of computing over rows in memory.

        Parameters
        ----------
        data : TrainingData
            The training rows.
        network : Network
            The architecture.
        theta : ndarray of shape (n_params,)
            The parameters it will be evaluated at (for its buffers).

        Returns
        -------
        objective : callable
        """
        return local_objective(network, data, self.alpha, theta)

    def _minimise(self, objective, tasks):
        """Run L-BFGS from ``_theta``: ``(n_iter, loss, curve, scipy's result)``."""
        return fit_lbfgs(
            self._theta,
            objective,
            max_iter=self.max_iter,
            max_fun=self.max_fun,
            tol=self.tol,
            verbose=self.verbose,
            tasks=tasks,
        )

    def _record_lbfgs(self, n_iter, loss, loss_curve):
        """Publish an L-BFGS run's counts and curves."""
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
        self, data, random_state, plan, *, validation_set=None, tasks=None
    ):
        """Run the epoch loop of 'sgd' or 'adam' (:func:`fit_stochastic`)."""
        incremental = plan.incremental
        # fit validates with early_stopping=True; a partial_fit stream when
        # it is given a validation set.
        validates = validation_set is not None or (
            self.early_stopping and not incremental
        )
        progress, optimizer = self._stochastic_progress(validates, incremental)
        validation_score = None
        if validation_set is not None:
            validation_score = self._validation_scorer(*validation_set)
        elif self.early_stopping:
            data, validation_score = self._split_validation(data, random_state)
        dropout = self._dropout(plan.dropout_rates, random_state, incremental)
        settings = self._stochastic_settings(
            optimizer, data.n_samples, dropout, incremental=incremental
        )
        self._progress = progress
        loop = EpochLoop(
            self._network,
            self._theta,
            data,
            settings,
            progress,
            workspace=self.__dict__.get("_workspace"),
        )
        workspace = fit_stochastic(
            loop,
            random_state=random_state,
            validation_score=validation_score,
            tasks=tasks,
        )
        # Only partial_fit streams reuse the buffers; a fit does not hold on
        # to them.
        self._workspace = workspace if incremental else None
        self._publish_progress(progress)

    def _stochastic_progress(self, validates, incremental):
        """The bookkeeping this call goes on with, and its optimizer.

        fit starts a fresh optimizer; partial_fit carries its state on,
        unless the solver was changed in between.
        """
        progress = self.__dict__.get("_progress")
        if progress is None:
            progress = Progress(validates)
            progress.best_theta = copy_array(self._theta) if validates else None
        else:
            progress.use_stopping_rule(validates, self._theta)
        optimizer = self._new_optimizer()
        if not incremental or not isinstance(
            progress.optimizer_state, optimizer.state_type
        ):
            progress.optimizer_state = optimizer.init(self._theta)
            progress.learning_rate = self.learning_rate_init
        return progress, optimizer

    def _dropout_rates(self, n_hidden):
        """The dropout rate of each hidden layer; ValueError if they cannot be.

        Parameters
        ----------
        n_hidden : int
            Number of hidden layers.

        Returns
        -------
        rates : tuple of float
        """
        rates = self.dropout
        if isinstance(rates, Real) and not isinstance(rates, bool):
            rates = (float(rates),) * n_hidden
        elif isinstance(rates, tuple | list) and len(rates) == n_hidden:
            rates = tuple(rates)
        else:
            raise ValueError(
                f"dropout must be a float, or one float per hidden layer ({n_hidden} "
                f"for hidden_layer_sizes={self.hidden_layer_sizes!r}); got "
                f"{self.dropout!r}."
            )
        if not all(
            isinstance(r, Real) and not isinstance(r, bool) and 0 <= r < 1
            for r in rates
        ):
            raise ValueError(
                f"dropout rates must be in [0, 1) (the fraction of units dropped); "
                f"got {self.dropout!r}."
            )
        if any(rates) and self.solver == "lbfgs":
            raise ValueError(
                "dropout needs a stochastic solver: L-BFGS minimises a deterministic "
                "objective, which dropout's random masks are not. Use solver='adam' "
                "or 'sgd' with dropout, or dropout=0 with 'lbfgs'."
            )
        return tuple(float(r) for r in rates)

    def _hidden_activation_names(self, n_hidden):
        """The activation of each hidden layer; ValueError if they cannot be.

        Parameters
        ----------
        n_hidden : int
            Number of hidden layers.

        Returns
        -------
        names : tuple of str
        """
        names = self.activation
        if isinstance(names, str):
            return (names,) * n_hidden
        if len(names) != n_hidden:
            raise ValueError(
                f"activation must be a string, or one name per hidden layer "
                f"({n_hidden} for hidden_layer_sizes={self.hidden_layer_sizes!r}); "
                f"got {self.activation!r}."
            )
        unknown = [n for n in names if not (isinstance(n, str) and n in ACTIVATIONS)]
        if unknown:
            raise ValueError(
                f"activation has unknown names {unknown!r}: each must be one of "
                f"{sorted(ACTIVATIONS)}; got {self.activation!r}."
            )
        return tuple(names)

    def _dropout(self, rates, random_state, incremental):
        """The masks' source for this call (``rates`` per hidden layer), or None.

        A ``fit`` draws a new stream's seed from ``random_state`` (after the
        initial weights and the validation split); a ``partial_fit`` stream
        keeps drawing from the one it started, so it goes on deterministically.
        """
        if not any(rates):
            return None
        stream = self.__dict__.get("_dropout_random_state")
        if not incremental or stream is None:
            source = random_state
            if not isinstance(source, np.random.RandomState):
                source = check_random_state(self.random_state)
            stream = np.random.RandomState(source.randint(np.iinfo(np.int32).max))
            self._dropout_random_state = stream
        return Dropout(rates, stream)

    def _new_optimizer(self):
        if self.solver == "sgd":
            return SGD(self.momentum, self.nesterovs_momentum)
        return Adam(self.beta_1, self.beta_2, self.epsilon)

    def _stochastic_settings(
        self, optimizer, n_samples, dropout=None, *, incremental=False
    ):
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
            dropout=dropout,
            incremental=incremental,
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

    @property
    def _optimizer(self):
        """The stochastic solver's current learning rate, as scikit-learn's.

        scikit-learn's MLP keeps it in a private ``_optimizer`` that its own
        tests read (``tests/test_sklearn_mlp_suite.py``); so does skbp.
        """
        progress = self.__dict__.get("_progress")
        if progress is None or self.solver not in _STOCHASTIC_SOLVERS:
            raise AttributeError("Only a model trained by 'sgd' or 'adam' has this.")
        return SimpleNamespace(learning_rate=progress.learning_rate)

    def _publish_progress(self, progress):
        # As scikit-learn's private attribute of that name, which its tests read.
        self._no_improvement_count = progress.no_improvement_count
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
        # Weights set by hand come without the fitted input checks' records.
        set_by_hand = not first_pass and "_theta" not in self.__dict__
        ops = input_primitives(X)
        if not first_pass:
            self._check_fitted_namespace(ops, "partial_fit" if incremental else "fit")
        if incremental and not first_pass and not set_by_hand and ops.is_numpy:
            plain = self._plain_training_data(X, y, sample_weight)
            if plain is not None:
                return plain
        # Later calls keep the model's dtype, as scikit-learn's MLP does: a
        # float32 batch must not turn a float64 model (and the coefs_ views a
        # user holds) into a new float32 one.
        dtype = FIRST_FIT_DTYPES if first_pass else self._model_dtype()
        X, y, sample_weight = self._checked_arrays(
            X, y, sample_weight, dtype=dtype, reset=first_pass or set_by_hand
        )
        y_encoded = self._encode_targets(
            y, first_pass, incremental, ops.host_dtype(X.dtype)
        )
        if sp.issparse(X):
            X = X.tocsr()
        return X, y_encoded, sample_weight

    def _checked_arrays(self, X, y, sample_weight, *, dtype, reset):
        """``validate_data`` for training or held-out rows, and their weights.

        A single-column ``y`` becomes 1-d (with scikit-learn's warning).
        Off NumPy, ``X`` stays in its namespace and ``y`` and the weights
        come back on the host (:mod:`skbp._array_api`).
        """
        ops = input_primitives(X)
        if not ops.is_numpy:
            return self._checked_device_arrays(
                X, y, sample_weight, ops, dtype=dtype, reset=reset
            )
        y, sample_weight = to_host(y), to_host(sample_weight)
        check_has_features(X, self)
        X, y = validate_data(
            self,
            X,
            y,
            accept_sparse=["csr", "csc"],
            multi_output=True,
            dtype=dtype,
            reset=reset,
            **self._y_validation_options(),
        )
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        sample_weight = checked_sample_weight(sample_weight, X, X.dtype)
        return X, y, sample_weight

    def _model_dtype(self):
        """The dtype of the parameters, those set by hand included."""
        theta = self.__dict__.get("_theta")
        if theta is not None:
            return theta.dtype
        dtype = np.result_type(*map(np.asarray, [*self.coefs_, *self.intercepts_]))
        return dtype if dtype in (np.float32, np.float64) else np.dtype(np.float64)

    def _plain_training_data(self, X, y, sample_weight):
        """Return ``(X, y_encoded, sample_weight)`` if no conversion is needed.

        The lean path of ``partial_fit`` on a fitted model: plain float arrays
        that pass every check ``validate_data`` would make are used as they
        are, and class labels are encoded by lookup in ``classes_``.  Returns
        None for anything else, which then takes the full validation (and its
        error messages).
        """
        if (
            hasattr(self, "feature_names_in_")
            or not plain_float_matrix(X, self.n_features_in_)
            or X.dtype != self._model_dtype()
        ):
            return None
        if sample_weight is not None:
            if not plain_sample_weight(sample_weight, X.shape[0]):
                return None
            sample_weight = sample_weight.astype(X.dtype, copy=False)
        y_encoded = self._plain_targets(y, X.shape[0], X.dtype)
        if y_encoded is None:
            return None
        return X, y_encoded, sample_weight

    # --------------------------------------------------------- prediction

    def _checked_input(self, X, method):
        """Validate ``X`` for prediction; plain float arrays pass as they are.

        Input of another namespace than the model's is refused, naming
        ``method``.
        """
        if "coefs_" not in self.__dict__:
            check_is_fitted(self)
        theta = self.__dict__.get("_theta")
        if not (theta is None or type(theta) is np.ndarray) or not (
            input_primitives(X).is_numpy
        ):
            return self._model_input(X, method)
        if hasattr(self, "feature_names_in_") or not plain_float_matrix(
            X, self.n_features_in_
        ):
            check_has_features(X, self)
            X = validate_data(self, X, accept_sparse=["csr", "csc"], reset=False)
        return X

    def _raw_output(self, X, method):
        X = self._checked_input(X, method)
        ops = primitives_for(X)
        raw = predict_raw_from_views(
            self._network.hidden, self.coefs_, self.intercepts_, X, ops
        )
        return finite_raw(raw, ops)

    @quiet_floats
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

        Raises
        ------
        sklearn.exceptions.NotFittedError
            If the estimator is not fitted.

        ValueError
            If ``X`` has non-finite values or not the features seen in ``fit``;
            if ``layer`` is not an int from ``-n_hidden`` to ``n_hidden - 1``,
            or the network has no hidden layer (``hidden_layer_sizes=()``).

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
        X = self._checked_input(X, "hidden_activations")
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
                "The network has no hidden layer (hidden_layer_sizes=()), so there "
                f"are no hidden activations to return; got layer={layer!r}."
                if n_hidden == 0
                else f"layer must be an int from {-n_hidden} to {n_hidden - 1} for "
                f"a network with {n_hidden} hidden layer{'s' if n_hidden > 1 else ''}, "
                f"got {layer!r}."
            )
        return layer % n_hidden + 1

    def _output(self, raw, ops=None):
        """Apply the output link to ``raw`` (a fresh array)."""
        ops = primitives_for(raw) if ops is None else ops
        return self._network.output.link(raw, raw, ops)

    def __sklearn_is_fitted__(self):
        # What check_is_fitted would find by scanning every attribute for a
        # trailing underscore, in one lookup: _fit_context asks on every
        # partial_fit call.
        return "coefs_" in self.__dict__

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.array_api_support = True
        return tags
