"""Models move between Python and the CLI with identical predictions, and
the same options train the same network in both."""
import subprocess

import numpy as np
import pytest

import rewire

ARGS = ["--hidden", "32,32", "--epsilon", "4", "--rewire", "set",
        "--epochs", "3", "--seed", "5", "--lr", "0.01", "--threads", "1"]


def _run(cli, *args):
    return subprocess.run([cli, *args], check=True, capture_output=True,
                          text=True).stdout


def _cli_proba(cli, model, data="spirals"):
    out = _run(cli, "predict", "--model", str(model), "--data", data, "--proba")
    return np.array([[float(v) for v in line.split(",")]
                     for line in out.splitlines()])


def test_python_model_in_the_cli(cli, trained, tmp_path):
    m = tmp_path / "py.rwm"
    trained.save(m)
    x, _ = rewire.load_dataset("spirals", "test")  # what predict reads
    labels = np.array(_run(cli, "predict", "--model", str(m), "--data",
                           "spirals").split(), int)
    np.testing.assert_array_equal(labels, trained.predict(x))
    np.testing.assert_allclose(_cli_proba(cli, m), trained.predict_proba(x),
                               rtol=1e-5, atol=1e-6)


def test_cli_model_in_python(cli, tmp_path):
    m = tmp_path / "cli.rwm"
    _run(cli, "train", "--data", "spirals", *ARGS, "--quiet", "--save", str(m))
    net = rewire.Network.load(m)
    x, _ = rewire.load_dataset("spirals", "test")  # what predict reads
    labels = np.array(_run(cli, "predict", "--model", str(m), "--data",
                           "spirals").split(), int)
    np.testing.assert_array_equal(net.predict(x), labels)
    np.testing.assert_allclose(net.predict_proba(x), _cli_proba(cli, m),
                               rtol=1e-5, atol=1e-6)


def test_same_options_train_the_same_network(cli, tmp_path):
    m = tmp_path / "cli.rwm"
    _run(cli, "train", "--data", "spirals", *ARGS, "--quiet", "--save", str(m))
    x, y = rewire.load_dataset("spirals", seed=5)
    net = rewire.Network([2, 32, 32, 2], epsilon=4, seed=5)
    net.train(x, y, epochs=3, rewire="set", lr=0.01, threads=1)
    from_cli = rewire.Network.load(m)
    np.testing.assert_array_equal(net.forward(x), from_cli.forward(x))
    for a, b in zip(net.layers, from_cli.layers):
        assert (a.to_scipy() != b.to_scipy()).nnz == 0
