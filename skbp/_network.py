"""The pure backpropagation core: parameter layout, forward, backward.

Nothing here reads an estimator.  A :class:`Network` describes the
architecture; the parameters are one flat vector ``theta`` laid out as
scikit-learn's MLP packs them (all weight matrices, then all bias vectors),
and :meth:`Network.views` returns per-layer views into it.  Inputs arrive
validated, contiguous and of the parameters' floating dtype.

Notation follows the seeds: ``activations[l]`` is the output of layer ``l``
(``activations[0]`` is the input), ``raw`` is the pre-link output of the last
layer, and ``delta[l]`` is the gradient of the loss with respect to the
pre-activation of layer ``l + 1``.
"""

from dataclasses import dataclass
from functools import cached_property
from itertools import pairwise

import numpy as np
import scipy.sparse as sp


def _matmul_into(a, b, out):
    """Write ``a @ b`` into ``out``; ``a`` may be a scipy sparse matrix."""
    if sp.issparse(a):
        out[...] = a @ b
        return out
    return np.matmul(a, b, out=out)


@dataclass(frozen=True)
class Network:
    """The architecture of a fully connected feed-forward network.

    Parameters
    ----------
    layer_units : tuple of int
        Units per layer, input and output layers included:
        ``(n_features, *hidden_layer_sizes, n_outputs)``.
    hidden : Activation
        Activation of the hidden layers.
    output : OutputLayer
        Link and loss of the output layer.
    """

    layer_units: tuple
    hidden: object
    output: object

    @property
    def n_layers(self):
        """Number of layers, the input layer included."""
        return len(self.layer_units)

    @cached_property
    def coef_shapes(self):
        """Shapes ``(fan_in, fan_out)`` of the weight matrices."""
        return list(pairwise(self.layer_units))

    @cached_property
    def n_coefs(self):
        """Number of weights (the leading part of ``theta``)."""
        return sum(fan_in * fan_out for fan_in, fan_out in self.coef_shapes)

    @cached_property
    def n_params(self):
        """Total number of parameters, weights and biases."""
        return self.n_coefs + sum(self.layer_units[1:])

    def views(self, theta):
        """Split the flat parameter vector into per-layer views.

        Parameters
        ----------
        theta : ndarray of shape (n_params,)
            The flat parameter vector.

        Returns
        -------
        coefs : list of ndarray of shape (fan_in, fan_out)
            Weight matrices; writing into them writes into ``theta``.
        intercepts : list of ndarray of shape (fan_out,)
            Bias vectors; views into ``theta`` as well.
        """
        coefs, intercepts, start = [], [], 0
        for shape in self.coef_shapes:
            stop = start + shape[0] * shape[1]
            coefs.append(theta[start:stop].reshape(shape))
            start = stop
        for fan_out in self.layer_units[1:]:
            intercepts.append(theta[start : start + fan_out])
            start += fan_out
        return coefs, intercepts

    def pack(self, coefs, intercepts, dtype):
        """Return a new flat vector holding copies of ``coefs`` and ``intercepts``.

        Parameters
        ----------
        coefs, intercepts : list of array-like
            Per-layer weights and biases, shaped as :meth:`views` returns them.
        dtype : numpy dtype
            Floating dtype of the vector.

        Returns
        -------
        theta : ndarray of shape (n_params,)
        """
        theta = np.empty(self.n_params, dtype=dtype)
        for view, value in zip(
            sum(self.views(theta), []), [*coefs, *intercepts], strict=True
        ):
            view[...] = value
        return theta

    def init_parameters(self, random_state, dtype):
        """Draw initial parameters as scikit-learn's MLP does.

        Glorot-uniform bounds :math:`\\sqrt{6 / (fan_{in} + fan_{out})}`
        (factor 2 instead of 6 for logistic hidden units), drawn layer by
        layer, weights before biases, from ``random_state``: the same
        ``random_state`` gives the same initial weights as
        ``sklearn.neural_network.MLPClassifier``.

        Parameters
        ----------
        random_state : numpy.random.RandomState
            Source of randomness.
        dtype : numpy dtype
            Floating dtype of the parameters.

        Returns
        -------
        theta : ndarray of shape (n_params,)
        """
        factor = 2.0 if self.hidden.name == "logistic" else 6.0
        coefs, intercepts = [], []
        for fan_in, fan_out in self.coef_shapes:
            bound = np.sqrt(factor / (fan_in + fan_out))
            coefs.append(random_state.uniform(-bound, bound, (fan_in, fan_out)))
            intercepts.append(random_state.uniform(-bound, bound, fan_out))
        return self.pack(coefs, intercepts, dtype)


class Workspace:
    """Activation and delta buffers for batches of up to ``max_rows`` samples.

    Allocated once per fit and reused for every batch (DESIGN.md, principle
    5); :meth:`rows` hands out views of the first ``n`` rows, which are
    C-contiguous, so matrix products can write straight into them.

    Parameters
    ----------
    network : Network
        The architecture the buffers are shaped for.
    max_rows : int
        The largest batch the buffers must hold.
    dtype : numpy dtype
        Floating dtype of the buffers.
    """

    def __init__(self, network, max_rows, dtype):
        units = network.layer_units[1:]
        self.max_rows = max_rows
        self._activations = [np.empty((max_rows, n), dtype) for n in units]
        self._deltas = [np.empty((max_rows, n), dtype) for n in units]
        self._raw = np.empty((max_rows, units[-1]), dtype)
        self.grad = np.empty(network.n_params, dtype)

    def rows(self, n_rows):
        """Return ``(activations, raw, deltas)`` views of the first ``n_rows``.

        Parameters
        ----------
        n_rows : int
            Number of samples in the batch.

        Returns
        -------
        activations : list of ndarray
            One buffer per non-input layer; the last one holds predictions.
        raw : ndarray of shape (n_rows, n_outputs)
            Buffer for the pre-link output.
        deltas : list of ndarray
            One buffer per non-input layer.
        """
        return (
            [a[:n_rows] for a in self._activations],
            self._raw[:n_rows],
            [d[:n_rows] for d in self._deltas],
        )


def forward(network, theta, X, workspace):
    """Propagate ``X`` forward, keeping every layer's output.

    .. math::

        a^{(1)} = x, \\qquad z^{(l+1)} = a^{(l)} W^{(l)} + b^{(l)}, \\qquad
        a^{(l+1)} = f(z^{(l+1)}),

    equation (6) of the seed "Backpropagation Derivation" (eqs. (1)-(4) of
    Feng's "Back propagation algorithm"), with the output layer's link in
    place of ``f`` at the last layer.

    Parameters
    ----------
    network : Network
        The architecture.
    theta : ndarray of shape (n_params,)
        Flat parameters.
    X : {ndarray, sparse matrix} of shape (n_samples, n_features)
        Input batch, ``n_samples <= workspace.max_rows``.
    workspace : Workspace
        Buffers to write into.

    Returns
    -------
    activations : list of ndarray
        ``[X, a_1, ..., a_L]``; ``a_L`` is the prediction.
    raw : ndarray of shape (n_samples, n_outputs)
        The pre-link output of the last layer.
    """
    coefs, intercepts = network.views(theta)
    layer_outputs, raw, _ = workspace.rows(X.shape[0])
    activations = [X]
    for layer, (coef, intercept) in enumerate(zip(coefs, intercepts, strict=True)):
        is_output = layer == len(coefs) - 1
        z = raw if is_output else layer_outputs[layer]
        _matmul_into(activations[-1], coef, out=z)
        z += intercept
        if is_output:
            activations.append(network.output.link(z, out=layer_outputs[layer]))
        else:
            activations.append(network.hidden.forward(z))
    return activations, raw


def backward(network, theta, activations, deltas, grad):
    """Propagate the output delta back and write the unnormalised gradient.

    ``deltas[-1]`` must hold the (sample-weighted) output delta on entry.  The
    hidden deltas follow

    .. math::

        \\delta^{(l)} = \\left(\\delta^{(l+1)} W^{(l+1)\\top}\\right)
                        \\odot f'(z^{(l)}),

    Liskowski's eq. (4) / (11) in matrix form (Feng's eq. (28)), and the
    gradients are

    .. math::

        \\frac{\\partial L}{\\partial W^{(l)}} = a^{(l)\\top} \\delta^{(l)},
        \\qquad
        \\frac{\\partial L}{\\partial b^{(l)}} = \\sum_{\\text{samples}}
        \\delta^{(l)},

    Feng's eqs. (22), (29) and (34), summed over the rows of the batch.

    Parameters
    ----------
    network : Network
        The architecture.
    theta : ndarray of shape (n_params,)
        Flat parameters.
    activations : list of ndarray
        As returned by :func:`forward`.
    deltas : list of ndarray
        Delta buffers, one per non-input layer; the last holds the output delta.
    grad : ndarray of shape (n_params,)
        Written with the gradient, laid out as ``theta``.

    Returns
    -------
    grad : ndarray of shape (n_params,)
    """
    coefs, _ = network.views(theta)
    coef_grads, intercept_grads = network.views(grad)
    for layer in range(len(coefs) - 1, -1, -1):
        delta = deltas[layer]
        _matmul_into(activations[layer].T, delta, out=coef_grads[layer])
        np.sum(delta, axis=0, out=intercept_grads[layer])
        if layer > 0:
            previous = np.matmul(delta, coefs[layer].T, out=deltas[layer - 1])
            network.hidden.multiply_derivative(activations[layer], previous)
    return grad


def loss_and_grad(theta, X, y, sample_weight=None, *, network, alpha, workspace=None):
    """Return the regularised loss and its gradient with respect to ``theta``.

    The objective is the (weighted) mean per-sample loss plus an L2 penalty
    scaled, as in scikit-learn's MLP, by the total sample weight:

    .. math::

        J(\\theta) = \\frac{\\sum_i w_i L(y_i, \\hat y_i)}{\\sum_i w_i}
                   + \\frac{\\alpha}{2 \\sum_i w_i} \\sum_l \\lVert W^{(l)}
                   \\rVert_F^2 .

    Every solver (SGD, Adam, scipy's L-BFGS) and the gradient check call this
    one function.

    Parameters
    ----------
    theta : ndarray of shape (n_params,)
        Flat parameters.
    X : {ndarray, sparse matrix} of shape (n_samples, n_features)
        Inputs, of the dtype of ``theta``.
    y : ndarray of shape (n_samples, n_outputs)
        Targets encoded as the network's outputs.
    sample_weight : ndarray of shape (n_samples,), default=None
        Sample weights; ``None`` weighs every sample by one.
    network : Network
        The architecture.
    alpha : float
        L2 penalty strength.
    workspace : Workspace, default=None
        Buffers to reuse; allocated for this call if ``None``.

    Returns
    -------
    loss : float
        The value of :math:`J(\\theta)`.
    grad : ndarray of shape (n_params,)
        Its gradient.  When a workspace is given this is ``workspace.grad``,
        overwritten by the next call.
    """
    if workspace is None:
        workspace = Workspace(network, X.shape[0], theta.dtype)
    activations, raw = forward(network, theta, X, workspace)
    _, _, deltas = workspace.rows(X.shape[0])
    network.output.gradient(y, raw, activations[-1], out=deltas[-1])
    if sample_weight is None:
        weight_sum = X.shape[0]
    else:
        deltas[-1] *= sample_weight[:, np.newaxis]
        weight_sum = sample_weight.sum()
    grad = backward(network, theta, activations, deltas, workspace.grad)
    weights = theta[: network.n_coefs]
    grad[: network.n_coefs] += alpha * weights
    grad /= weight_sum
    loss = network.output.loss(y, raw, activations[-1], sample_weight)
    loss += 0.5 * alpha * float(weights @ weights) / weight_sum
    return loss, grad


def predict_raw_from_views(hidden, coefs, intercepts, X):
    """Forward pass over per-layer weights, returning the raw output.

    Allocates fresh arrays and shares no buffers, so prediction is safe to
    call from several threads on one model.  It reads the weights from the
    lists given (an estimator's ``coefs_``), so weights a user assigned are
    the ones used.

    Parameters
    ----------
    hidden : Activation
        Hidden-layer activation.
    coefs, intercepts : list of ndarray
        Per-layer weights and biases.
    X : {ndarray, sparse matrix} of shape (n_samples, n_features)
        Inputs.

    Returns
    -------
    raw : ndarray of shape (n_samples, n_outputs)
    """
    activation = X
    for layer, (coef, intercept) in enumerate(zip(coefs, intercepts, strict=True)):
        activation = activation @ coef
        activation += intercept
        if layer < len(coefs) - 1:
            hidden.forward(activation)
    return np.asarray(activation)
