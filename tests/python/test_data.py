"""rewire.load_dataset for names, CSV and IDX specs, and rewire.continual."""
import gzip
import os
import struct
import warnings

import numpy as np
import pytest

import rewire

FASHION = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"


@pytest.mark.parametrize("name,classes", [("spirals", 2), ("moons", 2),
                                          ("blobs", 4), ("xor", 2)])
def test_builtin_names(name, classes):
    x, y = rewire.load_dataset(name, samples=100, seed=3)
    assert x.dtype == np.float32 and x.shape == (100, 2)
    assert y.dtype == np.int32 and set(np.unique(y)) == set(range(classes))
    x2, _ = rewire.load_dataset(name, samples=100, seed=3)
    np.testing.assert_array_equal(x, x2)
    xt, _ = rewire.load_dataset(name, "test", samples=100, seed=3)
    assert not np.array_equal(x, xt)
    import pickle
    d = pickle.loads(pickle.dumps(rewire.load_dataset(name, samples=10)))
    assert d.x.shape == (10, 2) and d.name.startswith(name)


@pytest.mark.skipif(not os.path.exists(FASHION),
                    reason="dataset-fashion-mnist is not installed")
def test_fashion_mnist():
    d = rewire.load_dataset("fashion-mnist", "test")
    x, y = d
    assert x.shape == (10000, 784) and y.shape == (10000,)
    assert d.image_shape == (28, 28) and len(d.class_names) == 10
    assert 0.0 <= x.min() and x.max() <= 1.0


def test_csv(tmp_path):
    p = tmp_path / "d.csv"
    p.write_text("a,b,label\n1,2.5,0\n3,4e1,1\n5,-6,2\n")
    d = rewire.load_dataset(str(p))
    np.testing.assert_array_equal(d.x, [[1, 2.5], [3, 40], [5, -6]])
    np.testing.assert_array_equal(d.y, [0, 1, 2])
    x, y = rewire.load_dataset(str(p), label_column="first")
    np.testing.assert_array_equal(y, [1, 3, 5])
    np.testing.assert_array_equal(x, [[2.5, 0], [40, 1], [-6, 2]])
    x, y = rewire.load_dataset(str(p), regression=True)
    assert y.dtype == np.float32 and list(y) == [0, 1, 2]
    bad = tmp_path / "bad.csv"
    bad.write_text("1,2,0\n1,x,1\n")
    with pytest.raises(rewire.Error) as e:
        rewire.load_dataset(str(bad))
    assert "bad.csv" in str(e.value) and "2" in str(e.value)
    assert isinstance(e.value, ValueError)
    with pytest.raises(OSError):
        rewire.load_dataset(str(tmp_path / "none.csv"))
    # A first line taken for a header though it holds numbers (a typo in a
    # data line) is dropped with a warning; a header of names is not.
    typo = tmp_path / "typo.csv"
    typo.write_text("1,,0\n1,2,0\n3,4,1\n")
    with pytest.warns(RuntimeWarning, match="line 1 is read as a header and "
                      "not used, though 2 of its 3 fields are numbers"):
        x, y = rewire.load_dataset(str(typo))
    assert len(y) == 2
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rewire.load_dataset(str(p))


def _idx(path, data, dims, gz=False):
    head = struct.pack(">I", 0x0800 | len(dims)) + b"".join(
        struct.pack(">I", d) for d in dims)
    raw = head + bytes(data)
    if gz:
        raw = gzip.compress(raw)
    path.write_bytes(raw)


@pytest.mark.parametrize("gz", [False, True])
def test_idx_pair(tmp_path, gz):
    imgs = np.arange(5 * 3 * 2, dtype=np.uint8) * 8
    ext = ".gz" if gz else ""
    _idx(tmp_path / ("i" + ext), imgs, (5, 3, 2), gz)
    _idx(tmp_path / ("l" + ext), [0, 1, 2, 1, 0], (5,), gz)
    d = rewire.load_dataset("%s,%s" % (tmp_path / ("i" + ext),
                                       tmp_path / ("l" + ext)))
    assert d.x.shape == (5, 6) and d.image_shape == (3, 2)
    np.testing.assert_allclose(d.x.ravel(), imgs / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(d.y, [0, 1, 2, 1, 0])


def test_bad_specs():
    with pytest.raises(rewire.Error):
        rewire.load_dataset("no-such-thing")
    with pytest.raises(ValueError):
        rewire.load_dataset("spirals", split="validation")
    with pytest.raises(TypeError):
        rewire.load_dataset(3)


def test_continual_on_generated_tasks():
    seen = []
    r = rewire.continual("split-blobs:2", (16,), epochs=2, lr=0.01,
                         task_callback=seen.append)
    assert r.matrix.shape == (2, 2) and r.matrix.dtype == np.float64
    assert r.baseline.shape == (2,)
    assert len(r.task_names) == 2 and len(seen) == 2
    assert np.isfinite(r.matrix).all()
    avg, bwt, fwt = rewire.metrics(r.matrix, r.baseline)
    assert avg == pytest.approx(r.average_accuracy)
    assert bwt == pytest.approx(r.backward_transfer)
    assert fwt == pytest.approx(r.forward_transfer)
    assert isinstance(r.network, rewire.Network)


def test_continual_on_arrays_with_replay():
    rng = np.random.default_rng(0)
    tasks = []
    for t in range(3):
        x = rng.normal(size=(120, 4)).astype(np.float32)
        y = (x[:, t] > 0).astype(int) + 2 * t
        tasks.append((x[:80], y[:80], x[80:], y[80:]))
    net = rewire.Network([4, 32, 32, 6], density=0.5)
    r = rewire.continual(tasks, net, method="replay", memory=50, epochs=2,
                         task_incremental=True)
    assert r.matrix.shape == (3, 3) and r.network is net
    r = rewire.continual(tasks, (8,), method="ewc", ewc_lambda=10, epochs=1,
                         task_callback=lambda rep: False)
    assert np.isnan(r.matrix[1:]).all()  # stopped after the first task
    with pytest.raises(ValueError, match="apply to method"):
        rewire.continual(tasks, (8,), memory=10)
    with pytest.raises(ValueError, match="does not fit"):
        rewire.continual(tasks, rewire.Network([3, 4, 6]))


def test_loaded_arrays_are_64_byte_aligned():
    x, _ = rewire.load_dataset("spirals", samples=1000)
    assert x.ctypes.data % 64 == 0 and x.flags.c_contiguous
    assert x.dtype == np.float32
