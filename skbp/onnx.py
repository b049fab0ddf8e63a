"""ONNX export of skbp's estimators, through skl2onnx.

Importing this module registers a shape calculator and a converter for
:class:`~skbp.BackpropClassifier` and :class:`~skbp.BackpropRegressor` (and
the :mod:`skbp.dask` estimators, if that module is imported) with skl2onnx,
so that ``skl2onnx.to_onnx(model, X[:1])`` converts them alone and inside
pipelines.  :func:`to_onnx` does the same in one call.

The graph is the network's forward pass (``MatMul``, ``Add`` and the hidden
activation per layer), then the output layer as skbp computes it:

- classifier: softmax (multiclass), logistic units as ``[1 - p, p]``
  (binary), independent logistic units (multilabel, labels ``p > 0.5``), or
  logistic units normalised to sum to one (``loss='squared_error'``,
  multiclass); probabilities clipped to the floats inside (0, 1) as
  ``predict_proba`` clips them; labels by ``ArgMax`` over the probabilities;
- regressor: identity, ``exp`` (``loss='poisson'``) or logistic
  (``loss='log_loss'``, proportions), one column per output.

Every activation has an ONNX form: ``Identity``, ``Sigmoid``, ``Tanh``,
``Relu``, ``LeakyRelu`` (alpha 0.01), ``Elu`` (alpha 1), ``Softplus``, GELU as
``x * (1 + Erf(x / sqrt 2)) / 2`` and SiLU as ``x * Sigmoid(x)``.  The graph
computes in the input's float type (float32 or float64). onnxruntime has
``LeakyRelu``, ``Elu`` and ``Softplus`` in float32 only: float64 graphs write
them with ``Max``, ``Where``, ``Exp`` and ``Log``; it has ``Erf`` in float32
only too, so a float64 GELU graph computes that one function in float32.

Install with ``pip install "skbp[onnx]"`` (skl2onnx and onnxruntime).
"""

try:
    import skl2onnx
    from skl2onnx import update_registered_converter
    from skl2onnx.common.data_types import (
        DoubleTensorType,
        FloatTensorType,
        Int64TensorType,
        StringTensorType,
        guess_numpy_type,
    )
except ImportError as error:  # pragma: no cover - exercised without skl2onnx
    raise ImportError(
        "skbp.onnx needs skl2onnx (and onnxruntime to run the models). Install "
        'them with:\n    pip install "skbp[onnx]"    (or: pip install skl2onnx '
        "onnxruntime)"
    ) from error

try:
    # skl2onnx's own parser for classifiers, which registering a converter
    # with the "zipmap" option installs; skbp's checks the model first.
    from skl2onnx._parse import _parse_sklearn_classifier
except ImportError:  # pragma: no cover - a skl2onnx that moved it
    _parse_sklearn_classifier = None

import math
import sys

import numpy as np
from sklearn.utils.validation import check_is_fitted

from ._classifier import BackpropClassifier
from ._kernel_codes import ELU_ALPHA, LEAKY_RELU_SLOPE
from ._regressor import BackpropRegressor

__all__ = ["to_onnx"]


class _Graph:
    """Adds nodes and constants to skl2onnx's container, with unique names."""

    def __init__(self, scope, container, dtype):
        self.scope = scope
        self.container = container
        self.dtype = dtype

    def constant(self, value, dtype=None):
        value = np.asarray(value, dtype=self.dtype if dtype is None else dtype)
        name = self.scope.get_unique_variable_name("constant")
        self.container.add_initializer(
            name,
            _PROTO_TYPES[value.dtype.kind, value.dtype.itemsize],
            list(value.shape),
            value.ravel().tolist(),
        )
        return name

    def node(self, op_type, inputs, output=None, domain="", **attributes):
        if isinstance(inputs, str):
            inputs = [inputs]
        output = output or self.scope.get_unique_variable_name(op_type.lower())
        self.container.add_node(
            op_type,
            inputs,
            output,
            op_domain=domain,
            name=self.scope.get_unique_operator_name(op_type),
            **attributes,
        )
        return output


# ONNX's TensorProto codes of the numeric constants the graphs hold (string
# class labels are added apart, as code 8).
_PROTO_TYPES = {("f", 4): 1, ("f", 8): 11, ("i", 8): 7}


def _gelu(graph, x):
    scaled = graph.node("Mul", [x, graph.constant(math.sqrt(0.5))])
    if graph.dtype == np.float64:
        # onnxruntime has Erf in float32 only: GELU in a float64 graph is
        # accurate to float32's precision (about 1e-7 relative).
        erf = graph.node(
            "Cast", graph.node("Erf", graph.node("Cast", scaled, to=1)), to=11
        )
    else:
        erf = graph.node("Erf", scaled)
    one_plus = graph.node("Add", [erf, graph.constant(1.0)])
    half_x = graph.node("Mul", [x, graph.constant(0.5)])
    return graph.node("Mul", [half_x, one_plus])


def _silu(graph, x):
    return graph.node("Mul", [x, graph.node("Sigmoid", x)])


# onnxruntime has LeakyRelu, Elu and Softplus in float32 only: in float64
# graphs they are written with operators it has in float64.  The slope and
# alpha are skbp's own (skbp._kernel_codes), which the core computes with.
def _leaky_relu(graph, x):
    if graph.dtype == np.float32:
        return graph.node("LeakyRelu", x, alpha=LEAKY_RELU_SLOPE)
    leak = graph.node("Mul", [x, graph.constant(LEAKY_RELU_SLOPE)])
    return graph.node("Max", [x, leak])


def _elu(graph, x):
    if graph.dtype == np.float32:
        return graph.node("Elu", x, alpha=ELU_ALPHA)
    negative = graph.node("Min", [x, graph.constant(0.0)])
    below = graph.node("Sub", [graph.node("Exp", negative), graph.constant(1.0)])
    below = graph.node("Mul", [below, graph.constant(ELU_ALPHA)])
    positive = graph.node("Greater", [x, graph.constant(0.0)])
    return graph.node("Where", [positive, x, below])


def _softplus(graph, x):
    if graph.dtype == np.float32:
        return graph.node("Softplus", x)
    # max(x, 0) + log(1 + exp(-|x|)): no overflow for large |x|
    tail = graph.node("Exp", graph.node("Neg", graph.node("Abs", x)))
    log_term = graph.node("Log", graph.node("Add", [tail, graph.constant(1.0)]))
    return graph.node("Add", [graph.node("Relu", x), log_term])


_ACTIVATIONS = {
    "identity": lambda graph, x: graph.node("Identity", x),
    "logistic": lambda graph, x: graph.node("Sigmoid", x),
    "tanh": lambda graph, x: graph.node("Tanh", x),
    "relu": lambda graph, x: graph.node("Relu", x),
    "leaky_relu": _leaky_relu,
    "elu": _elu,
    "softplus": _softplus,
    "gelu": _gelu,
    "silu": _silu,
}


def _raw_output(graph, model, input_name):
    """The network's pre-link output: the hidden layers, then the last product."""
    x = graph.node("Cast", input_name, to=_PROTO_TYPES["f", graph.dtype.itemsize])
    # The fitted network's activations, one per hidden layer: the parameter
    # may have been set to others since the fit.
    hidden = [_ACTIVATIONS[activation.name] for activation in model._network.hidden]
    for layer, (coef, intercept) in enumerate(
        zip(model.coefs_, model.intercepts_, strict=True)
    ):
        product = graph.node("MatMul", [x, graph.constant(np.asarray(coef))])
        x = graph.node("Add", [product, graph.constant(np.asarray(intercept))])
        if layer < len(model.coefs_) - 1:
            x = hidden[layer](graph, x)
    return x


def _inside_unit_interval(graph, proba, output):
    info = np.finfo(graph.dtype)
    lowest, highest = info.tiny, np.nextafter(graph.dtype.type(1), graph.dtype.type(0))
    return graph.node(
        "Clip", [proba, graph.constant(lowest), graph.constant(highest)], output
    )


def _class_probabilities(graph, model, raw):
    link = model.out_activation_
    if link == "softmax":
        return graph.node("Softmax", raw, axis=1)
    units = graph.node("Sigmoid", raw)
    if model._is_multilabel():
        return units
    if len(model.classes_) == 2 and model.n_outputs_ == 1:
        negative = graph.node("Sigmoid", graph.node("Neg", raw))
        return graph.node("Concat", [negative, units], axis=1)
    # squared error, multiclass: logistic units normalised to sum to one
    total = graph.node("ReduceSum", [units, graph.constant([1], np.int64)], keepdims=1)
    return graph.node("Div", [units, total])


def _label_classes(model):
    classes = np.asarray(model.classes_)
    if classes.dtype.kind in "OUS":
        return np.array([str(c) for c in classes]), 8
    if classes.dtype.kind == "f" and not np.all(classes == np.round(classes)):
        raise ValueError(
            "ONNX export needs integer or string class labels; got "
            f"{classes!r}. Encode the labels as integers or strings."
        )
    return classes.astype(np.int64), 7


def _labels(graph, model, proba, output):
    if model._is_multilabel():
        above = graph.node("Greater", [proba, graph.constant(0.5)])
        return graph.node("Cast", above, output, to=7)
    classes, proto = _label_classes(model)
    index = graph.node("ArgMax", proba, axis=1, keepdims=0)
    if proto == 8:
        name = graph.scope.get_unique_variable_name("classes")
        graph.container.add_initializer(name, 8, [len(classes)], classes.tolist())
        return graph.node("Gather", [name, index], output, axis=0)
    return graph.node("Gather", [graph.constant(classes, np.int64), index], output)


def _convert_classifier(scope, operator, container):
    model = operator.raw_operator
    _check_exportable(model)
    graph = _Graph(scope, container, _float_dtype(operator))
    raw = _raw_output(graph, model, operator.inputs[0].full_name)
    proba = _class_probabilities(graph, model, raw)
    proba = _inside_unit_interval(graph, proba, operator.outputs[1].full_name)
    _labels(graph, model, proba, operator.outputs[0].full_name)


def _convert_regressor(scope, operator, container):
    model = operator.raw_operator
    graph = _Graph(scope, container, _float_dtype(operator))
    raw = _raw_output(graph, model, operator.inputs[0].full_name)
    link = {"identity": "Identity", "exp": "Exp", "logistic": "Sigmoid"}
    graph.node(link[model.out_activation_], raw, operator.outputs[0].full_name)


def _check_exportable(model):
    if len(model.classes_) == 1:
        raise ValueError(
            "A classifier fitted on a single class has nothing to compute; ONNX "
            "export needs at least two classes."
        )


def _float_dtype(operator):
    dtype = guess_numpy_type(operator.inputs[0].type)
    return np.dtype(np.float64 if dtype == np.float64 else np.float32)


def _tensor_type(operator):
    if _float_dtype(operator) == np.float64:
        return DoubleTensorType
    return FloatTensorType


def _classifier_shapes(operator):
    model = operator.raw_operator
    n_rows = operator.inputs[0].get_first_dimension()
    n_classes = len(model.classes_)
    if model._is_multilabel():
        operator.outputs[0].type = Int64TensorType([n_rows, n_classes])
    elif _label_classes(model)[1] == 8:
        operator.outputs[0].type = StringTensorType([n_rows])
    else:
        operator.outputs[0].type = Int64TensorType([n_rows])
    operator.outputs[1].type = _tensor_type(operator)([n_rows, n_classes])


def _regressor_shapes(operator):
    check_is_fitted(operator.raw_operator)
    n_rows = operator.inputs[0].get_first_dimension()
    n_outputs = operator.raw_operator.n_outputs_
    operator.outputs[0].type = _tensor_type(operator)([n_rows, n_outputs])


def _parse_classifier(scope, model, inputs, custom_parsers=None):
    """skl2onnx's classifier parser, after checking that ``model`` is fitted.

    skl2onnx reads the classes while parsing, before any shape calculator
    runs: an unfitted model would fail there with "No known ways to retrieve
    the number of classes" rather than scikit-learn's ``NotFittedError``.
    """
    check_is_fitted(model)
    return _parse_sklearn_classifier(
        scope, model, inputs, custom_parsers=custom_parsers
    )


def register():
    """Register skbp's converters with skl2onnx (done when this module is imported).

    The :mod:`skbp.dask` estimators are registered too if that module has
    been imported; call this again after importing it later.
    """
    classifiers, regressors = [BackpropClassifier], [BackpropRegressor]
    cluster = sys.modules.get("skbp.dask")
    if cluster is not None:
        classifiers.append(cluster.BackpropClassifier)
        regressors.append(cluster.BackpropRegressor)
    for model in classifiers:
        update_registered_converter(
            model,
            f"Skbp{model.__module__.replace('.', '_')}BackpropClassifier",
            _classifier_shapes,
            _convert_classifier,
            options={"zipmap": [True, False, "columns"], "nocl": [True, False]},
            parser=_parse_classifier if _parse_sklearn_classifier else None,
        )
    for model in regressors:
        update_registered_converter(
            model,
            f"Skbp{model.__module__.replace('.', '_')}BackpropRegressor",
            _regressor_shapes,
            _convert_regressor,
        )


def to_onnx(model, X, **kwargs):
    """Convert a fitted skbp estimator (or a pipeline holding one) to ONNX.

    Parameters
    ----------
    model : estimator
        A fitted :class:`~skbp.BackpropClassifier`,
        :class:`~skbp.BackpropRegressor` or a scikit-learn pipeline that ends
        in one.
    X : ndarray of shape (n_samples, n_features)
        A sample of the input, float32 or float64: it sets the graph's input
        type (the rows' values are not used).
    **kwargs : dict
        Passed to ``skl2onnx.to_onnx`` (``options``, ``target_opset``, ...).
        Classifiers give a list of dicts of probabilities by default (ONNX's
        ``ZipMap``); ``options={"zipmap": False}`` gives a matrix.

    Returns
    -------
    onnx_model : onnx.ModelProto
        Run it with ``onnxruntime.InferenceSession(onnx_model.SerializeToString())``.

    Raises
    ------
    sklearn.exceptions.NotFittedError
        If ``model`` (a pipeline's last step, for a pipeline) is not fitted.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_iris
    >>> from skbp import BackpropClassifier
    >>> from skbp.onnx import to_onnx
    >>> X, y = load_iris(return_X_y=True)
    >>> X = X.astype(np.float32)
    >>> model = BackpropClassifier(hidden_layer_sizes=(8,), solver="lbfgs",
    ...                            max_iter=200, random_state=0).fit(X, y)
    >>> onnx_model = to_onnx(model, X[:1], options={"zipmap": False})
    >>> import onnxruntime
    >>> session = onnxruntime.InferenceSession(onnx_model.SerializeToString())
    >>> labels, proba = session.run(None, {"X": X[:3]})
    >>> labels.tolist() == model.predict(X[:3]).tolist()
    True
    """
    # Refused here, whatever skl2onnx's parsers would make of it (a pipeline
    # is fitted when its last step is).
    check_is_fitted(model)
    register()
    return skl2onnx.to_onnx(model, X, **kwargs)


register()
