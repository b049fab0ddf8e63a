"""Examples with optional dependencies behave when those are missing.

tests/test_examples.py runs every example with whatever is installed; where
Dask is installed, that never takes the dask example's "not installed" path,
so this test hides Dask from a fresh interpreter and runs it there.
"""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# A None entry in sys.modules makes ``import name`` raise ImportError.
_RUN_WITHOUT_DASK = """
import runpy, sys
for name in ("dask", "dask.array", "distributed", "dask_ml"):
    sys.modules[name] = None
runpy.run_path(sys.argv[1], run_name="__main__")
"""


def test_dask_example_exits_cleanly_without_dask():
    completed = subprocess.run(
        [
            sys.executable,
            "-c",
            _RUN_WITHOUT_DASK,
            str(ROOT / "examples" / "dask_scale_out.py"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr
    assert "pip install" in completed.stdout
    assert "dask-ml" in completed.stdout
