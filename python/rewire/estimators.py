"""scikit-learn estimators over rewire.Network: MLPClassifier, MLPRegressor.

They follow scikit-learn's contract ("Rolling your own estimator"):
__init__ stores the parameters and nothing else, fit returns self, fitted
attributes end in "_", and sklearn.utils.estimator_checks.check_estimator
passes (tests/python/test_estimators.py). Parameter names are those of
sklearn.neural_network.MLPClassifier where they mean the same; rewire's own
options sit beside them, named as Network.train's (the CLI's flags).
"""
import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils import check_random_state, column_or_1d
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted

from . import dist
from .network import Network

try:  # scikit-learn >= 1.6
    from sklearn.utils.validation import validate_data as _validate
except ImportError:  # Debian 12's scikit-learn 1.2
    def _validate(est, *args, **kw):
        return est._validate_data(*args, **kw)


# Checks that ask more than the library gives; README.md ("Python") lists
# them with the same reasons.
_XFAIL = {
    "check_methods_subset_invariance":
        "predictions agree to float32 rounding (about 1e-7), not bit for "
        "bit, when the batch holds other samples: the GEMM library and the "
        "batched kernels sum in a batch-dependent order",
    "check_methods_sample_order_invariance":
        "as check_methods_subset_invariance: a sample's position in the "
        "batch changes the summation order, so results differ by float32 "
        "rounding",
}


class _RewireMLP(BaseEstimator):
    _loss = None

    def _more_tags(self):
        return {"_xfail_checks": dict(_XFAIL)}

    def __init__(self, hidden_layer_sizes=(256, 256), activation="relu",
                 batch_size=128, learning_rate_init=None, max_iter=10,
                 random_state=None, optimizer="adam", momentum=0.9,
                 weight_decay=0.0, schedule="constant", lr_min=0.0,
                 step_epochs=3, step_gamma=0.1, clip_grad=None, init="auto",
                 density=None, epsilon=None, erk=None, sparse_output=False,
                 rewire=None, drop_fraction=0.3, rewire_every=None,
                 drop_schedule="constant", rewire_stop=1.0, prune=None,
                 prune_to=None, traces=False, standardize=True, threads=None,
                 callback=None, verbose=False):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.max_iter = max_iter
        self.random_state = random_state
        self.optimizer = optimizer
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.schedule = schedule
        self.lr_min = lr_min
        self.step_epochs = step_epochs
        self.step_gamma = step_gamma
        self.clip_grad = clip_grad
        self.init = init
        self.density = density
        self.epsilon = epsilon
        self.erk = erk
        self.sparse_output = sparse_output
        self.rewire = rewire
        self.drop_fraction = drop_fraction
        self.rewire_every = rewire_every
        self.drop_schedule = drop_schedule
        self.rewire_stop = rewire_stop
        self.prune = prune
        self.prune_to = prune_to
        self.traces = traces
        self.standardize = standardize
        self.threads = threads
        self.callback = callback
        self.verbose = verbose

    # ---- building and training the network

    def _hidden(self):
        h = self.hidden_layer_sizes
        if h is None:
            return []
        if np.isscalar(h):
            h = [h]
        return [int(v) for v in h]

    def _new_network(self, n_features, n_outputs, seed):
        # As in the CLI, choosing a rewiring rule or pruning makes the hidden
        # layers sparse (Erdos-Renyi, epsilon 20) unless a density is given.
        rewiring = self.rewire not in (None, "none")
        sparse = rewiring or self.prune not in (None, "none")
        density = self.density
        if self.prune not in (None, "none") and not rewiring and \
                self.epsilon is None and self.erk is None and density is None:
            density = 1.0
        return Network([n_features] + self._hidden() + [n_outputs],
                       activation=self.activation, loss=self._loss,
                       init=self.init, seed=seed, sparse=sparse,
                       epsilon=self.epsilon, density=density, erk=self.erk,
                       sparse_output=self.sparse_output)

    def _options(self, epochs, seed):
        o = dict(epochs=epochs, batch=self.batch_size,
                 lr=self.learning_rate_init, optimizer=self.optimizer,
                 weight_decay=self.weight_decay, schedule=self.schedule,
                 lr_min=self.lr_min, step_epochs=self.step_epochs,
                 step_gamma=self.step_gamma, clip_grad=self.clip_grad,
                 seed=seed, drop_fraction=self.drop_fraction,
                 rewire_every=self.rewire_every,
                 drop_schedule=self.drop_schedule,
                 rewire_stop=self.rewire_stop, prune=self.prune,
                 prune_to=self.prune_to, traces=self.traces or None,
                 threads=self.threads)
        if self.optimizer in ("momentum", "nesterov"):
            o["momentum"] = self.momentum
        if self.rewire is not None:
            o["rewire"] = self.rewire
        return o

    def _callback(self):
        user, verbose = self.callback, self.verbose

        def cb(m):
            if verbose:
                print("epoch %d: loss %.4f" % (m["epoch"], m["train_loss"]))
            if user is not None:
                return user(m)
            return None
        return cb if (verbose or user is not None) else None

    def _train(self, X, y, epochs, seed):
        r = self.network_.train(X, y, standardize=self.standardize,
                                callback=self._callback(),
                                **self._options(epochs, seed))
        self.n_iter_ = getattr(self, "n_iter_", 0) + r.epochs
        self.loss_ = r.train_loss
        self.history_ = getattr(self, "history_", []) + r.history
        return r

    def _seed(self):
        # Under mpirun every rank must build the same network and shuffle
        # alike: the ranks agree on one seed.
        return dist.agree_seed(
            int(check_random_state(self.random_state).randint(2**31 - 1)))

    def _check_epochs(self):
        if not isinstance(self.max_iter, (int, np.integer)) or self.max_iter < 1:
            raise ValueError("max_iter must be a whole number >= 1, got %r"
                             % (self.max_iter,))
        return int(self.max_iter)

    def _X(self, X):
        check_is_fitted(self, "network_")
        return _validate(self, X, reset=False, dtype=(np.float32, np.float64))


class MLPClassifier(ClassifierMixin, _RewireMLP):
    """A classifier on a rewire network: softmax over the classes, trained
    with cross-entropy. classes_ may hold any labels (strings too).

    Fitted attributes: classes_, n_features_in_, network_ (a
    rewire.Network), n_iter_ (epochs trained), loss_ (last epoch's training
    loss), history_ (per-epoch metrics).
    """

    _loss = "cross_entropy"

    def _encode(self, y):
        y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        return y

    def fit(self, X, y):
        epochs = self._check_epochs()
        X, y = _validate(self, X, y, reset=True, dtype=(np.float32, np.float64))
        y = self._encode(y)
        classes, y_enc = np.unique(y, return_inverse=True)
        if len(classes) < 2:
            raise ValueError("MLPClassifier needs samples of at least 2 "
                             "classes, got 1 class (%r)" % (classes[0],))
        for a in ("n_iter_", "history_"):
            self.__dict__.pop(a, None)
        seed = self._seed()
        self.classes_ = classes
        self.network_ = self._new_network(X.shape[1], len(classes), seed)
        self._train(X, y_enc, epochs, seed)
        return self

    def partial_fit(self, X, y, classes=None):
        """One epoch over (X, y). The first call fixes the classes (from
        `classes`, else from y); later calls continue training the same
        network, optimizer state included."""
        first = not hasattr(self, "network_")
        X, y = _validate(self, X, y, reset=first, dtype=(np.float32, np.float64))
        y = self._encode(y)
        if first:
            cl = np.unique(y if classes is None else np.asarray(classes))
            if len(cl) < 2:
                raise ValueError("MLPClassifier needs at least 2 classes; give "
                                 "them all with partial_fit(X, y, classes=...)")
            self.classes_ = cl
            self._seed_ = self._seed()
            self.network_ = self._new_network(X.shape[1], len(cl), self._seed_)
        elif classes is not None and not np.array_equal(
                np.unique(np.asarray(classes)), self.classes_):
            raise ValueError("classes %r differ from those of the first "
                             "partial_fit call %r" % (classes, self.classes_))
        known = np.isin(y, self.classes_)
        if not known.all():
            raise ValueError("y holds labels not in classes_: %r"
                             % (np.unique(y[~known]),))
        y_enc = np.searchsorted(self.classes_, y)
        seed = (getattr(self, "_seed_", 1) + getattr(self, "n_iter_", 0))
        self._train(X, y_enc, 1, seed % (2**63))
        return self

    def predict_proba(self, X):
        """Class probabilities, (samples, classes) in the order of classes_."""
        X = self._X(X)
        return self.network_.predict_proba(X).astype(np.float64)

    def predict_log_proba(self, X):
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X):
        X = self._X(X)
        return self.classes_[self.network_.forward(X).argmax(axis=1)]


class MLPRegressor(RegressorMixin, _RewireMLP):
    """A regressor on a rewire network: identity outputs trained with mean
    squared error; y may have one column or several.

    Fitted attributes: n_features_in_, n_outputs_, network_, n_iter_,
    loss_, history_.
    """

    _loss = "mse"

    def _more_tags(self):
        return {"multioutput": True, "_xfail_checks": dict(_XFAIL)}

    def _y(self, y):
        y = np.asarray(y, dtype=np.float64)
        return y

    def fit(self, X, y):
        epochs = self._check_epochs()
        X, y = _validate(self, X, y, reset=True, multi_output=True,
                         y_numeric=True, dtype=(np.float32, np.float64))
        self._single = y.ndim == 1
        y2 = y.reshape(len(y), -1)
        for a in ("n_iter_", "history_"):
            self.__dict__.pop(a, None)
        seed = self._seed()
        self.n_outputs_ = y2.shape[1]
        self.network_ = self._new_network(X.shape[1], self.n_outputs_, seed)
        self._train(X, y2, epochs, seed)
        return self

    def partial_fit(self, X, y):
        """One epoch over (X, y), continuing the same network."""
        first = not hasattr(self, "network_")
        X, y = _validate(self, X, y, reset=first, multi_output=True,
                         y_numeric=True, dtype=(np.float32, np.float64))
        y2 = y.reshape(len(y), -1)
        if first:
            self._single = y.ndim == 1
            self.n_outputs_ = y2.shape[1]
            self._seed_ = self._seed()
            self.network_ = self._new_network(X.shape[1], self.n_outputs_,
                                              self._seed_)
        elif y2.shape[1] != self.n_outputs_:
            raise ValueError("y has %d outputs but the first partial_fit had %d"
                             % (y2.shape[1], self.n_outputs_))
        seed = (getattr(self, "_seed_", 1) + getattr(self, "n_iter_", 0))
        self._train(X, y2, 1, seed % (2**63))
        return self

    def predict(self, X):
        X = self._X(X)
        out = self.network_.forward(X).astype(np.float64)
        return out.ravel() if getattr(self, "_single", False) else out
