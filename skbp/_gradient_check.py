"""Finite-difference check of backpropagation at a fitted estimator's weights."""

from numbers import Integral, Real

import numpy as np
from sklearn.base import is_regressor
from sklearn.utils import check_array
from sklearn.utils._param_validation import Interval, validate_params
from sklearn.utils.validation import (
    check_is_fitted,
    validate_data,
)

from ._array_api import to_host
from ._network import Workspace, loss_and_grad
from ._validation import checked_sample_weight


def _relative_errors(analytic, numeric, floor):
    scale = np.maximum(np.maximum(np.abs(analytic), np.abs(numeric)), floor)
    return np.abs(analytic - numeric) / scale


def _central_differences(objective, theta, indices, epsilon):
    numeric = np.empty(len(indices))
    for k, i in enumerate(indices):
        original = theta[i]
        theta[i] = original + epsilon
        loss_plus = objective(theta)
        theta[i] = original - epsilon
        loss_minus = objective(theta)
        theta[i] = original
        numeric[k] = (loss_plus - loss_minus) / (2 * epsilon)
    return numeric


def _check_estimator(estimator):
    # The check reads the network skbp builds at fit; scikit-learn's MLP has none.
    if not hasattr(estimator, "_encode_targets"):
        raise ValueError(
            "estimator must be a BackpropClassifier or BackpropRegressor, got "
            f"{type(estimator).__name__}."
        )
    check_is_fitted(estimator)


def _check_not_bool(epsilon, max_params):
    # bool is an Integral and a Real, so the Interval constraints let it through.
    if isinstance(epsilon, bool):
        raise ValueError(f"epsilon must be a positive finite float, got {epsilon}.")
    if isinstance(max_params, bool):
        raise ValueError(f"max_params must be an int >= 1, got {max_params}.")


def _validated_targets(estimator, y, n_samples):
    """Return ``y`` encoded as the network's outputs, as ``fit`` checks it."""
    y = check_array(
        y,
        ensure_2d=False,
        dtype="numeric" if is_regressor(estimator) else None,
        input_name="y",
    )
    if y.shape[0] != n_samples:
        raise ValueError(
            f"y has {y.shape[0]} samples, but X has {n_samples}; expected one "
            "target row per row of X."
        )
    if y.ndim == 2 and y.shape[1] == 1:
        y = y.ravel()
    y_encoded = estimator._encode_targets(
        y, first_pass=False, incremental=True, dtype=np.float64
    )
    n_outputs = estimator._network.layer_units[-1]
    if y_encoded.shape[1] != n_outputs:
        # Else the loss broadcasts y against the outputs and is silently wrong.
        raise ValueError(
            f"y gives {y_encoded.shape[1]} network outputs, but the fitted "
            f"{type(estimator).__name__} expects {n_outputs}: y must have the "
            "shape it was fitted with."
        )
    return y_encoded


def _validated_sample_weight(sample_weight, X):
    if sample_weight is None:
        return None
    sample_weight = checked_sample_weight(
        sample_weight, X, np.float64, allow_all_zero=True
    )
    if not sample_weight.any():
        raise ValueError(
            "sample_weight is zero for every sample, which makes the weighted "
            "mean loss 0/0; expected at least one positive weight."
        )
    return sample_weight


def _generator(random_state):
    try:
        return np.random.default_rng(random_state)
    except (TypeError, ValueError) as error:
        raise ValueError(
            "random_state must be a seed or generator that "
            f"numpy.random.default_rng accepts, got {random_state!r}."
        ) from error


@validate_params(
    {
        "X": ["array-like", "sparse matrix"],
        "y": ["array-like"],
        "sample_weight": ["array-like", Real, None],
        "epsilon": [Interval(Real, 0, np.inf, closed="neither")],
        "max_params": [Interval(Integral, 1, None, closed="left")],
    },
    prefer_skip_nested_validation=True,
)
def check_gradients(
    estimator,
    X,
    y,
    *,
    sample_weight=None,
    epsilon=1e-6,
    max_params=500,
    random_state=0,
):
    """Compare backpropagation's gradient with central finite differences.

    At the fitted estimator's current weights, the gradient of the training
    objective (loss plus L2 penalty, as minimised by ``fit``) is computed by
    backpropagation and by central differences
    :math:`(J(\\theta + \\epsilon e_i) - J(\\theta - \\epsilon e_i)) / 2\\epsilon`,
    both in float64, and the largest relative error over the checked
    coordinates is returned. The estimator is not modified. The check runs
    on the host: a model trained on torch tensors (or another array library)
    is checked from NumPy copies of its weights and of the data. Dropout is
    not applied: the objective checked is the deterministic one of the
    network as it predicts (the thinned network's gradient, for a fixed mask,
    is checked in skbp's own tests).

    Parameters
    ----------
    estimator : BackpropClassifier or BackpropRegressor
        A fitted estimator.

    X : {array-like, sparse matrix} of shape (n_samples, n_features)
        Inputs at which to evaluate the objective.

    y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        Targets; for a classifier, labels among ``estimator.classes_``.

    sample_weight : array-like of shape (n_samples,) or float, default=None
        Non-negative, finite sample weights of the objective, not all zero; a
        float weighs every sample alike.

    epsilon : float, default=1e-6
        Finite-difference step, positive and finite.

    max_params : int, default=500
        Check at most this many coordinates (at least 1), drawn at random without
        replacement when the network has more parameters.

    random_state : int, Generator or None, default=0
        Seed of that draw: anything :func:`numpy.random.default_rng` takes.

    Returns
    -------
    max_relative_error : float
        ``max_i |g_i - n_i| / max(|g_i|, |n_i|, s)`` over the checked
        coordinates, with ``g`` the backpropagated and ``n`` the numerical
        gradient and ``s = 1e-3 max_j |g_j|``, so that coordinates far below
        the gradient's scale are judged against that scale rather than
        against their own round-off. Values around 1e-6 or below mean the
        two agree; a wrong derivative gives errors of order one.

    Raises
    ------
    ValueError
        If ``estimator`` is not a BackpropClassifier or BackpropRegressor, or
        is not fitted (``NotFittedError``); if ``X`` does not match the
        features it was fitted on; if ``y`` has another number of rows than
        ``X``, non-finite values, labels outside ``estimator.classes_`` or
        another number of outputs than the network; if ``sample_weight`` has
        the wrong shape, non-finite or negative values, or is zero for every
        sample; if ``epsilon`` is not a positive finite float, ``max_params``
        not an int of at least 1, or ``random_state`` not accepted by
        :func:`numpy.random.default_rng`. Nothing is computed before every
        argument has been checked.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from skbp import BackpropClassifier, check_gradients
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = BackpropClassifier(hidden_layer_sizes=(5,), activation="tanh",
    ...                          max_iter=20, random_state=0).fit(X, y)
    >>> check_gradients(clf, X, y) < 1e-4
    True
    """
    _check_not_bool(epsilon, max_params)
    _check_estimator(estimator)
    # The check runs on the host in float64, whatever namespace the model
    # trained in (tests/test_array_api.py checks the other namespaces' core).
    X, y, sample_weight = to_host(X), to_host(y), to_host(sample_weight)
    X = validate_data(
        estimator, X, accept_sparse=["csr"], dtype=np.float64, reset=False
    )
    y_encoded = _validated_targets(estimator, y, X.shape[0])
    sample_weight = _validated_sample_weight(sample_weight, X)
    rng = _generator(random_state)
    network = estimator._network
    theta = network.pack(
        [to_host(c) for c in estimator.coefs_],
        [to_host(b) for b in estimator.intercepts_],
        np.float64,
    )

    workspace = Workspace(network, X.shape[0], np.float64)

    def objective(parameters):
        return loss_and_grad(
            parameters,
            X,
            y_encoded,
            sample_weight,
            network=network,
            alpha=estimator.alpha,
            workspace=workspace,
        )

    # The workspace's gradient buffer is overwritten by every evaluation.
    analytic = objective(theta)[1].copy()
    indices = np.arange(theta.size)
    if theta.size > max_params:
        indices = rng.choice(theta.size, size=max_params, replace=False)
    numeric = _central_differences(lambda t: objective(t)[0], theta, indices, epsilon)
    # Coordinates far below the gradient's scale carry only finite-difference
    # round-off (about 1e-16 |J| / epsilon): judge them against that scale.
    floor = max(1e-3 * np.abs(analytic).max(), 1e-12)
    return float(_relative_errors(analytic[indices], numeric, floor).max())
