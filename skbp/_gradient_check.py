"""Finite-difference check of backpropagation at a fitted estimator's weights."""

import numpy as np
from sklearn.utils.validation import check_is_fitted, validate_data

from ._network import Workspace, loss_and_grad


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
    coordinates is returned. The estimator is not modified.

    Parameters
    ----------
    estimator : BackpropClassifier or BackpropRegressor
        A fitted estimator.
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
        Inputs at which to evaluate the objective.
    y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        Targets; for a classifier, labels among ``estimator.classes_``.
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights of the objective.
    epsilon : float, default=1e-6
        Finite-difference step.
    max_params : int, default=500
        Check at most this many coordinates, drawn at random without
        replacement when the network has more parameters.
    random_state : int, default=0
        Seed of that draw.

    Returns
    -------
    max_relative_error : float
        ``max_i |g_i - n_i| / max(|g_i|, |n_i|, s)`` over the checked
        coordinates, with ``g`` the backpropagated and ``n`` the numerical
        gradient and ``s = 1e-3 max_j |g_j|``, so that coordinates far below
        the gradient's scale are judged against that scale rather than
        against their own round-off. Values around 1e-6 or below mean the
        two agree; a wrong derivative gives errors of order one.

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
    check_is_fitted(estimator)
    X = validate_data(
        estimator, X, accept_sparse=["csr"], dtype=np.float64, reset=False
    )
    y_encoded = estimator._encode_targets(
        np.asarray(y), first_pass=False, incremental=True, dtype=np.float64
    )
    if sample_weight is not None:
        sample_weight = np.asarray(sample_weight, dtype=np.float64)
    network = estimator._network
    theta = network.pack(estimator.coefs_, estimator.intercepts_, np.float64)

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
    rng = np.random.default_rng(random_state)
    indices = np.arange(theta.size)
    if theta.size > max_params:
        indices = rng.choice(theta.size, size=max_params, replace=False)
    numeric = _central_differences(lambda t: objective(t)[0], theta, indices, epsilon)
    # Coordinates far below the gradient's scale carry only finite-difference
    # round-off (about 1e-16 |J| / epsilon): judge them against that scale.
    floor = max(1e-3 * np.abs(analytic).max(), 1e-12)
    return float(_relative_errors(analytic[indices], numeric, floor).max())
