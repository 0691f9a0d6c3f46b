"""rewire.MLPClassifier and rewire.MLPRegressor under scikit-learn's own
checks, and what check_estimator does not look at."""
import pickle

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")
from sklearn.base import clone  # noqa: E402
from sklearn.model_selection import cross_val_score  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import check_estimator  # noqa: E402

import rewire  # noqa: E402

SMALL = dict(hidden_layer_sizes=(16,), max_iter=30, learning_rate_init=0.01,
             batch_size=32)


@pytest.mark.parametrize("est", [
    rewire.MLPClassifier(**SMALL),
    rewire.MLPRegressor(**dict(SMALL, max_iter=60)),
    rewire.MLPClassifier(hidden_layer_sizes=(64, 64), epsilon=4, rewire="set",
                         max_iter=30, learning_rate_init=0.01, batch_size=32),
    rewire.MLPClassifier(),
    rewire.MLPRegressor(),
], ids=["classifier", "regressor", "sparse-classifier", "classifier-defaults",
        "regressor-defaults"])
def test_check_estimator(est):
    check_estimator(est)


def test_xfail_checks_are_documented():
    import os
    readme = open(os.path.join(os.path.dirname(__file__), "..", "..",
                               "README.md")).read()
    for est in (rewire.MLPClassifier(), rewire.MLPRegressor()):
        for name in est._get_tags()["_xfail_checks"]:
            assert name in readme


def _blobs(labels):
    rng = np.random.default_rng(0)
    centers = rng.normal(scale=4, size=(len(labels), 5))
    y = rng.integers(0, len(labels), 300)
    x = centers[y] + rng.normal(size=(300, 5))
    return x, np.asarray(labels)[y]


def test_string_labels_and_fitted_attributes():
    x, y = _blobs(["cat", "dog", "emu"])
    clf = rewire.MLPClassifier(**SMALL, random_state=0).fit(x, y)
    assert list(clf.classes_) == ["cat", "dog", "emu"]
    assert clf.n_features_in_ == 5
    assert isinstance(clf.network_, rewire.Network)
    assert clf.network_.layer_sizes == [5, 16, 3]
    assert clf.n_iter_ == 30 and len(clf.history_) == 30
    assert set(clf.predict(x)) <= {"cat", "dog", "emu"}
    assert clf.score(x, y) > 0.9
    p = clf.predict_proba(x)
    assert p.shape == (300, 3)
    np.testing.assert_allclose(p.sum(1), 1, rtol=1e-5)


def test_params_clone_and_set_params():
    clf = rewire.MLPClassifier(epsilon=5, rewire="rigl", drop_fraction=0.2)
    params = clf.get_params()
    for name in ("hidden_layer_sizes", "activation", "batch_size",
                 "learning_rate_init", "max_iter", "random_state", "optimizer",
                 "density", "epsilon", "rewire", "drop_fraction"):
        assert name in params
    c = clone(clf)
    assert c.get_params() == params
    c.set_params(max_iter=3, density=0.1, epsilon=None)
    assert c.max_iter == 3 and c.density == 0.1


def test_same_random_state_same_model():
    x, y = _blobs([0, 1])
    a = rewire.MLPClassifier(**SMALL, random_state=4).fit(x, y)
    b = rewire.MLPClassifier(**SMALL, random_state=4).fit(x, y)
    np.testing.assert_array_equal(a.predict_proba(x), b.predict_proba(x))


def test_partial_fit_and_pickle():
    x, y = _blobs([3, 7])
    clf = rewire.MLPClassifier(**SMALL, random_state=1)
    clf.partial_fit(x[:150], y[:150], classes=[3, 7])
    for _ in range(10):
        clf.partial_fit(x, y)
    assert clf.n_iter_ == 11
    assert clf.score(x, y) > 0.9
    with pytest.raises(ValueError, match="not in classes_"):
        clf.partial_fit(x[:5], np.full(5, 9))
    back = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(back.predict_proba(x), clf.predict_proba(x))


def test_sparse_rewiring_estimator_in_a_pipeline():
    x, y = _blobs(["a", "b", "c"])
    pipe = make_pipeline(StandardScaler(), rewire.MLPClassifier(
        hidden_layer_sizes=(64, 64), density=0.2, rewire="set", max_iter=20,
        learning_rate_init=0.01, batch_size=32, random_state=0))
    assert cross_val_score(pipe, x, y, cv=3).mean() > 0.8
    net = pipe.fit(x, y)[-1].network_
    assert [l.kind for l in net.layers] == ["sparse", "sparse", "dense"]


def test_regressor_multi_output():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 4))
    y = np.c_[x[:, 0] - x[:, 1], 2 * x[:, 2]]
    reg = rewire.MLPRegressor(**dict(SMALL, max_iter=80), random_state=0)
    assert reg.fit(x, y).predict(x).shape == (300, 2)
    assert reg.score(x, y) > 0.8
    assert reg.fit(x, y[:, 0]).predict(x).shape == (300,)


def test_estimator_errors():
    x, y = _blobs([0, 1])
    with pytest.raises(ValueError, match="max_iter"):
        rewire.MLPClassifier(max_iter=0).fit(x, y)
    with pytest.raises(ValueError, match="2 classes"):
        rewire.MLPClassifier().fit(x, np.zeros(len(x)))
    with pytest.raises(ValueError, match="activation"):
        rewire.MLPClassifier(activation="gelu").fit(x, y)
    clf = rewire.MLPClassifier(**SMALL).fit(x, y)
    with pytest.raises(ValueError, match="features"):
        clf.predict(x[:, :3])
