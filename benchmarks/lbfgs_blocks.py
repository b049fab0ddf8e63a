"""How many rows per block the L-BFGS objective should take, measured.

skbp sums the L-BFGS objective over blocks of ``OBJECTIVE_BLOCK_ROWS`` rows
(``skbp/_lbfgs.py``), so that its buffers hold one block whatever the number
of rows.  This script times an L-BFGS fit for several block sizes, one pass
over all rows, and scikit-learn's MLP, interleaved in one process after a
warm-up, and prints the median time of each and its ratio to scikit-learn's.

Run from the repository root::

    python benchmarks/lbfgs_blocks.py            # about two minutes on 2 cores
    python benchmarks/lbfgs_blocks.py --quick    # seconds

Timings are not tests: nothing here asserts a speed.
"""

import argparse
import os
import statistics
import time
import warnings

from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier

import skbp._lbfgs
from skbp import BackpropClassifier

BLOCK_ROWS = [512, 1024, 2048, 4096, 16384, None]  # None: one pass


def make_data(n_samples):
    """Standardised 10-class data with 100 features (compare_sklearn.py's)."""
    X, y = make_classification(
        n_samples=n_samples,
        n_features=100,
        n_informative=40,
        n_classes=10,
        random_state=0,
    )
    return (X - X.mean(axis=0)) / X.std(axis=0), y


def fit_seconds(contender, X, y, max_iter):
    """Seconds of one L-BFGS fit with hidden (64,), as compare_sklearn.py's case."""
    params = dict(hidden_layer_sizes=(64,), solver="lbfgs", max_iter=max_iter)
    if contender == "sklearn":
        model = MLPClassifier(**params, random_state=0)
    else:
        skbp._lbfgs.OBJECTIVE_BLOCK_ROWS = contender or X.shape[0]
        model = BackpropClassifier(**params, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start = time.perf_counter()
        model.fit(X, y)
        return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    rows, repeats, max_iter = args.rows, args.repeats, 20
    if args.quick:
        rows, repeats, max_iter = 10_000, 1, 3
    X, y = make_data(rows)
    contenders = ["sklearn", *BLOCK_ROWS]
    print(f"{os.cpu_count()} cores; load average before {os.getloadavg()}")
    print(f"{rows:,} x 100 float64, hidden (64,), {max_iter} L-BFGS iterations")
    for contender in contenders:  # warm-up: first touches of fresh memory
        fit_seconds(contender, X, y, 1)
    times = {contender: [] for contender in contenders}
    for repeat in range(repeats):
        order = contenders if repeat % 2 == 0 else contenders[::-1]
        for contender in order:
            times[contender].append(fit_seconds(contender, X, y, max_iter))
    sklearn = statistics.median(times["sklearn"])
    print(f"load average after {os.getloadavg()}")
    print("| rows per block | median (s) | / scikit-learn |")
    print("| ---: | ---: | ---: |")
    for contender in contenders:
        median = statistics.median(times[contender])
        name = {"sklearn": "scikit-learn", None: "one pass"}.get(contender, contender)
        print(f"| {name} | {median:.3f} | {median / sklearn:.2f} |")


if __name__ == "__main__":
    main()
