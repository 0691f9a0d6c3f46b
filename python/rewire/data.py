"""Datasets as NumPy arrays, and continual learning over task sequences."""
import ctypes
import warnings

import numpy as np

from . import _arrays, _lib, dist
from .errors import check, from_status
from .network import Network, Run, _Data, train_config

_BUILTIN = ("fashion-mnist", "mnist", "spirals", "moons", "blobs", "xor")


class Dataset(tuple):
    """(x, y) as returned by load_dataset, with `name`, `class_names` (a
    list, or None) and `image_shape` ((height, width), or None)."""

    def __new__(cls, x, y, name, class_names, image_shape):
        self = super().__new__(cls, (x, y))
        self.x, self.y = x, y
        self.name = name
        self.class_names = class_names
        self.image_shape = image_shape
        return self

    def __reduce__(self):
        return (Dataset, (self.x, self.y, self.name, self.class_names,
                          self.image_shape))


def _options(label_column, regression, samples, seed):
    o = _lib.rw_data_options_defaults()
    if label_column == "last":
        o.label_column = _lib.LABEL_LAST
    elif label_column == "first":
        o.label_column = _lib.LABEL_FIRST
    else:
        o.label_column = _arrays.number(label_column, "label_column", 0,
                                        1 << 30, integer=True)
    o.regression = int(bool(regression))
    o.synth_samples = _arrays.number(samples, "samples", 0, 1 << 40, True)
    o.synth_seed = _arrays.number(seed, "seed", 0, 2**64 - 1, True)
    return o


def _open(spec, split, opts):
    err = _lib.Error_t()
    h = _lib.rw_dataset_open(_arrays.text(spec, "spec"),
                             _arrays.choice(split, "split", _lib.SPLITS),
                             ctypes.byref(opts), ctypes.byref(err))
    if not h:
        raise from_status(err.status, err)
    _note_header(spec, h)
    return h


def _note_header(spec, h):
    """Warns, as the CLI notes, when a CSV's first line was taken for a
    header though some of its fields are numbers (a data line with a typo,
    dropped)."""
    numbers, fields = _lib.c_size(0), _lib.c_size(0)
    line = _lib.rw_dataset_csv_header(h, ctypes.byref(numbers),
                                      ctypes.byref(fields))
    if line and numbers.value:
        warnings.warn("%s: line %d is read as a header and not used, though %d "
                      "of its %d fields are numbers; if it is data, correct it"
                      % (spec, line, numbers.value, fields.value),
                      RuntimeWarning, stacklevel=3)


def _aligned_copy(src, shape):
    """A copy of the C array in a NumPy array whose data starts on a 64-byte
    boundary, as the library's own allocations do (NumPy's large arrays
    start 16 bytes past one)."""
    count = int(np.prod(shape))
    buf = np.empty(count + 16, np.float32)
    off = (-buf.ctypes.data % 64) // 4
    out = buf[off:off + count].reshape(shape)
    out[...] = np.ctypeslib.as_array(src, shape)
    return out


def _to_arrays(h):
    n = _lib.rw_dataset_size(h)
    f = _lib.rw_dataset_features(h)
    classes = _lib.rw_dataset_classes(h)
    if n:
        x = _aligned_copy(_lib.rw_dataset_x(h), (n, f))
    else:
        x = np.zeros((0, f), np.float32)
    if classes:
        y = (np.ctypeslib.as_array(_lib.rw_dataset_labels(h), (n,)).copy()
             if n else np.zeros(0, np.int32))
    else:
        t = _lib.rw_dataset_targets(h)
        y = (np.ctypeslib.as_array(_lib.rw_dataset_y(h), (n, t)).copy()
             if n else np.zeros((0, t), np.float32))
        if t == 1:
            y = y.ravel()
    names = None
    if classes and _lib.rw_dataset_class_name(h, 0) is not None:
        names = [(_lib.rw_dataset_class_name(h, c) or b"").decode()
                 for c in range(classes)]
    ih, iw = ctypes.c_size_t(), ctypes.c_size_t()
    _lib.rw_dataset_image_shape(h, ctypes.byref(ih), ctypes.byref(iw))
    shape = (ih.value, iw.value) if ih.value and iw.value else None
    _arrays.remember_image_shape(x, shape)
    return Dataset(x, y, _lib.rw_dataset_name(h).decode(), names, shape)


def load_dataset(spec, split="train", *, label_column="last",
                 regression=False, samples=0, seed=1):
    """Loads a dataset as NumPy arrays: returns (x, y), x float32 (samples,
    features), y int32 class indices (or float32 targets with
    regression=True).

    spec is what the CLI's --data takes: a built-in name ("fashion-mnist",
    "mnist", "spirals", "moons", "blobs", "xor", "mnist:DIR"), a CSV file,
    or an IDX pair "IMAGES,LABELS" (raw or .gz). split ("train" or "test")
    picks the part of a named dataset. label_column ("last", "first" or a
    0-based index) and regression apply to CSV; samples and seed to the
    generated datasets (samples per split, 0: the default). A CSV file's
    first line is a header when a field is not a number; where some of its
    fields are numbers (a data line with a typo) a RuntimeWarning says it
    was dropped.
    """
    h = _open(spec, split, _options(label_column, regression, samples, seed))
    try:
        return _to_arrays(h)
    finally:
        _lib.rw_dataset_free(h)


# ------------------------------------------------------------------ continual

class ContinualResult:
    """What continual() returns. matrix[i, j]: accuracy on task j after
    training task i; baseline: accuracy before training; seconds and
    importance_kept per task; average_accuracy, backward_transfer and
    forward_transfer (NaN where undefined); task_names; network (the
    trained Network); reports (one dict per task, as reported)."""

    def __repr__(self):
        return ("ContinualResult(tasks=%d, average_accuracy=%.4f, "
                "backward_transfer=%.4f, forward_transfer=%.4f)"
                % (len(self.task_names), self.average_accuracy,
                   self.backward_transfer, self.forward_transfer))


def _parse_generated(spec, prefix, default):
    rest = spec[len(prefix):]
    name, num = rest, default
    if ":" in rest:
        head, tail = rest.rsplit(":", 1)
        if tail.isdigit():
            name, num = head, int(tail)
            if not 1 <= num <= 1000:
                raise ValueError("tasks %s: the number after the colon must be "
                                 "1..1000" % spec)
        elif tail == "":
            raise ValueError("tasks %s: a number must follow the colon" % spec)
    base = name.split(":", 1)[0]
    if base not in _BUILTIN or (name != base and base not in ("mnist",
                                                              "fashion-mnist")):
        raise ValueError("tasks %s: %s is not a built-in dataset (%s)"
                         % (spec, name, ", ".join(_BUILTIN)))
    return name, num


def _array_tasks(tasks, keep):
    """An rw_tasks from [(x_train, y_train, x_test, y_test), ...]."""
    err = _lib.Error_t()
    t = _lib.rw_tasks_create(ctypes.byref(err))
    if not t:
        raise from_status(err.status, err)
    try:
        classes = 0
        prepared = []
        for i, task in enumerate(tasks):
            if len(task) != 4:
                raise ValueError("task %d: expected (x_train, y_train, x_test, "
                                 "y_test)" % i)
            xtr = _arrays.features(task[0], None, "task %d x_train" % i)
            xte = _arrays.features(task[2], xtr.shape[1], "task %d x_test" % i)
            ytr = _arrays.labels(task[1], xtr.shape[0], None, "task %d y_train" % i)
            yte = _arrays.labels(task[3], xte.shape[0], None, "task %d y_test" % i)
            if not len(ytr) or not len(yte):
                raise ValueError("task %d has no samples" % i)
            classes = max(classes, int(ytr.max()) + 1, int(yte.max()) + 1)
            prepared.append((xtr, ytr, xte, yte))
        if not prepared:
            raise ValueError("tasks: no tasks given")
        for i, (xtr, ytr, xte, yte) in enumerate(prepared):
            with _Data(xtr, ytr, classes) as a, _Data(xte, yte, classes) as b:
                check(_lib.rw_tasks_add(t, None, a.handle, b.handle,
                                        ctypes.byref(err)), err)
        return t
    except BaseException:
        _lib.rw_tasks_free(t)
        raise


def _open_tasks(tasks, holdout, seed, opts, keep):
    """(rw_tasks handle, whether the inputs are CSV files) for a spec."""
    err = _lib.Error_t()
    if not isinstance(tasks, str):
        return _array_tasks(list(tasks), keep), False
    split = tasks.startswith("split-")
    if split or tasks.startswith("permuted-"):
        name, num = _parse_generated(tasks, "split-" if split else "permuted-",
                                     2 if split else 5)
        tr = _open(name, "train", opts)
        keep.append(tr)
        te = _open(name, "test", opts)
        keep.append(te)
        h = (_lib.rw_tasks_split(tr, te, num, ctypes.byref(err)) if split else
             _lib.rw_tasks_permuted(tr, te, num, seed, ctypes.byref(err)))
        if not h:
            raise from_status(err.status, err)
        return h, False
    if not holdout > 0:
        raise ValueError("CSV tasks take their test sets from holdout, which "
                         "must be above 0")
    h = _lib.rw_tasks_create(ctypes.byref(err))
    if not h:
        raise from_status(err.status, err)
    try:
        for i, name in enumerate(tasks.split(",")):
            if not name:
                raise ValueError("tasks: empty file name in %r" % tasks)
            full = _open(name, "train", opts)
            a, b = ctypes.c_void_p(), ctypes.c_void_p()
            try:
                st = _lib.rw_dataset_split(full, holdout, seed + i,
                                           ctypes.byref(a), ctypes.byref(b),
                                           ctypes.byref(err))
                if st == _lib.OK:
                    st = _lib.rw_tasks_add(h, _arrays.text(name.rsplit("/", 1)[-1],
                                                           "name"),
                                           a, b, ctypes.byref(err))
                check(st, err)
            finally:
                _lib.rw_dataset_free(full)
                _lib.rw_dataset_free(a)
                _lib.rw_dataset_free(b)
        return h, True
    except BaseException:
        _lib.rw_tasks_free(h)
        raise


_METHODS = ("naive", "replay", "ewc", "si")


def continual(tasks, network=(256, 256), *, method="naive",
              task_incremental=False, memory=1000, replay_batch=None,
              ewc_lambda=1000.0, ewc_gamma=1.0, fisher_samples=1000, si_c=3.0,
              si_xi=0.1, protect_rewiring=True, protect_strength=10.0,
              holdout=0.1, standardize=True, callback=None, task_callback=None,
              activation="relu", init="auto", seed=1, sparse=False,
              epsilon=None, density=None, erk=None, sparse_output=False,
              **options):
    """Trains a sequence of tasks with one network, as `rewire continual`.

    tasks: the CLI's --tasks ("split-fashion-mnist", "split-NAME:P",
    "permuted-fashion-mnist:K", "A.csv,B.csv") or a list of
    (x_train, y_train, x_test, y_test) tuples. network: a Network whose
    inputs and outputs fit the tasks, or the hidden layer sizes of one to
    build (with activation, init, seed and the sparse options, as
    Network). method: naive, replay (memory, replay_batch), ewc
    (ewc_lambda, ewc_gamma, fisher_samples) or si (si_c, si_xi). The
    training options (epochs per task, optimizer, rewiring, ...) are
    Network.train's. callback(metrics) runs after each epoch and
    task_callback(report) after each task; False from either stops.
    Returns a ContinualResult with the accuracy matrix as a NumPy array.
    """
    if method not in _METHODS:
        raise ValueError("method must be one of %s, got %r"
                         % (", ".join(_METHODS), method))
    for name, given in (("memory", memory != 1000 or replay_batch is not None),
                        ("the EWC options", ewc_lambda != 1000.0 or
                         ewc_gamma != 1.0 or fisher_samples != 1000),
                        ("the SI options", si_c != 3.0 or si_xi != 0.1)):
        want = {"memory": "replay", "the EWC options": "ewc",
                "the SI options": "si"}[name]
        if given and method != want:
            raise ValueError("%s apply to method=%r" % (name, want))
    opts = _options("last", False, 0, seed)
    keep = []
    h = None
    result = None
    try:
        h, csv = _open_tasks(tasks, _arrays.number(holdout, "holdout", 0, 0.9),
                             _arrays.number(seed, "seed", 0, 2**64 - 1, True),
                             opts, keep)
        features = _lib.rw_tasks_features(h)
        classes = max(2, _lib.rw_tasks_classes(h))
        if isinstance(network, Network):
            net = network
            if net.inputs != features or net.outputs < classes or not net.classes:
                raise ValueError("the network (%d inputs, %d outputs) does not "
                                 "fit the tasks (%d features, %d classes)"
                                 % (net.inputs, net.outputs, features, classes))
        else:
            try:
                hidden = list(network)
            except TypeError:
                raise TypeError("network must be a Network or the hidden "
                                "layers' sizes, e.g. (256, 256), got %r"
                                % (network,)) from None
            net = Network([features] + hidden + [classes],
                          activation=activation, init=init, seed=seed,
                          sparse=sparse, epsilon=epsilon, density=density,
                          erk=erk, sparse_output=sparse_output)
        if options.get("seed") is None:
            options["seed"] = net.seed
        cc = _lib.rw_continual_defaults()
        cfg, keep_cfg, threads = train_config(options, net.sparse)
        keep.extend(keep_cfg)
        if threads is not None:
            _lib.rw_set_threads(threads)
        cc.train = cfg
        cc.task_incremental = int(_arrays.flag(task_incremental,
                                               "task_incremental"))
        cons = cc.train.consolidation
        cons.protect_rewiring = int(_arrays.flag(protect_rewiring,
                                                 "protect_rewiring"))
        cons.protect_strength = _arrays.number(protect_strength,
                                               "protect_strength", 0, 1e9)
        if method == "replay":
            cc.memory = _arrays.number(memory, "memory", 1, 1 << 28, True)
            if replay_batch is not None:
                cc.replay_batch = _arrays.number(replay_batch, "replay_batch",
                                                 1, 1 << 20, True)
        elif method == "ewc":
            cons.kind = _lib.CONSOLIDATIONS["ewc"]
            cons.lambda_ = _arrays.number(ewc_lambda, "ewc_lambda", 0, 1e12)
            cons.gamma = _arrays.number(ewc_gamma, "ewc_gamma", 0, 1)
            cons.fisher_samples = _arrays.number(fisher_samples,
                                                 "fisher_samples", 0,
                                                 2**63 - 1, True)
        elif method == "si":
            cons.kind = _lib.CONSOLIDATIONS["si"]
            cons.lambda_ = _arrays.number(si_c, "si_c", 0, 1e12)
            cons.si_xi = _arrays.number(si_xi, "si_xi", 1e-12, 1e12)
        standardize = _arrays.flag(standardize, "standardize")
        if csv and standardize and net.input_transform is None:
            err = _lib.Error_t()
            first = _lib.rw_tasks_train(h, 0, ctypes.byref(err))
            if not first:
                raise from_status(err.status, err)
            if first:
                shift = np.empty(features, np.float32)
                scale = np.empty(features, np.float32)
                check(_lib.rw_dataset_fit_standardize(first, shift, scale,
                                                      ctypes.byref(err)), err)
                net.set_input_transform(shift, scale)

        dist.warn_if_alone(stacklevel=3)
        run = Run(callback, net.n_layers)
        reports = []

        def on_task(r, user):
            try:
                r = r.contents
                rep = {"task": r.task, "tasks": r.tasks,
                       "accuracy": [r.accuracy[j] for j in range(r.tasks)],
                       "seconds": r.seconds, "epochs": r.epochs,
                       "train_loss": r.train_loss,
                       "train_accuracy": r.train_accuracy,
                       "penalty": r.penalty,
                       "importance_kept": r.importance_kept,
                       "memory": r.memory}
                reports.append(rep)
                if run.interrupted:
                    return 1 if run.agree(True) else 0
                if task_callback is not None and task_callback(rep) is False:
                    run.stopped = True
                    return 1 if run.agree(True) else 0
            except BaseException as e:  # re-raised after the run
                run.exc = run.exc or e
                return 1 if run.agree(True) else 0
            return 1 if run.agree(False) else 0

        task_fn = _lib.TASK_FN(on_task)
        cc.train.on_progress = run.progress_fn
        cc.train.on_epoch = run.epoch_fn
        cc.on_task = task_fn
        res = _lib.ContinualResult()
        err = _lib.Error_t()
        net._idle("continual")
        with net._lock, run:
            net._training = True
            try:
                st = _lib.rw_continual_run(net._h, h, ctypes.byref(cc),
                                           ctypes.byref(res),
                                           ctypes.byref(err))
            finally:
                net._training = False
        try:
            T = res.tasks
            out = ContinualResult()

            def arr(p, shape):
                if not p or not T:
                    return np.full(shape, np.nan)
                return np.ctypeslib.as_array(p, shape).copy()

            out.matrix = arr(res.matrix, (T, T))
            out.baseline = arr(res.baseline, (T,))
            out.seconds = arr(res.seconds, (T,))
            out.importance_kept = arr(res.importance_kept, (T,))
            out.average_accuracy = res.average_accuracy
            out.backward_transfer = res.backward_transfer
            out.forward_transfer = res.forward_transfer
            out.task_names = [(_lib.rw_tasks_name(h, i) or b"").decode()
                              for i in range(_lib.rw_tasks_count(h))]
            out.network = net
            out.reports = reports
            out.history = run.history
        finally:
            _lib.rw_continual_result_free(ctypes.byref(res))
        run.finish(st, err, out)
        result = out
    finally:
        if h:
            _lib.rw_tasks_free(h)
        for k in keep:
            if isinstance(k, int):
                _lib.rw_dataset_free(k)
    return result


def metrics(matrix, baseline=None):
    """(average accuracy, backward transfer, forward transfer) of a T x T
    accuracy matrix and the untrained baseline (may be None: no forward
    transfer), by rw_continual_metrics. Undefined figures are NaN."""
    R = np.ascontiguousarray(matrix, dtype=np.float64)
    if R.ndim != 2 or R.shape[0] != R.shape[1] or not R.shape[0]:
        raise ValueError("matrix must be square and non-empty, got shape %s"
                         % (R.shape,))
    T = R.shape[0]
    b = None
    if baseline is not None:
        b = np.ascontiguousarray(baseline, dtype=np.float64)
        if b.shape != (T,):
            raise ValueError("baseline must have %d entries, got shape %s"
                             % (T, b.shape))
    out = [ctypes.c_double() for _ in range(3)]
    err = _lib.Error_t()
    dp = ctypes.POINTER(ctypes.c_double)
    check(_lib.rw_continual_metrics(
        R.ctypes.data_as(dp), None if b is None else b.ctypes.data_as(dp), T,
        *[ctypes.byref(o) for o in out], ctypes.byref(err)), err)
    return tuple(o.value for o in out)
