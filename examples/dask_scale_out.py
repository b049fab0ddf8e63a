"""Scale out on Dask: data-parallel L-BFGS, Incremental streaming, a grid search.

Three ways to use skbp on a Dask cluster (here a small local one: two workers
with one thread each, in this process):

1. ``skbp.dask.BackpropClassifier(solver="lbfgs")`` trains data-parallel on a
   ``dask.array``: each worker computes its blocks' share of every gradient
   where the blocks live, and only parameters and gradients cross the
   network. It gives the model the single-machine fit gives.
2. ``dask_ml.wrappers.Incremental`` trains one model on a ``dask.array``
   that need not fit in memory, by calling ``partial_fit`` (sgd, adam) on its
   blocks one after the other, each block computed only when it is needed.
3. scikit-learn's ``GridSearchCV`` sends its fits to the cluster's workers
   through joblib's Dask backend (``joblib.parallel_backend("dask")``).

Dask is optional. Install it with::

    pip install "dask[array,distributed]" dask-ml

Without it the script says so and exits (with status 0). Run with
``python examples/dask_scale_out.py``.
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


def _dask_data():
    """40,000 rows x 20 features in blocks of 2,000, generated lazily.

    A real data set would come from da.from_zarr,
    dask.dataframe.read_parquet(...).to_dask_array(), etc.
    """
    rs = da.random.RandomState(0)
    X = rs.normal(size=(40_000, 20), chunks=(2_000, 20))
    # The label is a nonlinear function of the features, computed lazily too.
    y = ((X[:, 0] * X[:, 1] + X[:, 2] - 0.5 * X[:, 3] ** 2) > 0).astype(int)
    return X[:-4_000], y[:-4_000], X[-4_000:], y[-4_000:]


def data_parallel_lbfgs():
    """L-BFGS with every gradient computed on the workers that hold the rows."""
    X_train, y_train, X_test, y_test = _dask_data()
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
    # The same model as the single-machine fit (here the rows fit in memory).
    in_memory = BackpropClassifier(**settings, random_state=0)
    in_memory.fit(X_train.compute(), y_train.compute())
    difference = max(
        abs(a - b).max() for a, b in zip(model.coefs_, in_memory.coefs_, strict=True)
    )
    print(f"   largest weight difference from the in-memory fit: {difference:.1e}")


def incremental_on_dask_array():
    """Train on a lazily generated dask array, one block per partial_fit call."""
    X_train, y_train, X_test, y_test = _dask_data()

    model = Incremental(
        BackpropClassifier(
            hidden_layer_sizes=(32,), learning_rate_init=0.01, random_state=0
        ),
        scoring="accuracy",
        shuffle_blocks=True,  # visit the blocks in random order
        random_state=0,
    )
    # Incremental passes fit's keyword arguments on to every partial_fit call;
    # the first one needs all the classes.
    model.fit(X_train, y_train, classes=[0, 1])
    fitted = model.estimator_
    print("2. Incremental(BackpropClassifier) over a dask array: block by block")
    print(
        f"   trained on {X_train.numblocks[0]} blocks of {X_train.chunks[0][0]} rows"
        f" ({fitted.t_:,} samples seen)"
    )
    # score takes dask arrays too; the blocks are computed on the workers.
    print(f"   test accuracy: {model.score(X_test, y_test):.4f}")


def grid_search_on_dask():
    """Run GridSearchCV's fits on the Dask workers."""
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, random_state=0, stratify=y
    )
    pipeline = make_pipeline(
        StandardScaler(), BackpropClassifier(max_iter=50, random_state=0)
    )
    search = GridSearchCV(
        pipeline,
        {
            "backpropclassifier__hidden_layer_sizes": [(16,), (32,)],
            "backpropclassifier__alpha": [1e-4, 1.0],
        },
        cv=3,
    )
    with joblib.parallel_backend("dask"):
        search.fit(X_train, y_train)
    print("3. GridSearchCV through joblib's Dask backend")
    best = {k.split("__")[1]: v for k, v in search.best_params_.items()}
    print(f"   best parameters: {best}")
    print(f"   best CV accuracy: {search.best_score_:.4f}")
    print(f"   test accuracy: {search.score(X_test, y_test):.4f}")


def main():
    # Short demo fits stop at max_iter on purpose. The workers are threads of
    # this process (processes=False), so this filter covers them too.
    warnings.simplefilter("ignore", ConvergenceWarning)
    with (
        LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=False,
            # No web dashboard. The scheduler still serves a small HTTP
            # endpoint (health checks); it listens on this machine only, on a
            # free port, not on all interfaces at 8787.
            dashboard_address=None,
            scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
        ) as cluster,
        Client(cluster) as client,
    ):
        print(f"Dask cluster with {len(client.scheduler_info()['workers'])} workers")
        data_parallel_lbfgs()
        incremental_on_dask_array()
        grid_search_on_dask()


if __name__ == "__main__":
    main()
