"""rewire.Network: a librewire network (rw_net) from Python.

A Network owns its rw_net handle and frees it when garbage collected. Every
library call on it holds the network's lock (the library is not
thread-safe on one network) and runs without the GIL (ctypes releases it
for CDLL calls; the training callbacks take it back).
"""
import ctypes
import math
import os
import signal
import tempfile
import threading

import numpy as np

from . import _arrays, _lib, dist
from .errors import Interrupted, check, from_status

_SIZE_MAX = 2**63 - 1
_TRAINING = [0]  # networks training now, in any thread (set_isa refuses)
_ACT_NAMES = {v: k for k, v in _lib.ACTIVATIONS.items()}
_KIND_NAMES = {v: k for k, v in _lib.LAYER_KINDS.items()}


def set_threads(n=0):
    """Threads for all library work, 1 to 1024 (0: all cores). Returns the
    count."""
    return _lib.rw_set_threads(_arrays.number(n, "threads", 0, 1024,
                                              integer=True))


def get_threads():
    return _lib.rw_get_threads()


def version():
    return _lib.rw_version().decode()


def gemm_info():
    return _lib.rw_gemm_info().decode()


def isa():
    """The sparse kernels' SIMD path in use: "avx512", "avx2" or "generic".
    Raises rewire.Error when RW_ISA names a path this CPU cannot run (as
    creating or loading a network then does)."""
    err = _lib.Error_t()
    check(_lib.rw_isa_check(ctypes.byref(err)), err)
    return _lib.rw_isa().decode()


def set_isa(name=None):
    """Forces the sparse kernels' path ("avx512", "avx2", "generic", or
    None/"auto" for the best one) for the whole process; call it while no
    training runs. Raises rewire.Error when this CPU cannot run it."""
    if _TRAINING[0]:
        raise RuntimeError("set_isa: a network is training")
    err = _lib.Error_t()
    check(_lib.rw_set_isa(None if name is None else
                          _arrays.text(name, "name"), ctypes.byref(err)), err)


def isa_supported(name):
    """Whether this CPU (and build) runs the named path."""
    return bool(_lib.rw_isa_supported(_arrays.text(name, "name")))


# ------------------------------------------------------------------ datasets

class _Data:
    """An rw_dataset over NumPy arrays, borrowed (rw_dataset_wrap): the
    arrays are kept alive here for as long as the handle lives."""

    def __init__(self, x, y, classes, image_shape=None):
        self.x, self.y = x, y
        err = _lib.Error_t()
        n, f = x.shape
        if classes:
            h = _lib.rw_dataset_wrap(x, _arrays.i32_ptr(y), None, n, f, 0,
                                     classes, ctypes.byref(err))
        else:
            h = _lib.rw_dataset_wrap(x, None, _arrays.f32_ptr(y), n, f,
                                     y.shape[1], 0, ctypes.byref(err))
        if not h:
            raise from_status(err.status, err)
        self.handle = h
        if image_shape:
            st = _lib.rw_dataset_set_image_shape(h, image_shape[0],
                                                 image_shape[1],
                                                 ctypes.byref(err))
            if st != _lib.OK:
                self.close()
                raise from_status(st, err)

    def close(self):
        if self.handle:
            _lib.rw_dataset_free(self.handle)
            self.handle = None

    def __del__(self):
        if _lib is not None and getattr(self, "handle", None):
            self.close()

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()


# ------------------------------------------------------------------ training

# Every rw_train_config option, by the CLI flag's name with underscores:
# (field path, kind, low, high). Kinds: f float, i int, b flag, or a table.
_TRAIN_OPTIONS = {
    "epochs": ("epochs", "i", 1, 1000000),
    "batch": ("batch", "i", 1, 1 << 20),
    "lr": ("lr", "f", 1e-12, 1e6),
    "momentum": ("optim.momentum", "f", 0.0, 0.9999),
    "weight_decay": ("optim.weight_decay", "f", 0.0, 10.0),
    "beta1": ("optim.beta1", "f", 0.0, 0.999999),
    "beta2": ("optim.beta2", "f", 0.0, 0.99999999),
    "adam_eps": ("optim.eps", "f", 1e-30, 1.0),
    "schedule": ("schedule", _lib.SCHEDULES, None, None),
    "lr_min": ("lr_min", "f", 0.0, 1e6),
    "step_epochs": ("step_epochs", "i", 1, 1000000),
    "step_gamma": ("step_gamma", "f", 0.0, 1.0),
    "clip_grad": ("clip_grad", "f", 1e-12, 1e12),
    "seed": ("seed", "i", 0, 2**64 - 1),
    "rewire": ("rewire", _lib.REWIRES, None, None),
    "drop_fraction": ("drop_fraction", "f", 0.0, 1.0),
    "rewire_every": ("rewire_every", "i", 1, _SIZE_MAX),
    "drop_schedule": ("drop_schedule_cosine", {"constant": 0, "cosine": 1},
                      None, None),
    "rewire_stop": ("rewire_stop", "f", 0.0, 1.0),
    "traces": ("plasticity.traces", "b", None, None),
    "trace_rate": ("plasticity.trace_rate", "f", 1e-9, 1.0),
    "prune": ("plasticity.prune", _lib.PRUNES, None, None),
    "prune_to": ("plasticity.prune_to", "f", 1e-9, 1.0),
    "prune_start": ("plasticity.prune_start", "f", 0.0, 1.0),
    "prune_end": ("plasticity.prune_end", "f", 0.0, 1.0),
    "prune_every": ("plasticity.prune_every", "i", 1, _SIZE_MAX),
    "usage_decay": ("plasticity.usage_decay", "f", 0.0, 10.0),
    "permanence": ("plasticity.permanence", "b", None, None),
    "perm_up": ("plasticity.perm_up", "f", 0.0, 1.0),
    "perm_down": ("plasticity.perm_down", "f", 0.0, 1.0),
    "perm_threshold": ("plasticity.perm_threshold", "f", 0.0, 1.0),
    "neuron_turnover": ("plasticity.neuron_turnover", "b", None, None),
    "silent_epochs": ("plasticity.silent_epochs", "i", 1, 1000000),
    "silent_level": ("plasticity.silent_level", "f", 0.0, 1e6),
    "regrow_neurons": ("plasticity.regrow_neurons", "b", None, None),
    "checkpoint_every": ("checkpoint_every", "i", 1, _SIZE_MAX),
    # Consolidation (the continual command's --method ewc|si options).
    "consolidation": ("consolidation.kind", _lib.CONSOLIDATIONS, None, None),
    "ewc_lambda": ("consolidation.lambda_", "f", 0.0, 1e12),
    "si_c": ("consolidation.lambda_", "f", 0.0, 1e12),
    "ewc_gamma": ("consolidation.gamma", "f", 0.0, 1.0),
    "fisher_samples": ("consolidation.fisher_samples", "i", 0, _SIZE_MAX),
    "si_xi": ("consolidation.si_xi", "f", 1e-12, 1e12),
    "protect_rewiring": ("consolidation.protect_rewiring", "b", None, None),
    "protect_strength": ("consolidation.protect_strength", "f", 0.0, 1e9),
    "replay_batch": ("replay_batch", "i", 1, 1 << 20),
    # Usage-aware drop and Adam's step counting (the main job's settings).
    "drop_by_usage": ("drop_by_usage", "b", None, None),
    "adam_steps": ("optim.adam_global_steps", {"own": 0, "global": 1},
                   None, None),
    # Plasticity maintenance and its diagnostics (--maintain ...).
    "maintain": ("maintain.kind", {"none": 0, "cbp": 1, "redo": 2, "snp": 3,
                                   "l2init": 4}, None, None),
    "cbp_eta": ("maintain.cbp_eta", "f", 0.0, 0.999999),
    "cbp_maturity": ("maintain.cbp_maturity", "i", 0, _SIZE_MAX),
    "cbp_rho": ("maintain.cbp_rho", "f", 0.0, 1.0),
    "cbp_adaptable": ("maintain.cbp_adaptable", "b", None, None),
    "redo_every": ("maintain.redo_every", "i", 1, _SIZE_MAX),
    "redo_tau": ("maintain.redo_tau", "f", 0.0, 1e6),
    "snp_lambda": ("maintain.snp_lambda", "f", 0.0, 1.0),
    "snp_sigma": ("maintain.snp_sigma", "f", 0.0, 1e3),
    "l2_lambda": ("maintain.l2_lambda", "f", 0.0, 1e6),
    "probe": ("maintain.probe", "i", 0, 65536),
    "dormant_tau": ("maintain.dormant_tau", "f", 0.0, 1e6),
}
_OPTIMIZERS = ("sgd", "momentum", "nesterov", "adam", "adamw")
TRAIN_OPTIONS = tuple(_TRAIN_OPTIONS) + ("optimizer", "checkpoint", "resume",
                                         "threads")


def _set(cfg, path, value):
    *parts, last = path.split(".")
    obj = cfg
    for p in parts:
        obj = getattr(obj, p)
    setattr(obj, last, value)


def train_config(options, sparse):
    """An rw_train_config from keyword options (the CLI's flags), checked as
    the CLI checks them. Returns (config, keep-alive list, threads)."""
    cfg = _lib.rw_train_defaults()
    cfg.rewire = _lib.REWIRES["none"]
    cfg.plasticity = _lib.rw_plasticity_defaults()
    cfg.consolidation = _lib.rw_consolidation_defaults()
    keep = []
    opt = options.get("optimizer", "adam")
    if opt is None:
        opt = "adam"
    if opt not in _OPTIMIZERS:
        raise ValueError("optimizer must be one of %s, got %r"
                         % (", ".join(_OPTIMIZERS), opt))
    kind = {"sgd": 0, "momentum": 1, "nesterov": 1, "adam": 2, "adamw": 3}[opt]
    cfg.optim = _lib.rw_optim_defaults(kind)
    cfg.optim.nesterov = int(opt == "nesterov")
    if "lr" not in options or options["lr"] is None:
        cfg.lr = 0.001 if opt in ("adam", "adamw") else 0.01
    if sparse:
        cfg.rewire = _lib.REWIRES["set"]
    threads = None
    for name, v in options.items():
        if v is None or name == "optimizer":
            continue
        if name in ("checkpoint", "resume"):
            b = _arrays.path(v, name)
            keep.append(b)
            setattr(cfg, "checkpoint_path" if name == "checkpoint"
                    else "resume_path", b)
            continue
        if name == "threads":
            threads = _arrays.number(v, name, 1, 1024, integer=True)
            continue
        if name not in _TRAIN_OPTIONS:
            raise TypeError("unknown training option %r (the options are the "
                            "CLI's flags with underscores: %s)"
                            % (name, ", ".join(sorted(TRAIN_OPTIONS))))
        field, kind_, lo, hi = _TRAIN_OPTIONS[name]
        if isinstance(kind_, dict):
            val = _arrays.choice(v, name, kind_)
        elif kind_ == "b":
            val = int(_arrays.flag(v, name))
        else:
            val = _arrays.number(v, name, lo, hi, integer=kind_ == "i")
        _set(cfg, field, val)
    pl = cfg.plasticity
    if options.get("regrow_neurons"):
        pl.neuron_turnover = 1
    if pl.prune != 0 and not pl.prune_to > 0:
        raise ValueError("prune needs prune_to (the target density)")
    return cfg, keep, threads


def epoch_metrics(s, n_layers):
    """An rw_epoch_stats as a dict, with the keys of the CLI's --log."""
    def f(v):
        return float(v) if math.isfinite(v) else float("nan")
    m = {
        "epoch": s.epoch, "train_loss": f(s.train_loss),
        "train_accuracy": f(s.train_accuracy), "test_loss": f(s.test_loss),
        "test_accuracy": f(s.test_accuracy), "seconds": s.seconds,
        "lr": s.lr, "connections": s.connections,
        "drop_fraction": s.drop_fraction,
        "layers": [{"neurons": s.layer_neurons[i],
                    "connections": s.layer_connections[i],
                    "density": s.layer_density[i], "dropped": s.dropped[i],
                    "grown": s.grown[i], "initial_share": s.initial_share[i],
                    "pruned": s.pruned[i],
                    "neurons_removed": s.neurons_removed[i],
                    "neurons_added": s.neurons_added[i]}
                   for i in range(n_layers)],
    }
    # The diagnostics, as the CLI's log has them, when they were taken.
    if math.isfinite(s.mean_abs_w[0]):
        nh = max(n_layers - 1, 0)
        m["dormant_fraction"] = [f(s.dormant_fraction[i]) for i in range(nh)]
        m["effective_rank"] = [f(s.effective_rank[i]) for i in range(nh)]
        m["mean_abs_w"] = [f(s.mean_abs_w[i]) for i in range(n_layers)]
        m["units_reset"] = [int(s.units_reset[i]) for i in range(nh)]
    return m


class Run:
    """The callbacks of one training run: the user's per-epoch callable
    (False stops), Ctrl-C (stops at the end of the batch) and exceptions
    raised in the callable (stop, then re-raised)."""

    def __init__(self, callback, n_layers):
        self.callback = callback
        self.n_layers = n_layers
        # Under mpirun every rank runs the callbacks; what stops training is
        # agreed, so that all ranks stop at the same epoch (dist.py).
        self.ranks = _lib.rw_dist_size()
        self.history = []
        self.steps = 0  # steps reported: 0 when rw_train failed at set-up
        self.exc = None
        self.interrupted = False
        self.stopped = False
        self._old = None
        self.progress_fn = _lib.PROGRESS_FN(self._progress)
        self.epoch_fn = _lib.EPOCH_FN(self._epoch)

    def _progress(self, p, user):
        self.steps += 1
        # With ranks, only the agreed stop at an epoch's end may end
        # training (a rank stopping alone would leave the others waiting).
        if self.ranks > 1:
            return 0
        return 1 if self.interrupted or self.exc is not None else 0

    def _epoch(self, s, user):
        stop = False
        try:
            m = epoch_metrics(s.contents, self.n_layers)
            self.history.append(m)
            if self.interrupted:
                stop = True
            elif self.callback is not None and self.callback(m) is False:
                self.stopped = stop = True
        except BaseException as e:  # noqa: B902 - re-raised after rw_train
            self.exc = e
            stop = True
        return 1 if self.agree(stop) else 0

    def agree(self, stop):
        """stop, or another rank's wish to stop (then `stopped`). Every
        rank calls it at the same point; it never raises."""
        try:
            if self.ranks > 1 and dist.agree_stop(stop) and not stop:
                self.stopped = stop = True
        except BaseException as e:  # noqa: B902 - re-raised after rw_train
            self.exc = self.exc or e
            stop = True
        return stop

    def _on_sigint(self, signum, frame):
        self.interrupted = True

    def __enter__(self):
        # Python's handlers run on the alternate signal stack (SA_ONSTACK)
        # where the thread has one: give it one, and its OpenMP threads,
        # since a handler that runs on the stack of oneDNN's GEMM corrupts
        # the heap (rw_signal_stack). Best effort: without it a signal may
        # still be caught, only less safely.
        _lib.rw_signal_stack(ctypes.byref(_lib.Error_t()))
        # Only the main thread receives signals; a handler the caller set
        # up themselves is left alone. Under mpirun a SIGINT that reaches
        # the ranks stops them all at the end of the epoch (agreed there).
        if (threading.current_thread() is threading.main_thread() and
                signal.getsignal(signal.SIGINT) is signal.default_int_handler):
            self._old = signal.signal(signal.SIGINT, self._on_sigint)
        return self

    def __exit__(self, *a):
        if self._old is not None:
            signal.signal(signal.SIGINT, self._old)
            self._old = None

    def finish(self, st, err, result):
        """Raises what the run's end calls for, or returns normally."""
        e = None
        if st == _lib.ERR_INTERRUPTED:
            if self.exc is not None:
                e = self.exc
            elif not self.stopped:
                e = from_status(st, err)
                if self.interrupted:
                    e = Interrupted("training interrupted (Ctrl-C): " +
                                    e.message, st)
                e.result = result
        elif st != _lib.OK:
            e = dist.mark_agreed(from_status(st, err))
        if self.ranks > 1 and st in (_lib.OK, _lib.ERR_INTERRUPTED):
            # Every rank ended training at the same point.
            e = dist.leave_together(e)
        if e is not None:
            raise e


class TrainResult:
    """What Network.train returns: rw_train_result plus the epochs' metrics
    (`history`, a list of dicts) and `stopped` (a callback returned False).
    epochs counts the run's epochs, resumed ones included; epochs_trained
    those of this call (0 when resume= names a finished run, whose
    train_loss and train_accuracy are then NaN). Under mpirun (after
    rewire.dist_init) ranks, allreduce, allreduce_bytes_per_step,
    comm_share, sharded_step and shared_weights are those of `rewire train
    --json`; with one rank they are 1, "none", 0, 0.0, False and False."""

    def __init__(self, r, history, stopped):
        self.epochs = r.epochs
        self.epochs_trained = r.epochs_trained
        self.train_seconds = r.train_seconds
        self.samples_per_second = r.samples_per_second
        self.train_loss = r.final_train_loss
        self.train_accuracy = r.final_train_accuracy
        self.test_loss = r.test_loss
        self.test_accuracy = r.test_accuracy
        self.history = history
        self.stopped = stopped
        for k, v in dist.run_stats().items():
            setattr(self, k, v)

    def __repr__(self):
        return ("TrainResult(epochs=%d, train_seconds=%.3f, train_loss=%.4g, "
                "test_accuracy=%.4g)" % (self.epochs, self.train_seconds,
                                         self.train_loss, self.test_accuracy))


# ------------------------------------------------------------------ layers

class Layer:
    """A snapshot of one layer (rw_layer_view), copied out of the network:
    it stays valid whatever happens to the network later.

    weights: (outputs, inputs) for dense layers; for sparse layers one value
    per connection, in compressed-row order, with `indices` (input of each
    connection) and `indptr` (row o holds connections indptr[o]..indptr[o+1]).
    """

    def __init__(self, index, info, view):
        self.index = index
        self.kind = _KIND_NAMES.get(info.kind, str(info.kind))
        self.activation = _ACT_NAMES.get(info.act, str(info.act))
        self.inputs, self.outputs = view.inputs, view.outputs
        self.connections = view.connections
        self.density = info.density
        self.parameters = info.parameters
        n = view.connections
        self.grad_weights = self.grad_bias = None
        if view.grad_weights and n:
            self.grad_weights = np.ctypeslib.as_array(
                view.grad_weights, (n,)).copy()
            if view.kind == _lib.LAYER_KINDS["dense"]:
                self.grad_weights = self.grad_weights.reshape(view.outputs,
                                                              view.inputs)
        if view.grad_bias and view.outputs:
            self.grad_bias = np.ctypeslib.as_array(view.grad_bias,
                                                   (view.outputs,)).copy()
        if view.bias and view.outputs:
            self.bias = np.ctypeslib.as_array(view.bias, (view.outputs,)).copy()
        else:
            self.bias = np.zeros(view.outputs, np.float32)
        if view.kind == _lib.LAYER_KINDS["dense"]:
            shape = (view.outputs, view.inputs)
            self.weights = (np.ctypeslib.as_array(view.weights, shape).copy()
                            if n else np.zeros(shape, np.float32))
            self.indices = self.indptr = None
        else:
            self.weights = (np.ctypeslib.as_array(view.weights, (n,)).copy()
                            if n else np.zeros(0, np.float32))
            cols = (np.ctypeslib.as_array(view.cols, (n,)).copy()
                    if n else np.zeros(0, np.uint32))
            # Masked: the view once carried an "initial connection" flag in
            # the top bit of each column.
            self.indices = (cols & _lib.COL_MASK).astype(np.int32)
            self.indptr = np.ctypeslib.as_array(
                view.row_ptr, (view.outputs + 1,)).astype(np.int64)

    def to_scipy(self):
        """The weights as a scipy.sparse.csr_matrix of shape (outputs,
        inputs), with one stored entry per connection (zero weights too),
        for dense layers as well."""
        import scipy.sparse
        if self.kind == "dense":
            o, i = self.outputs, self.inputs
            indptr = np.arange(o + 1, dtype=np.int64) * i
            indices = np.tile(np.arange(i, dtype=np.int32), o)
            data = self.weights.ravel().copy()
        else:
            indptr, indices, data = self.indptr, self.indices, self.weights
        m = scipy.sparse.csr_matrix((data.copy(), indices.copy(), indptr.copy()),
                                    shape=(self.outputs, self.inputs))
        m.sort_indices()
        return m

    def to_dense(self):
        """The weights as a dense (outputs, inputs) array."""
        if self.kind == "dense":
            return self.weights.copy()
        out = np.zeros((self.outputs, self.inputs), np.float32)
        rows = np.repeat(np.arange(self.outputs), np.diff(self.indptr))
        out[rows, self.indices] = self.weights
        return out

    def __repr__(self):
        return ("Layer(%d, %s, %s, %d->%d, %d connections)"
                % (self.index, self.kind, self.activation, self.inputs,
                   self.outputs, self.connections))


# ------------------------------------------------------------------ network

def _net_config(layer_sizes, activation, loss, init, seed, sparse, epsilon,
                density, erk, sparse_output):
    try:
        sizes = list(layer_sizes)
    except TypeError:
        raise TypeError("layer_sizes must be a list of sizes, inputs first, "
                        "e.g. [784, 256, 10], got %r" % (layer_sizes,)) from None
    sparse = _arrays.flag(sparse, "sparse")
    sparse_output = _arrays.flag(sparse_output, "sparse_output")
    if len(sizes) < 2:
        raise ValueError("layer_sizes needs at least the inputs and the "
                         "outputs, e.g. [784, 256, 10], got %r" % (sizes,))
    if len(sizes) - 1 > _lib.MAX_LAYERS:
        raise ValueError("at most %d layers (hidden + output), got %d"
                         % (_lib.MAX_LAYERS, len(sizes) - 1))
    sizes = [_arrays.number(s, "layer size", 1, 2**31, integer=True)
             for s in sizes]
    act = _arrays.choice(activation, "activation",
                         {k: v for k, v in _lib.ACTIVATIONS.items()
                          if k != "softmax"})
    loss_ = _arrays.choice(loss, "loss", _lib.LOSSES)
    cfg = _lib.NetConfig()
    err = _lib.Error_t()
    hidden = (ctypes.c_size_t * max(1, len(sizes) - 2))(*sizes[1:-1])
    check(_lib.rw_net_config_mlp(ctypes.byref(cfg), sizes[0], hidden,
                                 len(sizes) - 2, sizes[-1], act, loss_,
                                 ctypes.byref(err)), err)
    cfg.init = _arrays.choice(init, "init", _lib.INITS)
    cfg.seed = _arrays.number(seed, "seed", 0, 2**64 - 1, integer=True)
    given = [k for k, v in (("epsilon", epsilon), ("density", density),
                            ("erk", erk)) if v is not None]
    if len(given) > 1:
        raise ValueError("give one of epsilon, density and erk, not %s"
                         % " and ".join(given))
    if not (sparse or given or sparse_output):
        return cfg, False
    if epsilon is not None:
        mode, param = 0, _arrays.number(epsilon, "epsilon", 1e-6, 1e9)
    elif density is not None:
        mode, param = 2, _arrays.number(density, "density", 1e-9, 1.0)
    elif erk is not None:
        mode, param = 1, _arrays.number(erk, "erk", 1e-9, 1.0)
    else:
        mode, param = 0, 20.0
    if len(sizes) == 2 and not sparse_output:
        raise ValueError("sparse layers need hidden layers (or "
                         "sparse_output=True)")
    check(_lib.rw_net_config_sparsify(ctypes.byref(cfg), mode, param,
                                      int(bool(sparse_output)),
                                      ctypes.byref(err)), err)
    return cfg, True


class Network:
    """A feed-forward network, dense or sparse, that can rewire itself.

    Network(layer_sizes, activation="relu", loss="cross_entropy", ...):
    layer_sizes is [inputs, hidden..., outputs]; the hidden layers use
    `activation`, the output is softmax for cross_entropy (classes =
    outputs) or identity for "mse" (regression). The sparse options are the
    CLI's: sparse=True (Erdos-Renyi with epsilon 20), epsilon=E,
    density=D (the same in every sparse layer), erk=D (Erdos-Renyi-Kernel),
    sparse_output=True (the output layer too). seed seeds the weights and
    topology, and by default the training.
    """

    def __init__(self, layer_sizes, activation="relu", loss="cross_entropy",
                 init="auto", seed=1, sparse=False, epsilon=None, density=None,
                 erk=None, sparse_output=False):
        cfg, _ = _net_config(layer_sizes, activation, loss, init, seed, sparse,
                             epsilon, density, erk, sparse_output)
        err = _lib.Error_t()
        h = _lib.rw_net_create(ctypes.byref(cfg), ctypes.byref(err))
        if not h:
            raise from_status(err.status, err)
        self._init_handle(h)

    def _init_handle(self, h):
        self._h = h
        self._lock = threading.RLock()
        self._training = False

    def _idle(self, what):
        # A callback runs while rw_train holds the network: reading it is
        # safe (the CLI evaluates there), changing it is not.
        if self._training:
            raise RuntimeError("%s: the network is training (called from a "
                               "training callback); only forward, predict, "
                               "evaluate, layers, save and copy work then"
                               % what)

    @classmethod
    def _wrap(cls, h):
        self = cls.__new__(cls)
        self._init_handle(h)
        return self

    def __del__(self):
        h = getattr(self, "_h", None)
        if h and _lib is not None:
            _lib.rw_net_free(h)
            self._h = None

    # ---- files, copies, pickling

    @classmethod
    def load(cls, path):
        """Loads a model file written by save() or the CLI's --save."""
        err = _lib.Error_t()
        h = _lib.rw_net_load(_arrays.path(path), ctypes.byref(err))
        if not h:
            raise from_status(err.status, err)
        return cls._wrap(h)

    @classmethod
    def from_bytes(cls, data, name="<bytes>"):
        """Loads a model from the bytes of a model file."""
        if isinstance(data, str):
            raise TypeError("from_bytes takes the bytes of a model file (bytes, "
                            "bytearray or memoryview), not a str; to read a file "
                            "use rewire.Network.load(path)")
        try:
            # A buffer only: bytes(5) would be five zero bytes, and
            # bytes([...]) a list taken for bytes.
            data = bytes(memoryview(data))
        except TypeError:
            raise TypeError("from_bytes takes bytes, bytearray or memoryview, "
                            "got %s" % type(data).__name__) from None
        err = _lib.Error_t()
        h = _lib.rw_net_load_buffer(data, len(data), _arrays.text(name, "name"),
                                    ctypes.byref(err))
        if not h:
            raise from_status(err.status, err)
        return cls._wrap(h)

    def save(self, path):
        """Saves the model (atomically) in the format of docs/model-format.md,
        which the CLI reads."""
        err = _lib.Error_t()
        with self._lock:
            check(_lib.rw_net_save(self._h, _arrays.path(path),
                                   ctypes.byref(err)), err)

    def to_bytes(self):
        """The model file's bytes."""
        with tempfile.TemporaryDirectory(prefix="rewire-") as d:
            p = os.path.join(d, "model.rwm")
            self.save(p)
            with open(p, "rb") as f:
                return f.read()

    def __reduce__(self):
        return (Network.from_bytes, (self.to_bytes(),))

    def copy(self):
        """A deep copy (topology, optimizer state and traces included)."""
        err = _lib.Error_t()
        with self._lock:
            h = _lib.rw_net_clone(self._h, ctypes.byref(err))
        if not h:
            raise from_status(err.status, err)
        return Network._wrap(h)

    __copy__ = copy

    def __deepcopy__(self, memo):
        return self.copy()

    # ---- shape

    @property
    def inputs(self):
        return _lib.rw_net_inputs(self._h)

    @property
    def outputs(self):
        return _lib.rw_net_outputs(self._h)

    @property
    def classes(self):
        """Classes of a classifier; 0 for a regression (MSE) network."""
        return _lib.rw_net_classes(self._h)

    @property
    def n_layers(self):
        return _lib.rw_net_layers(self._h)

    @property
    def parameters(self):
        return _lib.rw_net_parameters(self._h)

    @property
    def connections(self):
        return _lib.rw_net_connections(self._h)

    @property
    def loss(self):
        return "cross_entropy" if self.classes else "mse"

    @property
    def layer_sizes(self):
        return [self.inputs] + [l.outputs for l in self.layer_info()]

    @property
    def seed(self):
        return _lib.rw_net_config_of(self._h).contents.seed

    @property
    def label_column(self):
        """Where the training CSV held its labels, kept in the model file
        for `rewire eval` and `predict`: "last" (the default), "first" or a
        0-based column. Set it when training on load_dataset(...,
        label_column=...) so that the CLI reads such files."""
        c = _lib.rw_net_label_column(self._h)
        return "last" if c == _lib.LABEL_LAST else "first" if c == 0 else c

    @label_column.setter
    def label_column(self, value):
        if value == "last":
            c = _lib.LABEL_LAST
        elif value == "first":
            c = _lib.LABEL_FIRST
        else:
            c = _arrays.number(value, "label_column", 0, (1 << 24) - 1,
                               integer=True)
        err = _lib.Error_t()
        with self._lock:
            check(_lib.rw_net_set_label_column(self._h, c, ctypes.byref(err)),
                  err)

    @property
    def precision(self):
        """"fp32" (the default) or "bf16": the type of the rows that sparse
        layers gather through their connections (their inputs forward,
        their outputs' errors backward). bf16 rounds them once per pass and
        sums in fp32; weights, gradients and optimizer state stay fp32. It
        halves the memory traffic of layers too large for the caches and
        applies to training, forward, predict and evaluate. Not saved with
        the model."""
        return _lib.rw_precision_name(_lib.rw_net_precision(self._h)).decode()

    @precision.setter
    def precision(self, value):
        self._idle("precision")
        err = _lib.Error_t()
        p = ctypes.c_int(0)
        check(_lib.rw_precision_parse(_arrays.text(value, "precision"),
                                      ctypes.byref(p), ctypes.byref(err)), err)
        with self._lock:
            check(_lib.rw_net_set_precision(self._h, p.value,
                                            ctypes.byref(err)), err)

    @property
    def sparse(self):
        return any(l.kind == _lib.LAYER_KINDS["sparse"]
                   for l in self.layer_info())

    def layer_info(self):
        out = []
        err = _lib.Error_t()
        with self._lock:
            for i in range(self.n_layers):
                li = _lib.LayerInfo()
                check(_lib.rw_net_layer_info(self._h, i, ctypes.byref(li),
                                             ctypes.byref(err)), err)
                out.append(li)
        return out

    @property
    def layers(self):
        """Each layer's view (a copy): kind, activation, weights, bias,
        to_scipy()."""
        out = []
        err = _lib.Error_t()
        with self._lock:
            for i in range(self.n_layers):
                li = _lib.LayerInfo()
                v = _lib.LayerView()
                check(_lib.rw_net_layer_info(self._h, i, ctypes.byref(li),
                                             ctypes.byref(err)), err)
                check(_lib.rw_net_layer_view(self._h, i, ctypes.byref(v),
                                             ctypes.byref(err)), err)
                out.append(Layer(i, li, v))
        return out

    def initial_share(self, layer):
        """Share of the layer's initial connections that still exist."""
        if not 0 <= layer < self.n_layers:
            raise IndexError("layer %r out of range" % (layer,))
        return _lib.rw_net_initial_share(self._h, layer)

    # ---- input transform

    @property
    def input_transform(self):
        """(shift, scale) copies, x' = (x - shift) * scale, or None."""
        shift = _lib.c_float_p()
        scale = _lib.c_float_p()
        with self._lock:
            if not _lib.rw_net_input_transform(self._h, ctypes.byref(shift),
                                               ctypes.byref(scale)):
                return None
            n = self.inputs
            return (np.ctypeslib.as_array(shift, (n,)).copy(),
                    np.ctypeslib.as_array(scale, (n,)).copy())

    def set_input_transform(self, shift, scale):
        """Sets x' = (x - shift) * scale per feature; None, None removes it."""
        self._idle("set_input_transform")
        err = _lib.Error_t()
        if shift is None and scale is None:
            with self._lock:
                check(_lib.rw_net_set_input_transform(self._h, None, None,
                                                      ctypes.byref(err)), err)
            return
        n = self.inputs
        a = _arrays.features(np.asarray(shift).reshape(1, -1), n, "shift")[0]
        b = _arrays.features(np.asarray(scale).reshape(1, -1), n, "scale")[0]
        with self._lock:
            check(_lib.rw_net_set_input_transform(
                self._h, _arrays.f32_ptr(a), _arrays.f32_ptr(b),
                ctypes.byref(err)), err)

    def fit_standardize(self, x, image_shape="auto"):
        """Sets the input transform to standardise x's features (training-set
        mean and 1/std, as the CLI does by default). For images (h, w) the
        std has a floor shared by the pixels, as for the CLI's image data;
        "auto" takes the shape of an array load_dataset returned."""
        shape = _arrays.image_shape(x, image_shape)
        x = _arrays.features(x, self.inputs)
        if not x.shape[0]:
            raise ValueError("x has no samples")
        y = np.zeros(x.shape[0], np.int32)
        shift = np.empty(self.inputs, np.float32)
        scale = np.empty(self.inputs, np.float32)
        err = _lib.Error_t()
        # Any one class will do: only the features are looked at.
        with _Data(x, y, max(2, self.classes), shape) as d:
            check(_lib.rw_dataset_fit_standardize(d.handle, shift, scale,
                                                  ctypes.byref(err)), err)
        self.set_input_transform(shift, scale)

    # ---- data

    def _data(self, x, y, what="x", image_shape=None):
        x = _arrays.features(x, self.inputs, what)
        n = x.shape[0]
        if n == 0:
            raise ValueError("%s has no samples" % what)
        ywhat = what.replace("x", "y")  # x_test -> y_test, replay x -> replay y
        if self.classes:
            return _Data(x, _arrays.labels(y, n, self.classes, ywhat, what),
                         self.classes, image_shape)
        return _Data(x, _arrays.targets(y, n, self.outputs, ywhat, what), 0,
                     image_shape)

    # ---- training

    def train(self, x, y, *, test=None, standardize=True, callback=None,
              replay=None, class_groups=None, image_shape="auto", **options):
        """Trains on x (samples x features) and y (class indices 0..C-1, or
        regression targets), evaluating on test=(x_test, y_test) after each
        epoch when given.

        Options are rw_train_config's, named as the CLI's flags with
        underscores: epochs, batch, optimizer (sgd, momentum, nesterov, adam,
        adamw), lr, momentum, weight_decay, schedule, lr_min, step_epochs,
        step_gamma, clip_grad, seed, rewire, drop_fraction, rewire_every,
        drop_schedule, rewire_stop, traces, trace_rate, prune, prune_to,
        prune_start, prune_end, prune_every, usage_decay, permanence,
        perm_up, perm_down, perm_threshold, neuron_turnover, silent_epochs,
        silent_level, regrow_neurons, checkpoint, checkpoint_every, resume,
        threads; and beta1, beta2, adam_eps, replay=(x, y), replay_batch,
        class_groups, and the consolidation options of `rewire continual`
        (consolidation="ewc"|"si", ewc_lambda, ewc_gamma, fisher_samples,
        si_c, si_xi, protect_rewiring, protect_strength). The defaults are the CLI's: seed is the network's,
        rewire is "set" for a network with sparse layers.

        standardize=True standardises the features with x's statistics
        (stored in the model) unless the network already has a transform;
        image_shape=(h, w) makes that treat them as images, as the CLI does
        for image data ("auto": the shape of an array load_dataset
        returned).
        callback(metrics) is called after each epoch with that epoch's
        metrics (a dict, the keys of the CLI's --log); returning False stops
        training. Ctrl-C stops at the end of the batch and raises
        rewire.Interrupted (a KeyboardInterrupt), with the network usable.
        Returns a TrainResult.
        """
        if callback is not None and not callable(callback):
            raise TypeError("callback must be callable")
        standardize = _arrays.flag(standardize, "standardize")
        self._idle("train")
        if options.get("seed") is None:
            options["seed"] = self.seed
        cfg, keep, threads = train_config(options, self.sparse)
        if threads is not None:
            set_threads(threads)
        shape = _arrays.image_shape(x, image_shape)
        train = self._data(x, y, "x", shape)
        tst = rep = None
        try:
            if test is not None:
                if not (isinstance(test, (tuple, list)) and len(test) == 2):
                    raise ValueError("test must be a pair (x_test, y_test)")
                tst = self._data(test[0], test[1], "x_test")
            if replay is not None:
                if not (isinstance(replay, (tuple, list)) and len(replay) == 2):
                    raise ValueError("replay must be a pair (x, y)")
                rep = self._data(replay[0], replay[1], "replay x")
                cfg.replay = rep.handle
            if class_groups is not None:
                a = np.asarray(class_groups)
                whole = a.dtype.kind in "iu" or (
                    a.dtype.kind == "f" and bool(np.all(np.isfinite(a))) and
                    bool(np.all(a == np.floor(a))))
                if not whole or (a.size and (a.min() < 0 or a.max() >= 2**31)):
                    raise ValueError("class_groups must be whole numbers from 0, "
                                     "one group per class, got %r"
                                     % (class_groups,))
                g = np.ascontiguousarray(a, dtype=np.int32)
                if g.ndim != 1:
                    raise ValueError("class_groups must be 1-D, one group per "
                                     "class, got shape %s" % (g.shape,))
                if g.shape != (max(self.classes, 1),) or not self.classes:
                    raise ValueError("class_groups needs one group per class "
                                     "(%d)" % self.classes)
                keep.append(g)
                cfg.class_groups = _arrays.i32_ptr(g)
            fitted = standardize and options.get("resume") is None and \
                self.input_transform is None
            if fitted:
                self.fit_standardize(train.x, shape)
            return self._run(train, tst, cfg, callback, fitted)
        finally:
            train.close()
            if tst is not None:
                tst.close()
            if rep is not None:
                rep.close()

    def _run(self, train, test, cfg, callback=None, fitted=False):
        """rw_train with the callbacks; fitted: train() fitted the input
        standardisation just before, and takes it back when training is
        refused before its first step (a checkpoint folder that is missing,
        say), so that the network stays as it was."""
        run = Run(callback, self.n_layers)
        try:
            dist.warn_if_alone(stacklevel=4)
            cfg.on_progress = run.progress_fn
            cfg.on_epoch = run.epoch_fn
            res = _lib.TrainResult()
            err = _lib.Error_t()
            with self._lock, run:
                self._training = True
                _TRAINING[0] += 1
                try:
                    st = _lib.rw_train(self._h, train.handle,
                                       test.handle if test is not None else None,
                                       ctypes.byref(cfg), ctypes.byref(res),
                                       ctypes.byref(err))
                finally:
                    self._training = False
                    _TRAINING[0] -= 1
            result = TrainResult(res, run.history, run.stopped)
            run.finish(st, err, result)
            return result
        except BaseException:
            if fitted and not run.steps:
                self.set_input_transform(None, None)
            raise

    # ---- inference

    def forward(self, x):
        """The network's outputs for x (samples x features): probabilities
        for classifiers, values for regression; float32 (samples, outputs)."""
        x = _arrays.features(x, self.inputs)
        out = np.empty((x.shape[0], self.outputs), np.float32)
        if x.shape[0] == 0:
            return out
        err = _lib.Error_t()
        with self._lock:
            check(_lib.rw_net_predict(self._h, x, x.shape[0], out,
                                      ctypes.byref(err)), err)
        return out

    def predict_proba(self, x):
        """Class probabilities, (samples, classes) float32."""
        if not self.classes:
            raise ValueError("predict_proba needs a classifier; this network "
                             "does regression (use predict)")
        return self.forward(x)

    def predict(self, x):
        """Class indices (int64) for classifiers; values (samples, outputs)
        for regression."""
        out = self.forward(x)
        return out.argmax(axis=1) if self.classes else out

    def evaluate(self, x, y, confusion=False):
        """Loss and accuracy on (x, y): a dict with loss, accuracy, samples,
        correct, and with confusion=True the classes x classes confusion
        matrix (row = true class)."""
        confusion = _arrays.flag(confusion, "confusion")
        err = _lib.Error_t()
        r = _lib.EvalResult()
        conf = None
        with self._data(x, y) as d, self._lock:
            cptr = None
            if confusion and self.classes:
                conf = np.zeros((self.classes, self.classes), np.uint64)
                cptr = conf.ctypes.data_as(_lib.c_size_p)
            check(_lib.rw_net_evaluate(self._h, d.handle, ctypes.byref(r),
                                       cptr, ctypes.byref(err)), err)
        out = {"loss": r.loss,
               "accuracy": r.accuracy if self.classes else float("nan"),
               "samples": r.samples, "correct": r.correct}
        if conf is not None:
            out["confusion"] = conf.astype(np.int64)
        return out

    # ---- plasticity

    def rewire(self, kind="set", fraction=0.3, seed=None):
        """Rewires every sparse layer once: drops `fraction` of its
        connections and grows as many (kind: set, rigl, hebbian). Returns
        [(dropped, grown)] per layer."""
        k = _arrays.choice(kind, "kind", {k: v for k, v in
                                          _lib.REWIRES.items() if k != "none"})
        fraction = _arrays.number(fraction, "fraction", 0.0, 1.0)
        rng = _lib.RNG()
        _lib.rw_rng_seed(ctypes.byref(rng), self.seed if seed is None else
                         _arrays.number(seed, "seed", 0, 2**64 - 1, True))
        stats = (_lib.RewireStats * max(1, self.n_layers))()
        err = _lib.Error_t()
        self._idle("rewire")
        with self._lock:
            check(_lib.rw_net_rewire(self._h, k, fraction, ctypes.byref(rng),
                                     stats, ctypes.byref(err)), err)
        return [(s.dropped, s.grown) for s in stats[:self.n_layers]]

    def prune(self, density, kind="magnitude"):
        """Prunes every sparse layer down to `density` (lowest score first;
        kind: magnitude, usage, hebbian). Returns the count removed per
        layer."""
        k = _arrays.choice(kind, "kind", {k: v for k, v in
                                          _lib.PRUNES.items() if k != "none"})
        density = _arrays.number(density, "density", 0.0, 1.0)
        pruned = (ctypes.c_size_t * max(1, self.n_layers))()
        err = _lib.Error_t()
        self._idle("prune")
        with self._lock:
            check(_lib.rw_net_prune(self._h, k, density, pruned,
                                    ctypes.byref(err)), err)
        return list(pruned[:self.n_layers])

    # ---- learning by hand, neurons

    def gradient(self, x, y):
        """One forward and backward pass on a mini-batch without an update;
        the gradients stay in the network (Layer.grad_weights, grad_bias).
        Returns (mean loss, correct predictions; 0 for regression)."""
        self._idle("gradient")
        with self._data(x, y) as d:
            loss = ctypes.c_double()
            correct = ctypes.c_size_t()
            err = _lib.Error_t()
            n = d.x.shape[0]
            with self._lock:
                if self.classes:
                    st = _lib.rw_net_gradient(self._h, d.x, _arrays.i32_ptr(d.y),
                                              None, n, ctypes.byref(loss),
                                              ctypes.byref(correct),
                                              ctypes.byref(err))
                else:
                    st = _lib.rw_net_gradient(self._h, d.x, None,
                                              _arrays.f32_ptr(d.y), n,
                                              ctypes.byref(loss),
                                              ctypes.byref(correct),
                                              ctypes.byref(err))
            check(st, err)
        return loss.value, correct.value

    def step(self, lr, optimizer="adam", momentum=None, weight_decay=0.0,
             beta1=None, beta2=None, adam_eps=None):
        """Applies one optimizer update with learning rate lr from the
        gradients of the last gradient() call; the optimizer's state lives
        in the network."""
        self._idle("step")
        cfg, _, _ = train_config(dict(optimizer=optimizer, lr=lr,
                                      momentum=momentum,
                                      weight_decay=weight_decay, beta1=beta1,
                                      beta2=beta2, adam_eps=adam_eps), False)
        err = _lib.Error_t()
        with self._lock:
            check(_lib.rw_net_step(self._h, ctypes.byref(cfg.optim), cfg.lr,
                                   ctypes.byref(err)), err)

    def remove_neurons(self, layer, neurons):
        """Removes the listed neurons of hidden layer `layer` (and their
        outgoing weights); the layer shrinks."""
        self._idle("remove_neurons")
        idx = np.asarray(neurons, dtype=np.int64).ravel()
        if idx.size and idx.min() < 0:
            raise ValueError("neuron indices must be >= 0")
        arr = np.ascontiguousarray(idx, dtype=np.uintp)
        err = _lib.Error_t()
        with self._lock:
            check(_lib.rw_net_remove_neurons(
                self._h, _arrays.number(layer, "layer", 0, 2**31, True),
                arr.ctypes.data_as(_lib.c_size_p), arr.size,
                ctypes.byref(err)), err)

    def add_neurons(self, layer, n, seed=None):
        """Appends n fresh neurons to hidden layer `layer` (random inputs,
        zero outgoing weights: the outputs do not change)."""
        self._idle("add_neurons")
        rng = _lib.RNG()
        _lib.rw_rng_seed(ctypes.byref(rng), self.seed if seed is None else
                         _arrays.number(seed, "seed", 0, 2**64 - 1, True))
        err = _lib.Error_t()
        with self._lock:
            check(_lib.rw_net_add_neurons(
                self._h, _arrays.number(layer, "layer", 0, 2**31, True),
                _arrays.number(n, "n", 0, 2**31, True), ctypes.byref(rng),
                ctypes.byref(err)), err)

    def __repr__(self):
        try:
            parts = []
            for li in self.layer_info():
                parts.append("%d%s" % (li.outputs, "(sparse %.2f%%)" % (
                    100 * li.density) if li.kind == 1 else ""))
            return "Network(%d-%s, %s, %d connections)" % (
                self.inputs, "-".join(parts), self.loss, self.connections)
        except Exception:  # pragma: no cover - repr must not raise
            return "Network(?)"
