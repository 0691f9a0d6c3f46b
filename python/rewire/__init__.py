"""rewire: sparse neural networks that rewire themselves while they learn.

Pure Python over ctypes on librewire.so (see _lib.py for how it is found).
NumPy is the only requirement; rewire.MLPClassifier and rewire.MLPRegressor
need scikit-learn, and Layer.to_scipy() SciPy, both imported on first use.

    import rewire
    x, y = rewire.load_dataset("fashion-mnist")
    net = rewire.Network([784, 1000, 1000, 10], epsilon=20)
    net.train(x, y, epochs=3, rewire="set")
"""
from ._lib import path as library_path
from .data import ContinualResult, Dataset, continual, load_dataset, metrics
from .dist import dist_abort, dist_finalize, dist_init, rank, ranks
from .errors import (ArgumentError, DataError, DistError, DivergedError, Error,
                     FileError, FormatError, Interrupted, OutOfMemoryError,
                     UnsupportedError)
from .network import (TRAIN_OPTIONS, Layer, Network, TrainResult, gemm_info,
                      get_threads, isa, isa_supported, set_isa, set_threads,
                      version)

__version__ = version()

__all__ = ["Network", "Layer", "TrainResult", "MLPClassifier", "MLPRegressor",
           "load_dataset", "Dataset", "continual", "ContinualResult", "metrics",
           "Error", "ArgumentError", "OutOfMemoryError", "FileError",
           "FormatError", "DataError", "DivergedError", "UnsupportedError", "DistError",
           "Interrupted", "set_threads", "get_threads", "version", "gemm_info",
           "isa", "set_isa", "isa_supported", "dist_init", "dist_finalize",
           "dist_abort", "rank", "ranks",
           "library_path", "TRAIN_OPTIONS"]


def __getattr__(name):
    # The estimators import scikit-learn, so only when asked for.
    if name in ("MLPClassifier", "MLPRegressor"):
        from . import estimators
        return getattr(estimators, name)
    raise AttributeError("module 'rewire' has no attribute %r" % name)
