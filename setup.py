"""Build the compiled kernels; everything else is in pyproject.toml."""

from Cython.Build import cythonize
from setuptools import Extension, setup

# No fast-math, and no contraction of a * b + c into one fused multiply-add:
# the kernels must round exactly as the NumPy expressions they replace.
# -fno-math-errno: sqrt may then be vectorised (errno is never read; NumPy
# does not set it either), which changes no result.
COMPILE_ARGS = [
    "-O3",
    "-ffp-contract=off",
    "-fno-fast-math",
    "-fno-math-errno",
    # Vectorise loops over many arrays (the Adam step reads and writes six):
    # the loop is versioned on run-time checks that they do not overlap.
    "--param=vect-max-version-for-alias-checks=64",
]

setup(
    ext_modules=cythonize(
        [
            Extension(
                name,
                [f"skbp/{name.split('.')[-1]}.pyx"],
                extra_compile_args=COMPILE_ARGS,
            )
            for name in ("skbp._kernels", "skbp._sgd_loop")
        ],
        compiler_directives={"language_level": 3},
    )
)
