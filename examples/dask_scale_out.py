"""Scaling out on Dask
===================

Three ways to use skbp on a Dask cluster (here a small local one: two
workers with one thread each, in this process):

1. :class:`skbp.dask.BackpropClassifier` with ``solver="lbfgs"`` trains
   data-parallel on a ``dask.array``: each worker computes its blocks' share
   of every gradient where the blocks live, and only parameters and gradients
   cross the network. It gives the model the single-machine fit gives.
2. ``dask_ml.wrappers.Incremental`` trains one model on a ``dask.array``
   that need not fit in memory, by calling ``partial_fit`` (sgd, adam) on its
   blocks one after the other, each block computed only when it is needed.
3. scikit-learn's ``GridSearchCV`` sends its fits to the cluster's workers
   through joblib's Dask backend (``joblib.parallel_backend("dask")``).

Dask is optional. Install it with::

    pip install "dask[array,distributed]" dask-ml

Without it the script says so and exits (with status 0). The documentation
is built without starting a cluster, so this page shows the code without its
output.
"""

import sys
import time
import warnings

REQUIRED = ("dask", "dask.array", "distributed", "dask_ml")

missing = []
for module in REQUIRED:
    try:
        __import__(module)
    except ImportError:
        missing.append(module)
if missing:
    print(
        f"This example needs Dask; missing: {', '.join(missing)}. Install with:\n"
        '    pip install "dask[array,distributed]" dask-ml'
    )
    sys.exit(0)

import dask.array as da  # noqa: E402
import joblib  # noqa: E402
from dask_ml.wrappers import Incremental  # noqa: E402
from distributed import Client, LocalCluster  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.model_selection import GridSearchCV, train_test_split  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

import skbp.dask  # noqa: E402
from skbp import BackpropClassifier  # noqa: E402

# %%
# A local cluster
# ---------------
#
# On a real cluster, ``Client("scheduler-address:8786")`` connects to its
# scheduler instead. Short demo fits stop at ``max_iter`` on purpose; the
# workers are threads of this process (``processes=False``), so one warning
# filter covers them too.

warnings.simplefilter("ignore", ConvergenceWarning)
cluster = LocalCluster(
    n_workers=2,
    threads_per_worker=1,
    processes=False,
    # No web dashboard. The scheduler still serves a small HTTP endpoint
    # (health checks); it listens on this machine only, on a free port, not on
    # all interfaces at 8787.
    dashboard_address=None,
    scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
)
client = Client(cluster)
print(f"Dask cluster with {len(client.scheduler_info()['workers'])} workers")

# %%
# A data set in blocks
# --------------------
#
# 40,000 rows of 20 features in blocks of 2,000, generated lazily; the label
# is a nonlinear function of the features, computed lazily too. A real data
# set would come from ``da.from_zarr``,
# ``dask.dataframe.read_parquet(...).to_dask_array()``, etc. The last 4,000
# rows are the test set.

random_state = da.random.RandomState(0)
X = random_state.normal(size=(40_000, 20), chunks=(2_000, 20))
y = ((X[:, 0] * X[:, 1] + X[:, 2] - 0.5 * X[:, 3] ** 2) > 0).astype(int)
X_train, y_train, X_test, y_test = X[:-4_000], y[:-4_000], X[-4_000:], y[-4_000:]

# %%
# 1. Data-parallel L-BFGS
# -----------------------
#
# Every gradient is computed on the workers that hold the rows; the
# optimizer's steps run on the client.

settings = dict(hidden_layer_sizes=(32,), solver="lbfgs", max_iter=40)
start = time.perf_counter()
model = skbp.dask.BackpropClassifier(**settings, random_state=0)
model.fit(X_train, y_train)
seconds = time.perf_counter() - start
print("1. skbp.dask.BackpropClassifier(solver='lbfgs'): data-parallel")
print(f"   {model.n_iter_} iterations in {seconds:.1f} s on the cluster")
# predict returns a dask array, computed block by block on the workers.
accuracy = (model.predict(X_test) == y_test).mean().compute()
print(f"   test accuracy: {accuracy:.4f}")

# %%
# The same settings on the rows gathered in memory (here they fit) give the
# same model, up to floating-point round-off.

in_memory = BackpropClassifier(**settings, random_state=0)
in_memory.fit(X_train.compute(), y_train.compute())
difference = max(
    abs(a - b).max() for a, b in zip(model.coefs_, in_memory.coefs_, strict=True)
)
print(f"   largest weight difference from the in-memory fit: {difference:.1e}")

# %%
# 2. Streaming the blocks with ``Incremental``
# --------------------------------------------
#
# ``Incremental`` passes ``fit``'s keyword arguments on to every
# ``partial_fit`` call; the first one needs all the classes.

incremental = Incremental(
    BackpropClassifier(
        hidden_layer_sizes=(32,), learning_rate_init=0.01, random_state=0
    ),
    scoring="accuracy",
    shuffle_blocks=True,  # visit the blocks in random order
    random_state=0,
)
incremental.fit(X_train, y_train, classes=[0, 1])
print("2. Incremental(BackpropClassifier) over a dask array: block by block")
print(
    f"   trained on {X_train.numblocks[0]} blocks of {X_train.chunks[0][0]} rows"
    f" ({incremental.estimator_.t_:,} samples seen)"
)
# score takes dask arrays too; the blocks are computed on the workers.
print(f"   test accuracy: {incremental.score(X_test, y_test):.4f}")

# %%
# 3. A grid search on the workers
# -------------------------------
#
# Inside ``joblib.parallel_backend("dask")``, the fits of ``GridSearchCV``
# (and of anything else that parallelises through joblib) run on the cluster.
# The data here is small and in memory; each worker receives a copy.

X_digits, y_digits = load_digits(return_X_y=True)
X_digits_train, X_digits_test, y_digits_train, y_digits_test = train_test_split(
    X_digits, y_digits, test_size=0.25, random_state=0, stratify=y_digits
)
search = GridSearchCV(
    make_pipeline(StandardScaler(), BackpropClassifier(max_iter=50, random_state=0)),
    {
        "backpropclassifier__hidden_layer_sizes": [(16,), (32,)],
        "backpropclassifier__alpha": [1e-4, 1.0],
    },
    cv=3,
)
with joblib.parallel_backend("dask"):
    search.fit(X_digits_train, y_digits_train)
print("3. GridSearchCV through joblib's Dask backend")
best = {name.split("__")[1]: value for name, value in search.best_params_.items()}
print(f"   best parameters: {best}")
print(f"   best CV accuracy: {search.best_score_:.4f}")
print(f"   test accuracy: {search.score(X_digits_test, y_digits_test):.4f}")

# %%
# Shutting down
# -------------
#
# Closing the client, then the cluster, stops the workers and the scheduler.

client.close()
cluster.close()
