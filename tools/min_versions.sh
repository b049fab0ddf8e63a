#!/usr/bin/env bash
# Test skbp against the oldest versions of its dependencies that it declares.
#
# Run from the repository root:
#
#     tools/min_versions.sh
#
# It reads the floors from pyproject.toml ([project] dependencies, each a
# plain "name>=version"), pins every one of them with "==" in a fresh
# virtualenv, builds skbp's compiled kernels there and runs the core tests.
# A floor is only as good as this run: raise one here only with the reason.
# Why the floors are what they are:
#   - scikit-learn 1.9.1: 1.9.0 routes no metadata from a Pipeline's
#     fit_transform to a step that maps only "fit" (HiddenLayerEmbedding's
#     routing; tests/test_embedding.py), fixed in 1.9.1.
#   - numpy 1.24.1 and threadpoolctl 3.5.0: scikit-learn 1.9's own floors.
#     Under NumPy 1's value-based casting the fused Adam kernel is told the
#     rate as NumPy 1 rounds it (skbp/_optimizers.py, _kernel_rate).
#   - scipy 1.11.1: L-BFGS-B's callback(intermediate_result) and its
#     StopIteration (skbp/_lbfgs.py) are scipy 1.11's; 1.11.0 was yanked.
#     scikit-learn's array-API dispatch needs scipy >= 1.14: below that the
#     array-API tests skip and say so.
#
# The core tests: tests/ and the doctests in skbp/ (pyproject's testpaths),
# less those of the optional extras and of the docs and examples (the
# --ignore list below: the test extra's dask, onnx, matplotlib, rich and
# skops are not installed here, and the tests that need them import them
# plainly);
# torch, optional for the tests too, is skipped with pytest.importorskip.
# The test extra's pytest, hypothesis, pandas (imported by core test
# modules) and array-api-strict (cheap, and it exercises the array-API
# skips) are, at versions its floors allow next to the pins.
#
# The checkout is left untouched: its files (tracked, and untracked ones git
# does not ignore) are copied into a temporary directory, where
# "pip install -e ." builds the kernels and the tests run.
#
# Environment:
#   PYTHON            the interpreter for the virtualenv (default: the
#                     requires-python floor, e.g. python3.11, else python3)
#   MIN_VERSIONS_DIR  work directory to use and keep (default: a temporary
#                     one, removed at exit)
#   extra arguments   passed on to pytest, e.g. tools/min_versions.sh -x

set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
start=$SECONDS

# --- the floors, from pyproject.toml -----------------------------------------

read_pyproject() {
    # Prints "python <floor>", then "pin <name>==<floor>" for each run-time
    # dependency and "test <requirement>" for the test extra's core needs.
    # Anything but a plain "name>=version" dependency is an error: it could
    # not be pinned to its floor.
    "${PYTHON:-python3}" - "$root/pyproject.toml" <<'EOF'
import re
import sys
import tomllib

with open(sys.argv[1], "rb") as f:
    project = tomllib.load(f)["project"]
floor = re.fullmatch(r">=\s*(\d+\.\d+)", project["requires-python"].strip())
if not floor:
    sys.exit(f"requires-python is not '>=X.Y': {project['requires-python']!r}")
print("python", floor.group(1))
for requirement in project["dependencies"]:
    match = re.fullmatch(r"([A-Za-z0-9_.-]+)\s*>=\s*([0-9][0-9A-Za-z.]*)", requirement)
    if not match:
        sys.exit(f"dependency is not 'name>=version': {requirement!r}")
    print(f"pin {match.group(1)}=={match.group(2)}")
core = {"pytest", "hypothesis", "pandas", "array-api-strict"}
found = set()
for requirement in project["optional-dependencies"]["test"]:
    name = re.match(r"[A-Za-z0-9_.-]+", requirement).group(0)
    if name in core:
        found.add(name)
        print("test", requirement)
if found != core:
    sys.exit(f"the test extra lacks {sorted(core - found)}")
EOF
}

floors=$(read_pyproject)
python_floor=$(awk '$1 == "python" {print $2}' <<<"$floors")
mapfile -t pins < <(awk '$1 == "pin" {print $2}' <<<"$floors")
mapfile -t test_needs < <(awk '$1 == "test" {print $2}' <<<"$floors")

if [[ -z ${PYTHON:-} ]]; then
    PYTHON=$(command -v "python$python_floor" || command -v python3)
fi

# --- a fresh virtualenv and a copy of the checkout ---------------------------

if [[ -n ${MIN_VERSIONS_DIR:-} ]]; then
    work=$MIN_VERSIONS_DIR
    rm -rf "$work/venv" "$work/src"
    mkdir -p "$work"
else
    work=$(mktemp -d "${TMPDIR:-/tmp}/skbp-min-versions.XXXXXX")
    trap 'rm -rf "$work"' EXIT
fi
mkdir "$work/src"
if git -C "$root" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    git -C "$root" ls-files -z --cached --others --exclude-standard |
        (cd "$root" && xargs -0 -r sh -c \
            'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh) |
        tar -C "$root" --null -T - -cf - | tar -C "$work/src" -xf -
else
    tar -C "$root" -cf - --exclude='./.venv*' --exclude=./build \
        --exclude=./dist --exclude='*.egg-info' --exclude=__pycache__ \
        --exclude='*.so' --exclude=./skbp/_kernels.c \
        --exclude=./skbp/_sgd_loop.c --exclude=./.git . | tar -C "$work/src" -xf -
fi

"$PYTHON" -m venv "$work/venv"
py=$work/venv/bin/python
export PIP_DISABLE_PIP_VERSION_CHECK=1
"$py" -m pip install --quiet --upgrade pip

printf '%s\n' "${pins[@]}" >"$work/constraints.txt"
echo "== pins (pyproject.toml's floors)"
cat "$work/constraints.txt"

# The pins are constraints for every install below, skbp's own included: pip
# refuses (ResolutionImpossible) if a floor and a pin disagree, and nothing
# may move a pinned package off its floor.
"$py" -m pip install --quiet -c "$work/constraints.txt" \
    "${pins[@]%%==*}" "${test_needs[@]}"
(cd "$work/src" && "$py" -m pip install --quiet -c "$work/constraints.txt" -e .)
"$py" -m pip check

# The build goes on without the kernels where it cannot compile them: here
# they must be built, and be the ones under test.
(cd "$work/src" && "$py" - "${pins[@]}" <<'EOF'
import importlib
import sys
from importlib.metadata import version
from pathlib import Path

import skbp

assert Path(skbp.__file__).resolve().parent == Path.cwd() / "skbp", skbp.__file__
for module in ("skbp._kernels", "skbp._sgd_loop"):
    importlib.import_module(module)
for pin in sys.argv[1:]:
    name, wanted = pin.split("==")
    assert version(name) == wanted, f"{name} {version(name)} is not the pin {wanted}"
EOF
)

echo "== versions under test"
"$py" - <<'EOF'
import platform
from importlib.metadata import version

print(f"python: {platform.python_version()}")
for name in (
    "numpy", "scipy", "scikit-learn", "threadpoolctl", "joblib", "narwhals",
    "pytest", "hypothesis", "pandas", "array-api-strict",
):
    print(f"{name}: {version(name)}")
EOF

# --- the core tests ----------------------------------------------------------

echo "== pytest"
cd "$work/src"
status=0
"$py" -m pytest -q -p no:cacheprovider -ra tests skbp \
    --ignore=skbp/dask.py \
    --ignore=skbp/onnx.py \
    --ignore=tests/test_dask.py \
    --ignore=tests/test_dask_dropout.py \
    --ignore=tests/test_onnx.py \
    --ignore=tests/test_display.py \
    --ignore=tests/test_progress_bar.py \
    --ignore=tests/test_skops.py \
    --ignore=tests/test_examples.py \
    --ignore=tests/test_examples_optional.py \
    --ignore=tests/test_docs.py \
    "$@" || status=$?

echo "== $((SECONDS - start)) s, pytest exit status $status"
exit "$status"
