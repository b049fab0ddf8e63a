"""What data-parallel L-BFGS on Dask costs, against the single-machine fit.

For growing numbers of rows, one process runs, interleaved:

- the single-machine objective: ``loss_and_grad`` over all rows in memory,
  as ``skbp.BackpropClassifier(solver="lbfgs")`` evaluates it;
- the cluster objective of ``skbp.dask``, on a ``LocalCluster`` whose workers
  hold the rows, split into its phases: the broadcast of the parameters, the
  blocks' shares (scheduling plus compute on the workers), and the tree sum
  back to the client;
- a whole fit (``max_iter`` iterations) both ways.

It reports medians per evaluation and the fixed cost per evaluation (what is
left once the compute is taken out), from which the README derives what a
cluster of N machines would give.  On 2 cores the cluster cannot win: its two
workers share the cores the single-machine fit uses alone.

Run from the repository root (Dask installed)::

    python benchmarks/dask_scaling.py            # about 2 minutes on 2 cores
    python benchmarks/dask_scaling.py --quick    # a smoke run

Timings are not tests: nothing here asserts a speed.
"""

import argparse
import logging
import os
import statistics
import time
import warnings

import dask
import dask.array as da
import distributed
import numpy as np
from sklearn.exceptions import ConvergenceWarning

import skbp
import skbp.dask
from skbp._activations import ACTIVATIONS
from skbp._losses import get_output_layer
from skbp._network import Network, loss_and_grad
from skbp.dask import _block_share, _tree_sum

N_FEATURES = 50
HIDDEN = (64,)
N_BLOCKS = 8


def _network():
    output = get_output_layer("log_loss", "logistic")
    return Network(
        (N_FEATURES, *HIDDEN, 1), (ACTIVATIONS["relu"],) * len(HIDDEN), output
    )


def _data(client, n_rows):
    """Rows made on the workers (and a copy in memory for the local fit)."""
    rows_per_block = -(-n_rows // N_BLOCKS)
    X = da.random.RandomState(0).normal(
        size=(n_rows, N_FEATURES), chunks=(rows_per_block, N_FEATURES)
    )
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    X, y = client.persist([X, y])
    return X, y


def _blocks(client, X, y):
    """The encoded blocks on the workers, as skbp.dask prepares them."""
    Y = y[:, None].astype(bool)
    pairs = [
        dask.delayed(tuple)([xb, yb, None])
        for xb, yb in zip(X.to_delayed().ravel(), Y.to_delayed().ravel(), strict=True)
    ]
    return client.compute(pairs)


def _cluster_evaluation(client, blocks, network, theta, weight_total):
    """One evaluation of the cluster objective; seconds of each phase."""
    start = time.perf_counter()
    [theta_future] = client.scatter([theta], broadcast=True, hash=False)
    scattered = time.perf_counter()
    shares = client.map(
        _block_share,
        blocks,
        theta=theta_future,
        network=network,
        weight_total=weight_total,
        pure=False,
    )
    distributed.wait(shares)
    computed = time.perf_counter()
    total = _tree_sum(client, shares).result()
    reduced = time.perf_counter()
    del shares, theta_future
    assert np.isfinite(total[0])
    return {
        "broadcast": scattered - start,
        "blocks": computed - scattered,
        "reduce": reduced - computed,
        "total": reduced - start,
    }


def _local_evaluation(X, y, network, theta):
    start = time.perf_counter()
    loss_and_grad(theta, X, y, network=network, alpha=1e-4)
    return time.perf_counter() - start


def _fit_seconds(estimator, X, y):
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        estimator.fit(X, y)
    return time.perf_counter() - start, estimator.n_iter_


def measure(client, n_rows, repeats, max_iter):
    network = _network()
    X, y = _data(client, n_rows)
    blocks = _blocks(client, X, y)
    distributed.wait(blocks)
    X_local, y_local = X.compute(), y.compute()
    Y_local = y_local[:, None].astype(bool)
    theta = network.init_parameters(np.random.RandomState(0), np.float64)
    local, cluster = [], []
    for _ in range(repeats):
        local.append(_local_evaluation(X_local, Y_local, network, theta))
        cluster.append(_cluster_evaluation(client, blocks, network, theta, n_rows))
    settings = dict(hidden_layer_sizes=HIDDEN, solver="lbfgs", max_iter=max_iter)
    fit_local = _fit_seconds(skbp.BackpropClassifier(**settings), X_local, y_local)
    fit_cluster = _fit_seconds(skbp.dask.BackpropClassifier(**settings), X, y)
    del blocks
    phases = {key: statistics.median(c[key] for c in cluster) for key in cluster[0]}
    return statistics.median(local), phases, fit_local, fit_cluster


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--max-iter", type=int, default=10)
    args = parser.parse_args()
    sizes = (5_000, 20_000) if args.quick else (10_000, 50_000, 200_000)
    repeats = 2 if args.quick else args.repeats
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.ERROR,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        print(
            f"skbp {skbp.__version__}, dask {dask.__version__}; LocalCluster: 2 "
            f"worker processes x 1 thread on {os.cpu_count()} cores; load "
            f"{os.getloadavg()}"
        )
        print(
            f"{N_FEATURES} features, hidden {HIDDEN}, {N_BLOCKS} blocks, medians of "
            f"{repeats} evaluations; fits of {args.max_iter} L-BFGS iterations\n"
        )
        print(
            "| rows | local eval (ms) | cluster eval (ms) | broadcast | blocks | "
            "reduce | fixed cost (ms) | local fit (s) | cluster fit (s) |"
        )
        print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for n_rows in sizes:
            local, phases, fit_local, fit_cluster = measure(
                client, n_rows, repeats, args.max_iter
            )
            # The blocks' compute, spread over 2 workers, is at best half the
            # local evaluation: the rest of the cluster's time is fixed cost.
            fixed = phases["total"] - local / 2
            ms = {key: 1e3 * value for key, value in phases.items()}
            print(
                f"| {n_rows:,} | {1e3 * local:.1f} | {ms['total']:.1f} | "
                f"{ms['broadcast']:.1f} | {ms['blocks']:.1f} | {ms['reduce']:.1f} | "
                f"{1e3 * fixed:.1f} | {fit_local[0]:.2f} ({fit_local[1]} it) | "
                f"{fit_cluster[0]:.2f} ({fit_cluster[1]} it) |"
            )
        print(f"\nload after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
