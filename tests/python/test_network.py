"""rewire.Network: creation, training options, inference, files, layers,
plasticity, callbacks and Ctrl-C."""
import os
import pickle
import signal

import numpy as np
import pytest

import rewire
from rewire import _arrays
from rewire.network import _Data


def test_create_dense_and_sparse():
    dense = rewire.Network([4, 8, 3])
    assert (dense.inputs, dense.outputs, dense.classes) == (4, 3, 3)
    assert dense.layer_sizes == [4, 8, 3]
    assert not dense.sparse
    assert dense.connections == 4 * 8 + 8 * 3
    sparse = rewire.Network([20, 30, 30, 3], density=0.25)
    kinds = [l.kind for l in sparse.layers]
    assert kinds == ["sparse", "sparse", "dense"]
    assert sparse.sparse
    reg = rewire.Network([3, 5, 2], loss="mse")
    assert reg.classes == 0 and reg.loss == "mse"
    assert [l.activation for l in reg.layers] == ["relu", "identity"]


@pytest.mark.parametrize("kw", [dict(epsilon=3), dict(erk=0.3),
                                dict(density=0.2, sparse_output=True),
                                dict(sparse=True)])
def test_sparse_options(kw):
    net = rewire.Network([300, 400, 5], **kw)
    assert any(l.kind == "sparse" for l in net.layers)


def test_bad_network_arguments():
    with pytest.raises(ValueError, match="at least the inputs"):
        rewire.Network([4])
    with pytest.raises(ValueError, match="layer size"):
        rewire.Network([4, 0, 2])
    with pytest.raises(ValueError, match="activation"):
        rewire.Network([4, 2], activation="swish")
    with pytest.raises(ValueError, match="one of epsilon"):
        rewire.Network([4, 8, 2], epsilon=2, density=0.5)
    with pytest.raises(ValueError, match="hidden layers"):
        rewire.Network([4, 2], sparse=True)
    with pytest.raises(ValueError):
        rewire.Network([4] * 20)


def test_train_learns_and_reports(spirals):
    x, y, xt, yt = spirals
    net = rewire.Network([2, 64, 64, 2], epsilon=4)
    seen = []
    r = net.train(x, y, test=(xt, yt), epochs=60, lr=0.01,
                  callback=seen.append)
    assert r.epochs == 60 and len(seen) == 60 and r.history == seen
    assert [m["epoch"] for m in seen] == list(range(1, 61))
    m = seen[-1]
    assert set(m) >= {"train_loss", "test_accuracy", "seconds", "lr",
                      "connections", "layers"}
    assert len(m["layers"]) == 3 and m["layers"][1]["dropped"] >= 0
    assert r.test_accuracy > 0.85
    ev = net.evaluate(xt, yt, confusion=True)
    assert ev["samples"] == len(yt)
    assert ev["accuracy"] == pytest.approx(r.test_accuracy)
    assert ev["confusion"].sum() == len(yt)
    p = net.predict_proba(xt)
    assert p.dtype == np.float32 and p.shape == (len(xt), 2)
    np.testing.assert_allclose(p.sum(axis=1), 1, rtol=1e-5)
    assert (net.predict(xt) == p.argmax(axis=1)).all()


def test_every_training_option_is_accepted(spirals, tmp_path):
    x, y, _, _ = spirals
    net = rewire.Network([2, 32, 32, 2], density=0.5)
    net.train(x, y, epochs=2, batch=64, optimizer="nesterov", lr=0.02,
              momentum=0.8, weight_decay=1e-4, schedule="step", lr_min=0.0,
              step_epochs=1, step_gamma=0.5, clip_grad=5.0, seed=7,
              rewire="rigl", drop_fraction=0.2, rewire_every=5,
              drop_schedule="cosine", rewire_stop=0.9, traces=True,
              trace_rate=0.02, prune="usage", prune_to=0.3, prune_start=0.1,
              prune_end=0.8, prune_every=3, usage_decay=0.01,
              permanence=True, perm_up=0.05, perm_down=0.01,
              perm_threshold=0.1, neuron_turnover=True, silent_epochs=1,
              silent_level=1e-4, regrow_neurons=True,
              checkpoint=str(tmp_path / "ck.rwm"), checkpoint_every=10,
              threads=1, beta1=0.9, beta2=0.999, adam_eps=1e-8)
    assert os.path.exists(tmp_path / "ck.rwm")
    for name in rewire.TRAIN_OPTIONS:
        assert name.replace("_", "-")  # named as the CLI's flags


def test_bad_training_options(spirals):
    x, y, _, _ = spirals
    net = rewire.Network([2, 8, 2])
    with pytest.raises(TypeError, match="unknown training option"):
        net.train(x, y, epoch=3)
    with pytest.raises(ValueError, match="epochs"):
        net.train(x, y, epochs=0)
    with pytest.raises(ValueError, match="optimizer"):
        net.train(x, y, optimizer="lbfgs")
    with pytest.raises(ValueError, match="drop_fraction"):
        net.train(x, y, drop_fraction=2.0)
    with pytest.raises(TypeError):
        net.train(x, y, lr="fast")
    with pytest.raises(ValueError, match="prune_to"):
        net.train(x, y, prune="magnitude")
    with pytest.raises(TypeError):
        net.train(x, y, callback=3)


def test_resume_from_a_checkpoint(spirals, tmp_path):
    x, y, _, _ = spirals
    ck = str(tmp_path / "run.rwm")
    full = rewire.Network([2, 16, 2], seed=2)
    full.train(x, y, epochs=3, threads=1)
    part = rewire.Network([2, 16, 2], seed=2)
    part.train(x, y, epochs=3, checkpoint=ck, threads=1,
               callback=lambda m: m["epoch"] < 2)
    resumed = rewire.Network.load(ck)
    r = resumed.train(x, y, epochs=3, resume=ck, checkpoint=ck, threads=1)
    np.testing.assert_array_equal(resumed.forward(x), full.forward(x))
    assert r.epochs == 3 and r.epochs_trained == 2  # epoch 2 stopped before its checkpoint
    # The checkpoint now holds the finished run: resuming it trains nothing.
    again = rewire.Network.load(ck)
    r = again.train(x, y, epochs=3, resume=ck, threads=1)
    assert r.epochs == 3 and r.epochs_trained == 0 and np.isnan(r.train_loss)
    np.testing.assert_array_equal(again.forward(x), full.forward(x))


def test_unwritable_checkpoint_fails_before_training(spirals, tmp_path):
    x, y, _, _ = spirals
    net = rewire.Network([2, 16, 2], seed=2)
    before = net.forward(x)
    seen = []
    ck = str(tmp_path / "no_such_folder" / "run.rwm")
    with pytest.raises(rewire.FileError, match="checked before training"):
        net.train(x, y, epochs=2, checkpoint=ck, threads=1,
                  callback=lambda m: seen.append(m) or True)
    assert seen == []
    np.testing.assert_array_equal(net.forward(x), before)
    with pytest.raises(rewire.FileError, match="is a folder: expected a file name"):
        net.train(x, y, epochs=2, checkpoint=str(tmp_path), threads=1)


def test_save_load_round_trip(trained, spirals, tmp_path):
    _, _, xt, _ = spirals
    p = tmp_path / "m.rwm"
    trained.save(p)
    back = rewire.Network.load(str(p))
    np.testing.assert_array_equal(back.forward(xt), trained.forward(xt))
    assert back.layer_sizes == trained.layer_sizes
    assert back.connections == trained.connections
    again = rewire.Network.from_bytes(trained.to_bytes())
    np.testing.assert_array_equal(again.forward(xt), trained.forward(xt))
    c = pickle.loads(pickle.dumps(trained))
    np.testing.assert_array_equal(c.forward(xt), trained.forward(xt))
    cp = trained.copy()
    np.testing.assert_array_equal(cp.forward(xt), trained.forward(xt))


def test_file_errors(tmp_path):
    with pytest.raises(rewire.FileError) as e:
        rewire.Network.load(tmp_path / "missing.rwm")
    assert isinstance(e.value, OSError) and isinstance(e.value, rewire.Error)
    assert "missing.rwm" in str(e.value)
    bad = tmp_path / "bad.rwm"
    bad.write_bytes(b"not a model at all" * 10)
    with pytest.raises(rewire.Error) as e:
        rewire.Network.load(bad)
    assert isinstance(e.value, ValueError)
    assert e.value.status == rewire.FormatError.status
    with pytest.raises(rewire.FileError):
        rewire.Network([2, 2]).save(tmp_path / "no" / "such" / "dir.rwm")
    with pytest.raises(ValueError, match="NUL"):
        rewire.Network.load("a\0b")
    for junk in (b"", b"\0" * 3, os.urandom(200)):
        with pytest.raises(rewire.Error):
            rewire.Network.from_bytes(junk)
    with pytest.raises(TypeError, match="not a str; to read a file"):
        rewire.Network.from_bytes("model.rwm")
    with pytest.raises(TypeError, match="got float"):
        rewire.Network.from_bytes(1.5)


def test_input_checks_and_conversion(trained):
    with pytest.raises(ValueError, match="2-D"):
        trained.predict(np.zeros(2))
    with pytest.raises(ValueError, match="3 features .* takes 2"):
        trained.predict(np.zeros((4, 3)))
    with pytest.raises(ValueError, match="NaN"):
        trained.predict(np.array([[0.0, np.nan]]))
    with pytest.raises(ValueError, match="NaN"):
        trained.predict(np.array([[0.0, 1e300]]))
    with pytest.raises(ValueError, match="complex"):
        trained.predict(np.zeros((2, 2), complex))
    with pytest.raises(ValueError):
        trained.predict([["a", "b"]])
    x = np.random.default_rng(1).normal(size=(10, 2))
    ref = trained.forward(x.astype(np.float32))
    for conv in (np.asfortranarray(x), x.astype(np.float64), x.tolist(),
                 np.repeat(x, 2, axis=0)[::2]):
        np.testing.assert_array_equal(trained.forward(conv), ref)
    assert trained.forward(np.zeros((0, 2))).shape == (0, 2)
    y = np.zeros(10, np.int64)
    with pytest.raises(ValueError, match="9 labels"):
        trained.train(x, y[:9], epochs=1)
    with pytest.raises(ValueError, match="outside"):
        trained.train(x, y + 5, epochs=1)
    with pytest.raises(ValueError, match="whole class"):
        trained.train(x, y + 0.5, epochs=1)
    with pytest.raises(ValueError, match="NaN"):
        trained.train(np.full((10, 2), np.nan), y, epochs=1)
    with pytest.raises(ValueError, match="no samples"):
        trained.train(np.zeros((0, 2)), y[:0], epochs=1)


def test_float32_input_is_borrowed(trained):
    x = np.ones((5, 2), np.float32)
    assert _arrays.features(x, 2) is x
    with _Data(x, np.zeros(5, np.int32), 2) as d:
        assert d.x is x
    assert _arrays.features(x.astype(np.float64), 2) is not x


def test_regression_network():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 3)).astype(np.float32)
    y = x @ np.array([[1.0, -2.0], [0.5, 0.0], [0.0, 1.0]], np.float32)
    net = rewire.Network([3, 32, 2], loss="mse")
    net.train(x, y, epochs=40, lr=0.01)
    assert net.predict(x).shape == (256, 2)
    assert net.evaluate(x, y)["loss"] < 0.1
    with pytest.raises(ValueError, match="classifier"):
        net.predict_proba(x)
    with pytest.raises(ValueError, match="3 targets"):
        net.train(x, np.zeros((256, 3)), epochs=1)


def test_layers_and_to_scipy(trained):
    layers = trained.layers
    assert len(layers) == 3
    for l in layers:
        m = l.to_scipy()
        assert m.shape == (l.outputs, l.inputs)
        assert m.nnz == l.connections
        assert l.bias.shape == (l.outputs,)
        np.testing.assert_array_equal(m.toarray(), l.to_dense())
    dense, sparse = layers[0], layers[1]
    assert dense.kind == "dense" and dense.weights.shape == (32, 2)
    assert sparse.kind == "sparse" and sparse.weights.shape == (sparse.connections,)
    assert sparse.indices.max() < sparse.inputs
    assert sparse.indptr[-1] == sparse.connections
    # Column indices carry no flag bits (the library marks initial
    # connections in the top bit).
    assert sparse.indices.min() >= 0
    share = trained.initial_share(1)
    trained.rewire("set", 0.5)
    assert trained.initial_share(1) < share
    after = trained.layers[1]
    assert after.to_scipy().nnz == after.connections == sparse.connections


def test_to_scipy_counts_zero_weights(spirals):
    x, y, _, _ = spirals
    net = rewire.Network([2, 32, 32, 2], density=0.3)
    net.train(x[:64], y[:64], epochs=1)
    # RigL grows from the last gradient; training's end-of-epoch diagnostics
    # ran a forward pass since, so it needs a fresh one.
    net.gradient(x[:64], y[:64])
    net.rewire("rigl", 0.3)  # new RigL connections start at weight 0
    l = net.layers[1]
    assert (l.weights == 0).any()
    assert l.to_scipy().nnz == l.connections


def test_rewire_and_prune(trained):
    before = trained.connections
    stats = trained.rewire("set", 0.3, seed=5)
    assert stats[1][0] == stats[1][1] > 0 and stats[0] == (0, 0)
    assert trained.connections == before
    l = trained.layers[1]
    m = l.to_scipy()
    m.sum_duplicates()
    assert m.nnz == l.connections  # no duplicate connections
    pruned = trained.prune(0.05)
    assert pruned[1] > 0 and trained.connections == before - sum(pruned)
    assert trained.prune(0.05) == [0, 0, 0]  # already there
    with pytest.raises(ValueError):
        trained.rewire("magic")
    with pytest.raises(ValueError):
        trained.prune(1.5)
    with pytest.raises(rewire.Error):
        trained.prune(0.01, kind="usage")  # needs traces


def test_input_transform(trained):
    shift, scale = trained.input_transform
    assert shift.shape == (2,)
    trained.set_input_transform(None, None)
    assert trained.input_transform is None
    trained.set_input_transform([1, 2], [3, 4])
    np.testing.assert_array_equal(trained.input_transform[1], [3, 4])
    with pytest.raises(ValueError):
        trained.set_input_transform([1], [1])


def test_callback_false_stops_and_exceptions_propagate(spirals):
    x, y, _, _ = spirals
    net = rewire.Network([2, 8, 2])
    r = net.train(x, y, epochs=10, callback=lambda m: m["epoch"] < 3)
    assert r.epochs == 3 and r.stopped

    def boom(m):
        raise RuntimeError("from the callback")
    with pytest.raises(RuntimeError, match="from the callback"):
        net.train(x, y, epochs=5, callback=boom)
    assert net.predict(x).shape == (len(x),)


def test_ctrl_c_stops_cleanly(spirals):
    x, y, _, _ = spirals
    net = rewire.Network([2, 16, 2])

    def press_ctrl_c(m):
        os.kill(os.getpid(), signal.SIGINT)
    with pytest.raises(rewire.Interrupted) as e:
        net.train(x, y, epochs=50, callback=press_ctrl_c)
    assert isinstance(e.value, KeyboardInterrupt)
    assert e.value.status == 8  # RW_ERR_INTERRUPTED
    assert e.value.result.epochs <= 2
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    # The network is usable afterwards.
    assert net.predict(x).shape == (len(x),)
    net.train(x, y, epochs=1)


def test_error_classes():
    assert issubclass(rewire.ArgumentError, ValueError)
    assert issubclass(rewire.DataError, ValueError)
    assert issubclass(rewire.FileError, OSError)
    for c in (rewire.ArgumentError, rewire.FileError, rewire.Interrupted):
        assert issubclass(c, rewire.Error)


def test_threads_and_info():
    n = rewire.get_threads()
    assert rewire.set_threads(1) == 1
    # Beyond what the library can start: refused, not a crash in libgomp.
    for bad in (1025, 100000, -5):
        with pytest.raises(ValueError, match="threads must be between 0 and 1024"):
            rewire.set_threads(bad)
    assert rewire.get_threads() == 1
    rewire.set_threads(n)
    assert rewire.version() == rewire.__version__
    assert rewire.gemm_info()


def test_callbacks_may_read_but_not_change_the_network(spirals):
    x, y, xt, yt = spirals
    net = rewire.Network([2, 32, 32, 2], density=0.5)
    seen = []

    def cb(m):
        seen.append(net.evaluate(xt, yt)["accuracy"])
        assert net.predict(xt[:3]).shape == (3,)
        assert len(net.layers) == 3
        for change in (lambda: net.train(x, y, epochs=1),
                       lambda: net.rewire("set", 0.1),
                       lambda: net.prune(0.1),
                       lambda: net.set_input_transform(None, None)):
            with pytest.raises(RuntimeError, match="training"):
                change()
    r = net.train(x, y, test=(xt, yt), epochs=2, callback=cb)
    assert seen[-1] == pytest.approx(r.test_accuracy)
    net.rewire("set", 0.1)  # fine again afterwards


def test_library_refusals_do_not_crash(spirals, tmp_path):
    x, y, _, _ = spirals
    with pytest.raises((rewire.Error, MemoryError, ValueError)):
        rewire.Network([2**31, 2**31, 2**31])
    net = rewire.Network([2, 16, 16, 2], density=0.5)
    with pytest.raises(rewire.Error):
        net.rewire("hebbian", 0.3)  # needs usage traces
    with pytest.raises(rewire.Error):
        net.train(x, y, epochs=1, resume=str(tmp_path / "none.rwm"))
    with pytest.raises(ValueError, match="class_groups"):
        net.train(x, y, epochs=1, class_groups=[0])
    for bad in ("ab", [0.5, 1], [-1, 0], [[0, 1]]):
        with pytest.raises(ValueError, match="class_groups must be"):
            net.train(x, y, epochs=1, class_groups=bad)
    # The test set's labels are named as such.
    with pytest.raises(ValueError, match="y_test has 3 labels but x_test has"):
        net.train(x, y, epochs=1, test=(x, y[:3]))
    with pytest.raises(ValueError, match="replay y has 3 labels"):
        net.train(x, y, epochs=1, replay=(x, y[:3]))
    with pytest.raises(ValueError, match="features"):
        net.train(x, y, epochs=1, replay=(np.zeros((4, 3)), np.zeros(4)))
    dense = rewire.Network([2, 4, 2])
    assert dense.rewire("set", 0.5) == [(0, 0), (0, 0)]


def test_switches_and_buffers_are_checked(spirals, tmp_path):
    x, y, _, _ = spirals
    # A string is not taken for True, nor 5 for five zero bytes.
    for kw in ({"sparse": "yes"}, {"sparse_output": "no"}):
        with pytest.raises(TypeError, match="must be True or False"):
            rewire.Network([2, 8, 2], **kw)
    net = rewire.Network([2, 8, 2])
    with pytest.raises(TypeError, match="standardize must be True or False"):
        net.train(x, y, epochs=1, standardize="no")
    with pytest.raises(TypeError, match="traces must be True or False"):
        net.train(x, y, epochs=1, traces="x")
    with pytest.raises(TypeError, match="confusion must be True or False"):
        net.evaluate(x, y, confusion="x")
    assert "confusion" in net.evaluate(x, y, confusion=np.bool_(True))
    for bad in (5, [1, 2, 3], None):
        with pytest.raises(TypeError, match="from_bytes takes"):
            rewire.Network.from_bytes(bad)
    blob = net.to_bytes()
    assert rewire.Network.from_bytes(np.frombuffer(blob, np.uint8)).to_bytes() == blob
    for bad in (5, None):
        with pytest.raises(TypeError, match="layer_sizes must be a list"):
            rewire.Network(bad)
    with pytest.raises(TypeError, match="network must be a Network or the hidden"):
        rewire.continual("split-spirals", None)
    with pytest.raises(rewire.FileError, match="is a folder"):
        net.save(str(tmp_path))
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(rewire.FileError, match="not a regular file"):
        rewire.Network.load(str(fifo))


def test_the_gil_is_released_while_the_library_works():
    # With the GIL held for the whole call, this thread could not wake up
    # until training ended.
    import threading
    import time
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3000, 64)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int32)
    net = rewire.Network([64, 256, 256, 2])
    done = threading.Event()
    took = []

    def work():
        t0 = time.perf_counter()
        net.train(x, y, epochs=2, batch=32)
        took.append(time.perf_counter() - t0)
        done.set()
    t = threading.Thread(target=work)
    t.start()
    wakeups = 0
    while not done.is_set():
        time.sleep(0.002)
        wakeups += 1
    t.join()
    assert wakeups > min(10, took[0] / 0.01)


def test_learning_by_hand_and_neurons(spirals):
    x, y, _, _ = spirals
    net = rewire.Network([2, 16, 16, 2], density=0.5)
    loss0, _ = net.gradient(x[:128], y[:128])
    l = net.layers
    assert l[2].kind == "dense" and l[2].grad_weights.shape == (2, 16)
    assert l[1].grad_weights.shape == (l[1].connections,)
    assert np.abs(l[0].grad_weights).sum() > 0
    assert l[2].grad_bias.shape == (2,)
    for _ in range(30):
        net.gradient(x[:128], y[:128])
        net.step(0.01, optimizer="adam")
    assert net.gradient(x[:128], y[:128])[0] < loss0
    before = net.forward(x)
    net.add_neurons(0, 3, seed=2)
    assert net.layer_sizes == [2, 19, 16, 2]
    np.testing.assert_allclose(net.forward(x), before, atol=1e-6)
    net.remove_neurons(0, [16, 17, 18])
    assert net.layer_sizes == [2, 16, 16, 2]
    with pytest.raises(rewire.Error):
        net.remove_neurons(2, [0])  # the output layer
    with pytest.raises(rewire.Error):
        net.remove_neurons(0, [99])
    with pytest.raises(ValueError):
        net.remove_neurons(0, [-1])


def test_consolidation_options(spirals):
    x, y, _, _ = spirals
    net = rewire.Network([2, 16, 2])
    net.train(x, y, epochs=1, consolidation="si", si_c=1.0, si_xi=0.1,
              protect_rewiring=False, protect_strength=5.0)
    net.train(x, y, epochs=1, consolidation="ewc", ewc_lambda=10.0,
              ewc_gamma=0.9, fisher_samples=100)
    with pytest.raises(ValueError, match="consolidation"):
        net.train(x, y, epochs=1, consolidation="l2")


def test_isa(spirals):
    x, y, _, _ = spirals
    now = rewire.isa()
    assert now in ("avx512", "avx2", "generic")
    assert rewire.isa_supported("generic")
    assert rewire.isa_supported(now)
    with pytest.raises(rewire.Error):
        rewire.set_isa("sse1")
    try:
        rewire.set_isa("generic")
        assert rewire.isa() == "generic"
        rewire.Network([2, 16, 16, 2], density=0.5).train(x, y, epochs=1)
    finally:
        rewire.set_isa(None)
    assert rewire.isa() == now


def test_isa_env_refused(tmp_path):
    """RW_ISA naming a path this CPU cannot run (or no path) is refused by
    rewire.isa(), as by creating a network."""
    import subprocess
    import sys
    bad = [p for p in ("avx512", "avx2") if not rewire.isa_supported(p)]
    for name in bad + ["bogus"]:
        env = dict(os.environ, RW_ISA=name,
                   PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
        r = subprocess.run([sys.executable, "-c", "import rewire; rewire.isa()"],
                           env=env, capture_output=True, text=True)
        assert r.returncode != 0, name
        assert "RW_ISA=" + name in r.stderr


def test_main_job_options(spirals):
    """The main job's settings and the maintenance methods are training
    options in Python too."""
    x, y, _, _ = spirals
    net = rewire.Network([2, 32, 32, 2], density=0.5, seed=3)
    h = net.train(x, y, epochs=2, rewire="set", drop_by_usage=True,
                  adam_steps="global", maintain="cbp", cbp_rho=0.05,
                  cbp_maturity=5, cbp_adaptable=True, probe=100)
    assert h.epochs == 2 and len(h.history) == 2
    last = h.history[-1]
    assert len(last["dormant_fraction"]) == 2 and len(last["mean_abs_w"]) == 3
    assert all(0 <= v <= 1 for v in last["dormant_fraction"])
    assert all(1 <= v <= 32 for v in last["effective_rank"])
    assert sum(last["units_reset"]) > 0  # CBP replaced units
    with pytest.raises(ValueError):
        net.train(x, y, epochs=1, maintain="nope")
    with pytest.raises(ValueError):
        net.train(x, y, epochs=1, cbp_rho=2.0)


def test_label_column_is_kept_in_the_model(tmp_path):
    net = rewire.Network([3, 4, 2], seed=1)
    assert net.label_column == "last"
    net.label_column = "first"
    path = str(tmp_path / "m.rwm")
    net.save(path)
    assert rewire.Network.load(path).label_column == "first"
    net.label_column = 5
    net.save(path)
    assert rewire.Network.load(path).label_column == 5
    with pytest.raises(ValueError):
        net.label_column = -3
    with pytest.raises(TypeError):
        net.label_column = "middle"
    assert net.label_column == 5


def test_one_process_reports_one_rank(spirals, monkeypatch):
    # Without mpirun dist_init joins nothing; the result says so. (Under
    # mpirun: tests/mpi_python.sh.)
    for v in ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "PMI_RANK"):
        monkeypatch.delenv(v, raising=False)
    assert rewire.dist_init() == 1 and rewire.dist_init() == 1
    assert (rewire.rank(), rewire.ranks()) == (0, 1)
    x, y = spirals[:2]
    r = rewire.Network([2, 16, 3]).train(x, y, epochs=1)
    assert (r.ranks, r.allreduce, r.allreduce_bytes_per_step, r.comm_share,
            r.sharded_step, r.shared_weights) == (1, "none", 0, 0.0, False,
                                                  False)
    rewire.dist_abort(3)  # one rank: returns


def test_mpirun_without_dist_init_warns(spirals, monkeypatch):
    from rewire import dist
    if not rewire._lib.rw_dist_available():
        pytest.skip("this library was built without MPI")
    monkeypatch.setenv("OMPI_COMM_WORLD_SIZE", "2")
    monkeypatch.setitem(dist._state, "warned", False)
    monkeypatch.setitem(dist._state, "joined", False)
    x, y = spirals[:2]
    with pytest.warns(RuntimeWarning, match=r"dist_init\(\) was not called") as w:
        rewire.Network([2, 16, 3]).train(x, y, epochs=1)
    assert w[0].filename == __file__  # it points at the caller's line
    # Once joined (here: a single process), no warning.
    monkeypatch.setitem(dist._state, "warned", False)
    monkeypatch.setitem(dist._state, "joined", True)
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rewire.Network([2, 16, 3]).train(x, y, epochs=1)


_SIGNALS = r"""
import os, signal, sys, threading, time
import numpy as np
import rewire
g = np.random.default_rng(4)
x = g.normal(size=(2048, 256)).astype(np.float32)
y = (x[:, 0] > 0).astype(np.int32)


def fit():
    net = rewire.Network([256, 384, 2], seed=2)
    net.train(x, y, epochs=6, batch=128, threads=1, standardize=False)
    return net.to_bytes()


quiet = fit()
hits = []
signal.signal(signal.SIGUSR1, lambda s, f: hits.append(s))
done = threading.Event()


def sender():
    signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGUSR1])
    while not done.is_set():
        os.kill(os.getpid(), signal.SIGUSR1)
        time.sleep(0.0002)


t = threading.Thread(target=sender)
t.start()
noisy = fit()
done.set()
t.join()
print(len(hits), noisy == quiet)
"""


def test_signals_during_dense_training_change_nothing(tmp_path):
    # A Python signal handler while the GEMM runs (rw_signal_stack): the
    # same network as without signals, and no corrupted heap (without the
    # alternate stack: "corrupted size vs. prev_size", oneDNN 2.6). In a
    # process of its own: pytest's faulthandler sets up an alternate stack
    # for the main thread, which would hide the fault.
    import subprocess
    import sys
    script = tmp_path / "signals.py"
    script.write_text(_SIGNALS)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.path.join(os.path.dirname(__file__), "..", "..",
                                     "python")
    r = subprocess.run([sys.executable, str(script)], capture_output=True,
                       text=True, env=env, timeout=60)
    assert r.returncode == 0, r.stderr[-2000:]
    hits, same = r.stdout.split()
    assert int(hits) > 50 and same == "True", r.stdout


def test_precision_bf16_changes_the_rows_not_the_state():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(64, 20)).astype(np.float32)
    y = rng.integers(0, 3, size=64)
    net = rewire.Network([20, 64, 48, 3], density=0.3, sparse_output=True, seed=2)
    assert net.precision == "fp32"
    p32 = net.predict_proba(x)
    net.precision = "bf16"
    assert net.precision == "bf16"
    p16 = net.predict_proba(x)
    # bf16's rounding, and only that much.
    assert 0 < np.abs(p16 - p32).max() < 1e-2
    net.train(x, y, epochs=2, standardize=False)
    assert net.precision == "bf16"
    net.precision = "fp32"
    assert net.precision == "fp32"
    with pytest.raises(ValueError, match="fp16.*fp32 or bf16"):
        net.precision = "fp16"
    with pytest.raises(TypeError):
        net.precision = 16
    assert net.precision == "fp32"
