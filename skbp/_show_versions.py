"""``show_versions``: what a bug report needs, as ``sklearn.show_versions``.

Everything here is read, never changed: versions come from the installed
distributions' metadata (an optional library is imported only where its
devices are asked for), the BLAS from threadpoolctl.
"""

import importlib
import platform
import sys
from importlib.metadata import PackageNotFoundError, version

from threadpoolctl import threadpool_info

REQUIRED = ["skbp", "scikit-learn", "numpy", "scipy", "threadpoolctl", "joblib"]
# Each optional extra's distributions (pyproject.toml's extras).
OPTIONAL = [
    "matplotlib",
    "rich",
    "pandas",
    "dask",
    "distributed",
    "skl2onnx",
    "onnxruntime",
    "torch",
    "array-api-strict",
    "Cython",
]
COMPILED_MODULES = {
    "skbp._kernels": "fused optimizer steps, layer passes, output delta, softmax",
    "skbp._sgd_loop": "the per-example SGD loop for batch_size=1",
}


def _system_info():
    return {
        "python": sys.version.replace("\n", " "),
        "executable": sys.executable,
        "machine": platform.platform(),
    }


def _distribution_versions(names):
    versions = {}
    for name in names:
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = None
    return versions


def _compiled_kernels():
    """Whether each compiled module imports (else its NumPy path runs)."""
    status = {}
    for module, role in COMPILED_MODULES.items():
        try:
            compiled = importlib.import_module(module)
        except ImportError:
            status[module] = f"not built: the NumPy path runs ({role})"
        else:
            status[module] = f"in use ({role}){_threads(compiled)}"
    return status


def _threads(compiled):
    """How many threads a large call of a compiled module may use, if it says."""
    if not hasattr(compiled, "openmp_enabled"):
        return ""
    if not compiled.openmp_enabled():
        return "; built without OpenMP: one thread"
    threads = compiled.max_threads()
    return f"; OpenMP, up to {threads} thread{'s' if threads != 1 else ''}"


def _blas_info():
    return [
        {
            "library": entry.get("internal_api"),
            "version": entry.get("version"),
            "threading layer": entry.get("threading_layer"),
            "architecture": entry.get("architecture"),
            "threads": entry.get("num_threads"),
            "file": entry.get("filepath"),
        }
        for entry in threadpool_info()
    ]


def _torch_devices():
    """torch's devices, where torch is installed (importing it takes seconds)."""
    try:
        torch = importlib.import_module("torch")
    except ImportError:
        return None
    devices = {"cpu": "available"}
    if torch.cuda.is_available():
        for index in range(torch.cuda.device_count()):
            devices[f"cuda:{index}"] = torch.cuda.get_device_name(index)
    else:
        devices["cuda"] = "not available"
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        devices["mps"] = "available"
    return devices


def _print_section(title, entries):
    print(f"\n{title}:")
    width = max((len(key) for key in entries), default=0)
    for key, value in entries.items():
        print(f"{key:>{width + 4}}: {value}")


def show_versions():
    """Print the versions and settings a bug report needs.

    As :func:`sklearn.show_versions` does, prints the Python interpreter and
    the platform, the versions of skbp's dependencies and of its optional
    extras (``None`` where one is not installed), whether skbp's compiled
    kernels are in use or the NumPy path runs in their place, the BLAS
    libraries NumPy and scipy loaded with their number of threads, and, where
    PyTorch is installed, its devices.

    Examples
    --------
    >>> import skbp
    >>> skbp.show_versions()
    <BLANKLINE>
    System:
    ...
    Python dependencies:
    ...
    Compiled kernels:
    ...
    """
    _print_section("System", _system_info())
    _print_section("Python dependencies", _distribution_versions(REQUIRED))
    _print_section("Optional dependencies", _distribution_versions(OPTIONAL))
    _print_section("Compiled kernels", _compiled_kernels())
    for index, blas in enumerate(_blas_info(), start=1):
        _print_section(f"Thread pool {index} (threadpoolctl)", blas)
    devices = _torch_devices()
    if devices is not None:
        _print_section("torch devices", devices)
