"""skbp: scikit-learn estimators for neural networks trained by backpropagation."""

from ._display import TrainingCurveDisplay
from ._embedding import HiddenLayerEmbedding
from ._estimators import BackpropClassifier, BackpropRegressor
from ._gradient_check import check_gradients

__version__ = "0.1.0"

__all__ = [
    "BackpropClassifier",
    "BackpropRegressor",
    "HiddenLayerEmbedding",
    "TrainingCurveDisplay",
    "check_gradients",
    "__version__",
]
