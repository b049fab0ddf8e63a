"""skbp: scikit-learn estimators for neural networks trained by backpropagation."""

from ._display import TrainingCurveDisplay
from ._estimators import BackpropClassifier, BackpropRegressor
from ._gradient_check import check_gradients

__version__ = "0.1.0"

__all__ = [
    "BackpropClassifier",
    "BackpropRegressor",
    "TrainingCurveDisplay",
    "check_gradients",
    "__version__",
]
