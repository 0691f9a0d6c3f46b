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


def test_images_standardise_as_in_the_cli(cli, tmp_path):
    # IDX images: the CLI's standardisation treats pixels together
    # (rw_dataset_set_image_shape), and so does training on load_dataset's x.
    import struct
    rng = np.random.default_rng(0)
    n = 300
    imgs = (rng.random((n, 4, 4)) ** 3 * 255).astype(np.uint8)
    imgs[:, 0, :] = 0  # blank border pixels, as in Fashion-MNIST
    labels = (imgs[:, 2].sum(1) > imgs[:, 3].sum(1)).astype(np.uint8)
    (tmp_path / "i").write_bytes(struct.pack(">IIII", 0x803, n, 4, 4) +
                                 imgs.tobytes())
    (tmp_path / "l").write_bytes(struct.pack(">II", 0x801, n) +
                                 labels.tobytes())
    spec = "%s,%s" % (tmp_path / "i", tmp_path / "l")
    m = tmp_path / "cli.rwm"
    _run(cli, "train", "--data", spec, "--test", spec, "--hidden", "16",
         "--epochs", "2", "--threads", "1", "--quiet", "--save", str(m))
    x, y = rewire.load_dataset(spec)
    net = rewire.Network([16, 16, 2])
    net.train(x, y, epochs=2, threads=1)
    ref = rewire.Network.load(m)
    np.testing.assert_array_equal(net.input_transform[1], ref.input_transform[1])
    np.testing.assert_array_equal(net.forward(x), ref.forward(x))
    plain = rewire.Network([16, 16, 2])
    plain.fit_standardize(x, image_shape=None)
    assert not np.array_equal(plain.input_transform[1], ref.input_transform[1])
    with pytest.raises(ValueError):
        plain.fit_standardize(x, image_shape=(3, 3))
