"""Shared fixtures of the Python tests (run with Debian's /usr/bin/python3).

The package is imported from python/ of this checkout. REWIRE_LIBRARY picks
the library (scripts/test.sh and ctest set it to their build's), REWIRE_CLI
the command-line tool (default: `rewire` beside the library)."""
import os
import sys

import numpy as np
import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "python"))

import rewire  # noqa: E402

# Two threads at most, as the C tests: results are then reproducible and the
# tests leave the machine to others.
rewire.set_threads(min(2, os.cpu_count() or 1))


def pytest_sessionstart(session):
    # A ctypes structure that no longer matches rewire.h makes the library
    # read garbage: stop before any test calls it.
    sys.path.insert(0, os.path.dirname(__file__))
    import test_abi
    bad = test_abi.check_or_none()
    if bad:
        pytest.exit("python/rewire/_lib.py no longer matches include/rewire.h "
                    "(update its structures): " + "; ".join(bad), returncode=1)


@pytest.fixture(scope="session")
def cli():
    path = os.environ.get("REWIRE_CLI") or os.path.join(
        os.path.dirname(os.path.abspath(rewire.library_path)), "rewire")
    if not os.access(path, os.X_OK):
        pytest.skip("the rewire CLI is not at %s (set REWIRE_CLI)" % path)
    return path


@pytest.fixture(scope="session")
def spirals():
    x, y = rewire.load_dataset("spirals", samples=600)
    xt, yt = rewire.load_dataset("spirals", "test", samples=600)
    return x, y, xt, yt


@pytest.fixture
def trained(spirals):
    x, y, xt, yt = spirals
    net = rewire.Network([2, 32, 32, 2], epsilon=4, seed=3)
    net.train(x, y, epochs=4, lr=0.01)
    return net


@pytest.fixture
def rng():
    return np.random.default_rng(0)
