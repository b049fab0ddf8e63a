"""skbp: scikit-learn estimators for neural networks trained by backpropagation."""

from ._classifier import BackpropClassifier
from ._display import TrainingCurveDisplay
from ._embedding import HiddenLayerEmbedding
from ._gradient_check import check_gradients
from ._regressor import BackpropRegressor
from ._show_versions import show_versions

__version__ = "0.1.0"

__all__ = [
    "BackpropClassifier",
    "BackpropRegressor",
    "HiddenLayerEmbedding",
    "TrainingCurveDisplay",
    "check_gradients",
    "show_versions",
    "__version__",
]
