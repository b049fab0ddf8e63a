"""Dropout against overfitting: training curves with and without it.

A wide network on a small, noisy problem learns its training rows by heart:
its training loss keeps falling while its loss on held-out rows turns back
up. Dropout (here half of the hidden units zeroed in each step) slows the
memorising: the held-out loss stays lower. Both curves come from
``validation_loss_curve_``, drawn with ``TrainingCurveDisplay``.

Run with ``python examples/dropout.py`` (matplotlib installed); the figure is
saved in the temporary directory.
"""

import tempfile
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no screen needed

import matplotlib.pyplot as plt  # noqa: E402
from sklearn.datasets import make_classification  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402

from skbp import BackpropClassifier, TrainingCurveDisplay  # noqa: E402

X, y = make_classification(
    n_samples=600, n_features=40, n_informative=6, flip_y=0.15, random_state=0
)
X_train, X_val, y_train, y_val = train_test_split(X, y, train_size=300, random_state=0)

fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
for ax, dropout in zip(axes, (0.0, 0.5), strict=True):
    model = BackpropClassifier(
        hidden_layer_sizes=(256, 256),
        dropout=dropout,
        early_stopping=True,  # scores X_val each epoch ...
        n_iter_no_change=200,  # ... and keeps training, to show the whole curve
        max_iter=120,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X_train, y_train, X_val=X_val, y_val=y_val)
    TrainingCurveDisplay.from_estimator(model, ax=ax)
    ax.set_title(f"dropout={dropout}")
    best = min(model.validation_loss_curve_)
    last = model.validation_loss_curve_[-1]
    print(
        f"dropout={dropout}: training loss {model.loss_curve_[-1]:.3f}, held-out loss "
        f"best {best:.3f}, last {last:.3f}; held-out accuracy "
        f"{model.best_validation_score_:.3f} (best epoch)"
    )

path = Path(tempfile.gettempdir()) / "skbp_dropout_curves.png"
fig.tight_layout()
fig.savefig(path)
print(f"curves saved to {path}")
