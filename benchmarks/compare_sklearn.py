"""Time skbp against scikit-learn's MLP at identical settings, side by side.

Every case runs both libraries in this one process, interleaved (skbp,
sklearn, sklearn, skbp, ...), and reports the median time of each, the
median of the per-repeat ratios skbp / scikit-learn (and their range), the
accuracy and final loss of both (the speed must not come from doing less),
and skbp's fraction of the "matmul floor":
the time that the same forward and backward matrix products alone take when
written into preallocated buffers, measured in every repeat between the two
libraries' runs. The machine's load average is printed before and after.
Peak memory of a fit is measured with tracemalloc, each library in a process
of its own.

Run from the repository root::

    python benchmarks/compare_sklearn.py            # a few minutes on 2 cores
    python benchmarks/compare_sklearn.py --quick    # a smoke run, seconds

Timings are not tests: nothing here asserts a speed.
"""

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
import tracemalloc
import warnings
from dataclasses import dataclass, field

import numpy as np
import sklearn
import threadpoolctl
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier

import skbp
from skbp import BackpropClassifier

N_FEATURES = 100
N_CLASSES = 10
ADAM = dict(hidden_layer_sizes=(256, 128), solver="adam", batch_size=256)


# ------------------------------------------------------------------ data


def make_data(n_samples, dtype=np.float64):
    """Standardised synthetic 10-class data with 100 features."""
    X, y = make_classification(
        n_samples=n_samples,
        n_features=N_FEATURES,
        n_informative=40,
        n_classes=N_CLASSES,
        random_state=0,
    )
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    return np.ascontiguousarray(X, dtype=dtype), y


# ------------------------------------------------------------ the floor


def matmul_floor(layer_units, batch_rows, dtype, *, backward=True, repeats=1):
    """Median time of the matrix products of one pass over ``batch_rows``.

    Called once per repeat of a case, between its timed runs (see
    :func:`run_interleaved`), so that the floor and the runs it is compared
    with see the same machine load.

    The forward products ``a @ W`` and, when ``backward``, the products of
    backpropagation (``a.T @ delta`` per layer, ``delta @ W.T`` per hidden
    layer), each written into a preallocated buffer: what a network of these
    ``layer_units`` cannot avoid computing.
    """
    rng = np.random.default_rng(0)
    shapes = list(zip(layer_units[:-1], layer_units[1:], strict=True))
    coefs = [rng.standard_normal(s).astype(dtype) for s in shapes]
    grads = [np.empty(s, dtype) for s in shapes]
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for rows in batch_rows:
            _products(coefs, grads, rows, dtype, backward, rng)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


_buffers = {}


def _products(coefs, grads, rows, dtype, backward, rng):
    key = (rows, dtype, tuple(c.shape for c in coefs))
    if key not in _buffers:
        units = [coefs[0].shape[0]] + [c.shape[1] for c in coefs]
        _buffers[key] = [rng.standard_normal((rows, u)).astype(dtype) for u in units]
    acts = _buffers[key]
    deltas = acts  # same shapes; the values do not matter to the timing
    for layer, coef in enumerate(coefs):
        np.matmul(acts[layer], coef, out=acts[layer + 1])
    if backward:
        for layer in range(len(coefs) - 1, -1, -1):
            np.matmul(acts[layer].T, deltas[layer + 1], out=grads[layer])
            if layer > 0:
                np.matmul(deltas[layer + 1], coefs[layer].T, out=deltas[layer])


def batches_of(n_samples, batch_size, n_epochs):
    """Rows per minibatch over ``n_epochs`` epochs."""
    full, rest = divmod(n_samples, batch_size)
    return ([batch_size] * full + ([rest] if rest else [])) * n_epochs


# ------------------------------------------------------------ the cases


@dataclass
class Case:
    """One benchmark: a function per library that does the timed work.

    ``run[lib]()`` does the timed work once and returns a function that
    gives ``(accuracy, loss)`` (called outside the timing).  ``floor()``
    returns the matmul-floor time of one run, or ``None``.
    """

    name: str
    goal: float
    run: dict
    floor: object = None
    times: dict = field(default_factory=lambda: {"skbp": [], "sklearn": []})
    floor_times: list = field(default_factory=list)
    quality: dict = field(default_factory=dict)


def _estimator(lib, **params):
    cls = BackpropClassifier if lib == "skbp" else MLPClassifier
    return cls(random_state=0, **params)


def _quality(model, X, y):
    return model.score(X, y), model.loss_


def fit_case(name, goal, X, y, params, n_batches):
    """A case that fits a fresh model; the floor follows ``n_batches``."""

    def runner(lib):
        def run():
            model = _estimator(lib, **params).fit(X, y)
            return lambda: _quality(model, X, y)

        return run

    def floor():
        units = (X.shape[1], *params["hidden_layer_sizes"], N_CLASSES)
        return matmul_floor(units, n_batches(), X.dtype)

    return Case(name, goal, {lib: runner(lib) for lib in ("skbp", "sklearn")}, floor)


def lbfgs_case(X, y, max_iter, goal):
    params = dict(hidden_layer_sizes=(64,), solver="lbfgs", max_iter=max_iter)
    name = f"fit, lbfgs, {X.shape[0]:,} rows"
    case = fit_case(name, goal, X, y, params, lambda: [])

    def floor():
        # One forward and backward pass over all rows per objective
        # evaluation; scipy makes about one evaluation per iteration.
        model = _estimator("skbp", **params).fit(X, y)
        units = (X.shape[1], 64, N_CLASSES)
        return matmul_floor(units, [X.shape[0]] * model.n_iter_, X.dtype)

    case.floor = floor
    return case


def partial_fit_case(X, y, n_calls, hidden, goal):
    batch = 32
    classes = np.unique(y)
    params = dict(hidden_layer_sizes=hidden, solver="adam")

    def runner(lib):
        def run():
            model = _estimator(lib, **params)
            for call in range(n_calls):
                rows = slice(call * batch, (call + 1) * batch)
                model.partial_fit(X[rows], y[rows], classes=classes)
            seen = slice(0, n_calls * batch)
            return lambda: _quality(model, X[seen], y[seen])

        return run

    def floor():
        units = (X.shape[1], *hidden, N_CLASSES)
        return matmul_floor(units, [batch] * n_calls, X.dtype)

    name = f"partial_fit, 32 rows a call, hidden {hidden}"
    return Case(name, goal, {lib: runner(lib) for lib in ("skbp", "sklearn")}, floor)


def predict_case(name, goal, models, X, n_calls):
    """Time ``predict_proba`` on ``X``, ``n_calls`` times, on fitted models."""

    def runner(lib):
        def run():
            for _ in range(n_calls):
                proba = models[lib].predict_proba(X)
            return lambda: (float(np.mean(proba.argmax(axis=1) == 0)), None)

        return run

    def floor():
        units = (X.shape[1], *ADAM["hidden_layer_sizes"], N_CLASSES)
        return matmul_floor(units, [X.shape[0]] * n_calls, X.dtype, backward=False)

    return Case(name, goal, {lib: runner(lib) for lib in ("skbp", "sklearn")}, floor)


def build_cases(quick):
    n_epochs = 1 if quick else 5
    X, y = make_data(20_000)
    X32 = X.astype(np.float32)
    adam = dict(ADAM, max_iter=n_epochs, tol=0.0, n_iter_no_change=n_epochs + 1)
    adam_batches = lambda: batches_of(X.shape[0], 256, n_epochs)  # noqa: E731
    sgd_rows = 1_000 if quick else 3_000
    sgd = dict(hidden_layer_sizes=(32,), solver="sgd", batch_size=1, max_iter=1)
    fitted = {
        lib: _estimator(lib, **dict(ADAM, max_iter=1)).fit(X[:2000], y[:2000])
        for lib in ("skbp", "sklearn")
    }
    n_calls = 100 if quick else 400
    X_large, y_large = make_data(50_000)
    # The goals are issue 13's targets.
    return [
        fit_case("fit, Adam, float64", 0.5, X, y, adam, adam_batches),
        fit_case("fit, Adam, float32", 0.4, X32, y, adam, adam_batches),
        lbfgs_case(X[:5000], y[:5000], 10 if quick else 50, 0.3),
        lbfgs_case(
            X_large[: 10_000 if quick else 50_000],
            y_large[: 10_000 if quick else 50_000],
            5 if quick else 20,
            0.35,
        ),
        fit_case(
            "fit, sgd, batch_size=1",
            0.1,
            X[:sgd_rows],
            y[:sgd_rows],
            sgd,
            lambda: [1] * sgd_rows,
        ),
        partial_fit_case(X, y, n_calls, (256, 128), 0.15),
        partial_fit_case(X, y, n_calls, (64,), 0.08),
        predict_case(
            "predict_proba, one row", 0.15, fitted, X[:1], 200 * n_calls // 100
        ),
        predict_case("predict_proba, 10,000 rows", 0.8, fitted, X[:10_000], 3),
    ]


# ------------------------------------------------------------ running


def run_interleaved(case, repeats):
    """Alternate the libraries' order each repeat; keep every time.

    The matmul floor is measured in each repeat too, between the two
    libraries' runs, rather than once afterwards: measured apart, it swung
    from 23% to 102% of skbp's time between runs of the benchmark.
    """
    for repeat in range(repeats):
        order = ("skbp", "sklearn") if repeat % 2 == 0 else ("sklearn", "skbp")
        for position, lib in enumerate(order):
            start = time.perf_counter()
            quality = case.run[lib]()
            case.times[lib].append(time.perf_counter() - start)
            case.quality[lib] = quality()
            if position == 0 and case.floor is not None:
                case.floor_times.append(case.floor())


def peak_memory_mib(lib, quick):
    """Peak traced memory of one Adam fit, in a fresh process per library."""
    command = [sys.executable, __file__, "--memory-worker", lib]
    if quick:
        command.append("--quick")
    output = subprocess.run(command, capture_output=True, text=True, check=True)
    return float(output.stdout.strip().splitlines()[-1])


def memory_worker(lib, quick):
    X, y = make_data(20_000)
    model = _estimator(lib, **dict(ADAM, max_iter=1 if quick else 2))
    tracemalloc.start()
    model.fit(X, y)
    _, peak = tracemalloc.get_traced_memory()
    print(peak / 2**20)


def machine_description():
    blas = [
        f"{info['internal_api']} {info.get('version')} ({info['num_threads']} threads)"
        for info in threadpoolctl.threadpool_info()
    ]
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            cpu = next(ln for ln in cpuinfo if ln.startswith("model name"))
            cpu = cpu.split(":", 1)[1].strip()
    except (OSError, StopIteration):
        pass
    return (
        f"{cpu}, {os.cpu_count()} cores; Python {platform.python_version()}, "
        f"NumPy {np.__version__} with {', '.join(blas)}, "
        f"scikit-learn {sklearn.__version__}, skbp {skbp.__version__}"
    )


def _format_quality(quality):
    accuracy, loss = quality
    if loss is None:
        return "-"
    return f"{accuracy:.3f} / {loss:.4f}"


def paired_ratios(case):
    """skbp's time over scikit-learn's, repeat by repeat.

    The two runs of a repeat are adjacent in time, so they see the same
    machine: this machine's speed moves by up to 1.7x between periods of
    a few seconds, which a ratio of the two medians would mix in.  The
    report quotes the median of these ratios and their range.
    """
    return [
        ours / theirs
        for ours, theirs in zip(case.times["skbp"], case.times["sklearn"], strict=True)
    ]


def report(cases, memory):
    print(
        "| case | skbp (s) | scikit-learn (s) | ratio | range | goal | matmul floor "
        "| accuracy / loss, skbp | scikit-learn |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for case in cases:
        ours = statistics.median(case.times["skbp"])
        theirs = statistics.median(case.times["sklearn"])
        ratios = paired_ratios(case)
        floor = statistics.median(case.floor_times) if case.floor_times else None
        fraction = "-" if floor is None else f"{floor / ours:.0%}"
        print(
            f"| {case.name} | {ours:.4f} | {theirs:.4f} "
            f"| {statistics.median(ratios):.2f} "
            f"| {min(ratios):.2f}-{max(ratios):.2f} "
            f"| <= {case.goal} | {fraction} | {_format_quality(case.quality['skbp'])} "
            f"| {_format_quality(case.quality['sklearn'])} |"
        )
    if memory:
        ours, theirs = memory["skbp"], memory["sklearn"]
        print(
            f"| peak memory of fit (MiB) | {ours:.1f} | {theirs:.1f} "
            f"| {ours / theirs:.2f} | <= 1.0 | - | - | - |"
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--only", default=None, help="run cases whose name has this")
    parser.add_argument("--memory-worker", choices=["skbp", "sklearn"])
    args = parser.parse_args()
    warnings.simplefilter("ignore", ConvergenceWarning)
    if args.memory_worker:
        memory_worker(args.memory_worker, args.quick)
        return
    repeats = args.repeats or (2 if args.quick else 5)
    print(machine_description())
    print(
        f"{repeats} interleaved repeats per case, the matmul floor measured in each; "
        f"medians. Load average before: {_load()}\n"
    )
    cases = build_cases(args.quick)
    if args.only:
        cases = [c for c in cases if args.only in c.name]
    for case in cases:
        run_interleaved(case, repeats)
    memory = None
    if not args.only or "memory" in args.only:
        memory = {lib: peak_memory_mib(lib, args.quick) for lib in ("skbp", "sklearn")}
    report(cases, memory)
    print(f"\nLoad average after: {_load()}")


def _load():
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} (1 min), {five:.2f} (5 min), {fifteen:.2f} (15 min)"


if __name__ == "__main__":
    main()
