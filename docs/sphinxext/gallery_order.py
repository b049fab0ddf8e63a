"""The order of the gallery's examples: a reader's path, not the alphabet.

sphinx-gallery imports this by name (docs/conf.py's
``within_subsection_order``), so the key lives in a module of its own.
"""

READING_ORDER = [
    "quickstart.py",
    "plot_activation_boundaries.py",
    "plot_activation_per_layer.py",
    "imbalanced.py",
    "training_curves.py",
    "plot_early_stopping_scoring.py",
    "plot_robust_and_quantile_regression.py",
    "dropout.py",
    "plot_hidden_embedding.py",
    "grid_search.py",
    "out_of_core.py",
    "onnx_export.py",
    "gpu.py",
    "dask_scale_out.py",
]


class ReadingOrder:
    """Sort key of sphinx-gallery: a file's place in ``READING_ORDER``.

    Files not listed come after the listed ones, in alphabetical order.

    Parameters
    ----------
    src_dir : str
        The gallery's source directory (given by sphinx-gallery, unused).
    """

    def __init__(self, src_dir):
        self.src_dir = src_dir

    def __call__(self, filename):
        if filename in READING_ORDER:
            return (READING_ORDER.index(filename), filename)
        return (len(READING_ORDER), filename)

    def __repr__(self):
        return "ReadingOrder"
