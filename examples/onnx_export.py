"""Export a fitted pipeline to ONNX
=================================

``import skbp.onnx`` registers skbp's converters with skl2onnx; from then on
``skl2onnx.to_onnx`` converts skbp's models as it converts scikit-learn's, in
pipelines too. This example exports a scaling pipeline around a
:class:`skbp.BackpropClassifier`, serves the graph with onnxruntime, and
checks that it gives the labels and probabilities that ``predict`` and
``predict_proba`` give, with neither Python nor skbp needed at serving time.

skl2onnx and onnxruntime are optional. Install them with
``pip install "skbp[onnx]"``; without them the script says so and exits
(with status 0).
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

# %%
# A pipeline to export
# --------------------
#
# The exported graph computes in the float type of the sample it is given
# (float32 here), so the data is cast to float32 before the fit: the pipeline
# and the graph then see the same inputs. The network uses two of skbp's
# additions to scikit-learn's MLP, the ``silu`` activation and dropout; dropout
# only acts in training, so neither prediction nor the graph has it.

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

# %%
# The conversion
# --------------
#
# ``to_onnx`` reads the input's type and width from one row of the training
# data. ``zipmap=False`` makes the classifier output its probabilities as one
# matrix rather than a list of dicts, one per row.

onnx_model = skl2onnx.to_onnx(
    pipeline, X_train[:1], options={BackpropClassifier: {"zipmap": False}}
)
print(
    f"ONNX graph: {len(onnx_model.graph.node)} nodes, "
    f"{len(onnx_model.SerializeToString()) / 1024:.0f} KiB"
)

# %%
# Serving with onnxruntime
# ------------------------
#
# The graph outputs the labels and the probabilities. They agree with the
# pipeline's up to float32 round-off.

session = onnxruntime.InferenceSession(onnx_model.SerializeToString())
labels, proba = session.run(None, {session.get_inputs()[0].name: X_test})
print(f"labels equal to predict: {np.array_equal(labels, pipeline.predict(X_test))}")
difference = np.abs(proba - pipeline.predict_proba(X_test)).max()
print(f"largest difference from predict_proba: {difference:.1e} (float32)")
print(f"test accuracy served by onnxruntime: {(labels == y_test).mean():.3f}")
