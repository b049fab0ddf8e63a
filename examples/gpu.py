"""Training on a GPU through the array API
========================================

Inside ``sklearn.config_context(array_api_dispatch=True)``, a
:class:`skbp.BackpropClassifier` given torch tensors trains and predicts on
their device (a CUDA GPU here if there is one, else the CPU), keeps its
weights there, and returns torch tensors. The same data in NumPy gives the
same model: the initial weights and the shuffles come from the same
``random_state``. This example fits both and compares them.

torch is optional. Install it with ``pip install torch`` (see pytorch.org
for the build that matches your GPU). Without it the script says so and
exits (with status 0). The documentation is built without a GPU, so this
page shows the code without its output.
"""

import os
import sys
import time
import warnings

# scikit-learn's array-API dispatch needs scipy's array-API mode, which scipy
# reads when it is first imported.
os.environ.setdefault("SCIPY_ARRAY_API", "1")

try:
    import torch
except ImportError:
    print("This example needs PyTorch. Install it with:\n    pip install torch")
    sys.exit(0)

import numpy as np  # noqa: E402
import sklearn  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402

from skbp import BackpropClassifier  # noqa: E402

# %%
# The data
# --------
#
# GPUs compute fastest in float32, so the features are cast to it. The
# NumPy arrays are kept for the comparison at the end.

device = "cuda" if torch.cuda.is_available() else "cpu"
X, y = load_digits(return_X_y=True)
X = (X / 16).astype(np.float32)
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
settings = dict(hidden_layer_sizes=(128, 64), max_iter=30, random_state=0)
warnings.simplefilter("ignore", ConvergenceWarning)  # a short demo

# %%
# Fitting on the device
# ---------------------
#
# ``torch.asarray(..., device=device)`` moves the data to the device; within
# the ``config_context`` block, ``fit``, ``predict_proba`` and ``score``
# compute there.

start = time.perf_counter()
on_device = BackpropClassifier(**settings)
with sklearn.config_context(array_api_dispatch=True):
    on_device.fit(
        torch.asarray(X_train, device=device), torch.asarray(y_train, device=device)
    )
    proba = on_device.predict_proba(torch.asarray(X_test, device=device))
    accuracy = on_device.score(
        torch.asarray(X_test, device=device), torch.asarray(y_test, device=device)
    )
seconds = time.perf_counter() - start
print(
    f"trained on {device}: weights {type(on_device.coefs_[0]).__name__} on "
    f"{on_device.coefs_[0].device}, {seconds:.2f} s, test accuracy {accuracy:.3f}"
)
print(f"predict_proba returned a {type(proba).__name__} on {proba.device}")

# %%
# The same model in NumPy
# -----------------------
#
# A fit on the NumPy arrays, outside the ``config_context`` block, starts from
# the same weights and visits the rows in the same order; its probabilities
# differ from the device's by float32 round-off only.

on_host = BackpropClassifier(**settings).fit(X_train, y_train)
difference = np.abs(proba.cpu().numpy() - on_host.predict_proba(X_test)).max()
print(
    f"NumPy fit of the same data: test accuracy {on_host.score(X_test, y_test):.3f}, "
    f"largest difference in predict_proba {difference:.1e} (float32 round-off)"
)
