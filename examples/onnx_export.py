"""Export a fitted pipeline to ONNX and serve it with onnxruntime.

``import skbp.onnx`` registers skbp's converters with skl2onnx; from then on
``skl2onnx.to_onnx`` converts skbp models as it converts scikit-learn's, in
pipelines too. The exported graph gives the labels and probabilities that
``predict`` and ``predict_proba`` give, without Python or skbp at serving time.

skl2onnx and onnxruntime are optional. Install them with
``pip install "skbp[onnx]"``; without them the script says so and exits
(with status 0). Run with ``python examples/onnx_export.py``.
"""

import sys
import warnings

try:
    import onnxruntime
    import skl2onnx

    import skbp.onnx  # noqa: F401 - registers the converters
except ImportError:
    print(
        "This example needs skl2onnx and onnxruntime. Install them with:\n"
        '    pip install "skbp[onnx]"'
    )
    sys.exit(0)

import numpy as np  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from skbp import BackpropClassifier  # noqa: E402

X, y = load_digits(return_X_y=True)
X = X.astype(np.float32)
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
pipeline = make_pipeline(
    StandardScaler(),
    BackpropClassifier(
        hidden_layer_sizes=(64,), activation="silu", dropout=0.2, random_state=0
    ),
)
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)  # a short demo fit
    pipeline.fit(X_train, y_train)

onnx_model = skl2onnx.to_onnx(
    pipeline, X_train[:1], options={BackpropClassifier: {"zipmap": False}}
)
print(
    f"ONNX graph: {len(onnx_model.graph.node)} nodes, "
    f"{len(onnx_model.SerializeToString()) / 1024:.0f} KiB"
)

session = onnxruntime.InferenceSession(onnx_model.SerializeToString())
labels, proba = session.run(None, {session.get_inputs()[0].name: X_test})
print(f"labels equal to predict: {np.array_equal(labels, pipeline.predict(X_test))}")
difference = np.abs(proba - pipeline.predict_proba(X_test)).max()
print(f"largest difference from predict_proba: {difference:.1e} (float32)")
print(f"test accuracy served by onnxruntime: {(labels == y_test).mean():.3f}")
