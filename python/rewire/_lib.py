"""Low layer: a one-to-one ctypes mirror of include/rewire.h.

Structures, enums and function prototypes are declared here once, with
argtypes and restype, and nothing else; the Pythonic classes live in
network.py and estimators.py above it. Keep this file in step with the
header (tests/python/test_abi.py checks the structure sizes against it).

The library is found through, in order: the REWIRE_LIBRARY environment
variable (a path), a librewire.so* next to this package, the path recorded
by `cmake --install` (_install.py), the checkout's build/ folder, and the
system's loader (librewire.so.0).
"""
import ctypes
import ctypes.util
import glob
import os

import numpy as np

MAX_LAYERS = 16

# rw_status
OK, ERR_ARG, ERR_NOMEM, ERR_IO, ERR_FORMAT, ERR_DATA, ERR_DIVERGED, \
    ERR_UNSUPPORTED, ERR_INTERRUPTED, ERR_DIST = range(10)

# Enums, by the names the CLI uses for them. The activations' names come
# from the library's one table (rw_activation_name), below.
LAYER_KINDS = {"dense": 0, "sparse": 1}
INITS = {"auto": 0, "he": 1, "xavier": 2}
LOSSES = {"cross_entropy": 0, "mse": 1}
SPARSE_INITS = {"er": 0, "erk": 1, "uniform": 2}
OPTIMIZERS = {"sgd": 0, "momentum": 1, "adam": 2, "adamw": 3}
SPLITS = {"train": 0, "test": 1}
REWIRES = {"none": 0, "set": 1, "rigl": 2, "hebbian": 3}
SCHEDULES = {"constant": 0, "step": 1, "cosine": 2}
PRUNES = {"none": 0, "magnitude": 1, "usage": 2, "hebbian": 3}
CONSOLIDATIONS = {"none": 0, "ewc": 1, "si": 2}
LABEL_LAST, LABEL_FIRST = -1, 0

# The top bit of a sparse layer's column marks a connection present at
# initialisation (src/layers/layers.h: RW_COL_MASK, RW_COL_INITIAL).
COL_MASK = 0x7FFFFFFF

c_size = ctypes.c_size_t
c_double = ctypes.c_double
c_int = ctypes.c_int
c_u64 = ctypes.c_uint64
c_float_p = ctypes.POINTER(ctypes.c_float)
c_i32_p = ctypes.POINTER(ctypes.c_int32)
c_double_p = ctypes.POINTER(ctypes.c_double)
c_size_p = ctypes.POINTER(ctypes.c_size_t)


class Error_t(ctypes.Structure):
    _fields_ = [("status", c_int), ("msg", ctypes.c_char * 512)]


class LayerSpec(ctypes.Structure):
    _fields_ = [("units", c_size), ("act", c_int), ("kind", c_int),
                ("density", c_double)]


class NetConfig(ctypes.Structure):
    _fields_ = [("n_inputs", c_size), ("n_layers", c_size),
                ("layers", LayerSpec * MAX_LAYERS), ("loss", c_int),
                ("init", c_int), ("seed", c_u64)]


class LayerInfo(ctypes.Structure):
    _fields_ = [("kind", c_int), ("act", c_int), ("inputs", c_size),
                ("outputs", c_size), ("connections", c_size),
                ("density", c_double), ("parameters", c_size)]


class DistStats(ctypes.Structure):
    _fields_ = [("ranks", c_int), ("steps", c_size), ("bytes_per_step", c_size),
                ("comm_seconds", c_double), ("checks", c_size),
                ("sharded", c_int), ("shared_weights", c_int)]


class LayerView(ctypes.Structure):
    _fields_ = [("kind", c_int), ("inputs", c_size), ("outputs", c_size),
                ("connections", c_size), ("weights", c_float_p),
                ("bias", c_float_p), ("grad_weights", c_float_p),
                ("grad_bias", c_float_p), ("row_ptr", c_size_p),
                ("cols", ctypes.POINTER(ctypes.c_uint32))]


class OptimConfig(ctypes.Structure):
    _fields_ = [("kind", c_int), ("momentum", c_double), ("nesterov", c_int),
                ("beta1", c_double), ("beta2", c_double), ("eps", c_double),
                ("weight_decay", c_double), ("adam_global_steps", c_int)]


class DataOptions(ctypes.Structure):
    _fields_ = [("label_column", c_int), ("regression", c_int),
                ("no_labels", c_int), ("synth_samples", c_size),
                ("synth_seed", c_u64)]


class EvalResult(ctypes.Structure):
    _fields_ = [("loss", c_double), ("accuracy", c_double),
                ("samples", c_size), ("correct", c_size)]


class RewireStats(ctypes.Structure):
    _fields_ = [("dropped", c_size), ("grown", c_size)]


_L = MAX_LAYERS


class EpochStats(ctypes.Structure):
    _fields_ = [("epoch", c_size), ("train_loss", c_double),
                ("train_accuracy", c_double), ("test_loss", c_double),
                ("test_accuracy", c_double), ("seconds", c_double),
                ("lr", c_double), ("connections", c_size),
                ("layer_connections", c_size * _L),
                ("layer_density", c_double * _L),
                ("layer_neurons", c_size * _L), ("dropped", c_size * _L),
                ("grown", c_size * _L), ("initial_share", c_double * _L),
                ("drop_fraction", c_double), ("pruned", c_size * _L),
                ("neurons_removed", c_size * _L),
                ("neurons_added", c_size * _L),
                ("dormant_fraction", c_double * _L),
                ("effective_rank", c_double * _L),
                ("mean_abs_w", c_double * _L),
                ("units_reset", c_size * _L)]


class Progress(ctypes.Structure):
    _fields_ = [("epoch", c_size), ("epochs", c_size), ("batch", c_size),
                ("batches", c_size), ("loss", c_double),
                ("accuracy", c_double), ("samples_per_second", c_double),
                ("seconds", c_double)]


PROGRESS_FN = ctypes.CFUNCTYPE(c_int, ctypes.POINTER(Progress), ctypes.c_void_p)
EPOCH_FN = ctypes.CFUNCTYPE(c_int, ctypes.POINTER(EpochStats), ctypes.c_void_p)


class PlasticityConfig(ctypes.Structure):
    _fields_ = [("traces", c_int), ("trace_rate", c_double), ("prune", c_int),
                ("prune_to", c_double), ("prune_start", c_double),
                ("prune_end", c_double), ("prune_every", c_size),
                ("usage_decay", c_double), ("permanence", c_int),
                ("perm_up", c_double), ("perm_down", c_double),
                ("perm_threshold", c_double), ("neuron_turnover", c_int),
                ("silent_epochs", c_size), ("silent_level", c_double),
                ("regrow_neurons", c_int)]


class ConsolidationConfig(ctypes.Structure):
    _fields_ = [("kind", c_int), ("lambda_", c_double), ("gamma", c_double),
                ("si_xi", c_double), ("fisher_samples", c_size),
                ("protect_rewiring", c_int), ("protect_strength", c_double)]


class MaintainConfig(ctypes.Structure):
    _fields_ = [("kind", c_int), ("cbp_eta", c_double),
                ("cbp_maturity", c_size), ("cbp_rho", c_double),
                ("cbp_adaptable", c_int), ("redo_every", c_size),
                ("redo_tau", c_double), ("snp_lambda", c_double),
                ("snp_sigma", c_double), ("snp_at_task", c_int),
                ("l2_lambda", c_double), ("probe", c_size),
                ("dormant_tau", c_double)]


class TrainConfig(ctypes.Structure):
    _fields_ = [("epochs", c_size), ("batch", c_size), ("lr", c_double),
                ("optim", OptimConfig), ("schedule", c_int),
                ("lr_min", c_double), ("step_epochs", c_size),
                ("step_gamma", c_double), ("clip_grad", c_double),
                ("seed", c_u64), ("rewire", c_int),
                ("drop_fraction", c_double), ("rewire_every", c_size),
                ("drop_schedule_cosine", c_int), ("rewire_stop", c_double),
                ("drop_by_usage", c_int),
                ("plasticity", PlasticityConfig),
                ("consolidation", ConsolidationConfig),
                ("maintain", MaintainConfig),
                ("replay", ctypes.c_void_p), ("replay_batch", c_size),
                ("class_groups", c_i32_p),
                ("checkpoint_path", ctypes.c_char_p),
                ("checkpoint_every", c_size),
                ("resume_path", ctypes.c_char_p),
                ("on_progress", PROGRESS_FN), ("on_epoch", EPOCH_FN),
                ("user", ctypes.c_void_p)]


class TrainResult(ctypes.Structure):
    _fields_ = [("epochs", c_size), ("train_seconds", c_double),
                ("samples_per_second", c_double),
                ("final_train_loss", c_double),
                ("final_train_accuracy", c_double), ("test_loss", c_double),
                ("test_accuracy", c_double), ("epochs_trained", c_size)]


class TaskReport(ctypes.Structure):
    _fields_ = [("task", c_size), ("tasks", c_size), ("accuracy", c_double_p),
                ("seconds", c_double), ("epochs", c_size),
                ("train_loss", c_double), ("train_accuracy", c_double),
                ("penalty", c_double), ("importance_kept", c_double),
                ("memory", c_size), ("online_accuracy", c_double),
                ("dormant", c_double_p), ("effective_rank", c_double_p),
                ("mean_abs_w", c_double_p)]


TASK_FN = ctypes.CFUNCTYPE(c_int, ctypes.POINTER(TaskReport), ctypes.c_void_p)


class ContinualConfig(ctypes.Structure):
    _fields_ = [("train", TrainConfig), ("memory", c_size),
                ("replay_batch", c_size), ("task_incremental", c_int),
                ("online", c_int),
                ("on_task", TASK_FN), ("user", ctypes.c_void_p)]


class ContinualResult(ctypes.Structure):
    _fields_ = [("tasks", c_size), ("matrix", c_double_p),
                ("baseline", c_double_p), ("seconds", c_double_p),
                ("importance_kept", c_double_p),
                ("hidden", c_size), ("layers", c_size),
                ("online_accuracy", c_double_p), ("dormant", c_double_p),
                ("effective_rank", c_double_p), ("mean_abs_w", c_double_p),
                ("average_accuracy", c_double),
                ("backward_transfer", c_double),
                ("forward_transfer", c_double)]


class RNG(ctypes.Structure):
    """rw_rng: xoshiro256** state, seeded by rw_rng_seed."""
    _fields_ = [("s", c_u64 * 4)]


def f32_array(flags="C_CONTIGUOUS"):
    """A float32 C-contiguous array argument: ctypes refuses anything else."""
    return np.ctypeslib.ndpointer(dtype=np.float32, flags=flags)


def i32_array():
    return np.ctypeslib.ndpointer(dtype=np.int32, flags="C_CONTIGUOUS")


# ---------------------------------------------------------------- loading

def _candidates():
    env = os.environ.get("REWIRE_LIBRARY")
    if env:
        # An explicit choice is the only one tried.
        return [env]
    here = os.path.dirname(os.path.abspath(__file__))
    out = sorted(glob.glob(os.path.join(here, "librewire.so*")))
    try:
        from . import _install  # written by cmake --install
        out.append(_install.LIBRARY)
    except ImportError:
        pass
    # From a checkout: python/rewire -> build/ (scripts/quickstart.sh).
    out.append(os.path.join(here, "..", "..", "build", "librewire.so"))
    out.append(ctypes.util.find_library("rewire") or "librewire.so.0")
    return out


def _prefer_brief_spin():
    # As the CLI does (cli/main.c, prefer_brief_spin): OpenMP threads spin
    # briefly between parallel passes, then sleep, instead of libgomp's long
    # default spin that takes a busy machine's cores from the thread doing
    # the work. libgomp reads this when it loads, so it must be set before
    # the library (and libgomp) is loaded; a policy the user set is kept.
    if "OMP_WAIT_POLICY" not in os.environ and \
            "GOMP_SPINCOUNT" not in os.environ:
        os.environ["GOMP_SPINCOUNT"] = "1000"


def _load():
    _prefer_brief_spin()
    tried = []
    for path in _candidates():
        if os.sep in path and not os.path.exists(path):
            tried.append(path + " (missing)")
            continue
        try:
            return ctypes.CDLL(path), path
        except OSError as e:
            tried.append("%s (%s)" % (path, e))
    raise ImportError(
        "rewire: cannot load librewire.so; build it (scripts/quickstart.sh "
        "or cmake --build build) or set REWIRE_LIBRARY to its path. Tried: "
        + "; ".join(tried))


lib, path = _load()

_P = ctypes.c_void_p
_E = ctypes.POINTER(Error_t)


def _fn(name, restype, *argtypes):
    f = getattr(lib, name)
    f.restype = restype
    f.argtypes = list(argtypes)
    globals()[name] = f


_fn("rw_status_str", ctypes.c_char_p, c_int)
_fn("rw_activation_name", ctypes.c_char_p, c_int)
_fn("rw_activation_parse", c_int, ctypes.c_char_p, ctypes.POINTER(c_int))


def _activation_names():
    names, a = {}, 0
    while a < 64:
        name = lib.rw_activation_name(a).decode()
        if name == "unknown":
            break
        names[name] = a
        a += 1
    return names


ACTIVATIONS = _activation_names()
_fn("rw_error_clear", None, _E)
_fn("rw_set_threads", c_int, c_int)
_fn("rw_get_threads", c_int)
_fn("rw_signal_stack", c_int, _E)
_fn("rw_gemm_info", ctypes.c_char_p)
_fn("rw_version", ctypes.c_char_p)
_fn("rw_isa", ctypes.c_char_p)
_fn("rw_set_isa", c_int, ctypes.c_char_p, _E)
_fn("rw_isa_supported", c_int, ctypes.c_char_p)
_fn("rw_isa_check", c_int, _E)
_fn("rw_dist_available", c_int)
_fn("rw_dist_init", c_int, ctypes.c_void_p, ctypes.c_void_p, _E)
_fn("rw_dist_finalize", None)
_fn("rw_dist_leave", c_int, _E)
_fn("rw_dist_rank", c_int)
_fn("rw_dist_size", c_int)
_fn("rw_dist_abort", None, c_int)
_fn("rw_dist_min_int", c_int, c_int)
_fn("rw_dist_setup_failure", c_int)
_fn("rw_dist_last_stats", DistStats)
_fn("rw_dist_comm_share", c_double)
_fn("rw_dist_transport", ctypes.c_char_p)

_fn("rw_net_config_defaults", NetConfig)
_fn("rw_net_config_mlp", c_int, ctypes.POINTER(NetConfig), c_size, c_size_p,
    c_size, c_size, c_int, c_int, _E)
_fn("rw_net_config_sparsify", c_int, ctypes.POINTER(NetConfig), c_int,
    c_double, c_int, _E)
_fn("rw_net_create", _P, ctypes.POINTER(NetConfig), _E)
_fn("rw_net_free", None, _P)
_fn("rw_net_clone", _P, _P, _E)
_fn("rw_net_inputs", c_size, _P)
_fn("rw_net_outputs", c_size, _P)
_fn("rw_net_layers", c_size, _P)
_fn("rw_net_config_of", ctypes.POINTER(NetConfig), _P)
_fn("rw_net_layer_info", c_int, _P, c_size, ctypes.POINTER(LayerInfo), _E)
_fn("rw_net_parameters", c_size, _P)
_fn("rw_net_connections", c_size, _P)
_fn("rw_net_set_input_transform", c_int, _P, c_float_p, c_float_p, _E)
_fn("rw_net_input_transform", c_int, _P, ctypes.POINTER(c_float_p),
    ctypes.POINTER(c_float_p))
_fn("rw_net_classes", c_size, _P)
_fn("rw_net_set_label_column", c_int, _P, c_int, _E)
_fn("rw_net_label_column", c_int, _P)
_fn("rw_net_set_precision", c_int, _P, c_int, _E)
_fn("rw_net_precision", c_int, _P)
_fn("rw_precision_name", ctypes.c_char_p, c_int)
_fn("rw_precision_parse", c_int, ctypes.c_char_p, ctypes.POINTER(c_int), _E)
_fn("rw_net_predict", c_int, _P, f32_array(), c_size, f32_array(), _E)
_fn("rw_net_layer_view", c_int, _P, c_size, ctypes.POINTER(LayerView), _E)
_fn("rw_net_initial_share", c_double, _P, c_size)

_fn("rw_optim_defaults", OptimConfig, c_int)
_fn("rw_net_gradient", c_int, _P, f32_array(), c_i32_p, c_float_p, c_size,
    c_double_p, c_size_p, _E)
_fn("rw_net_step", c_int, _P, ctypes.POINTER(OptimConfig), c_double, _E)
_fn("rw_net_remove_neurons", c_int, _P, c_size, c_size_p, c_size, _E)
_fn("rw_net_add_neurons", c_int, _P, c_size, c_size, ctypes.POINTER(RNG), _E)
_fn("rw_consolidation_penalty", c_double, _P,
    ctypes.POINTER(ConsolidationConfig))
_fn("rw_consolidation_importance", c_double, _P)

_fn("rw_data_options_defaults", DataOptions)
_fn("rw_dataset_open", _P, ctypes.c_char_p, c_int, ctypes.POINTER(DataOptions), _E)
_fn("rw_dataset_from_arrays", _P, f32_array(), c_i32_p, c_float_p, c_size,
    c_size, c_size, c_size, _E)
_fn("rw_dataset_wrap", _P, f32_array(), c_i32_p, c_float_p, c_size, c_size,
    c_size, c_size, _E)
_fn("rw_dataset_free", None, _P)
_fn("rw_dataset_size", c_size, _P)
_fn("rw_dataset_csv_header", c_size, _P, ctypes.POINTER(c_size),
    ctypes.POINTER(c_size))
_fn("rw_dataset_features", c_size, _P)
_fn("rw_dataset_classes", c_size, _P)
_fn("rw_dataset_targets", c_size, _P)
_fn("rw_dataset_x", c_float_p, _P)
_fn("rw_dataset_labels", c_i32_p, _P)
_fn("rw_dataset_y", c_float_p, _P)
_fn("rw_dataset_image_shape", None, _P, c_size_p, c_size_p)
_fn("rw_dataset_set_image_shape", c_int, _P, c_size, c_size, _E)
_fn("rw_dataset_class_name", ctypes.c_char_p, _P, c_size)
_fn("rw_dataset_name", ctypes.c_char_p, _P)
_fn("rw_dataset_split", c_int, _P, c_double, c_u64, ctypes.POINTER(_P),
    ctypes.POINTER(_P), _E)
_fn("rw_dataset_fit_standardize", c_int, _P, f32_array(), f32_array(), _E)

_fn("rw_net_evaluate", c_int, _P, _P, ctypes.POINTER(EvalResult), c_size_p, _E)
_fn("rw_net_rewire", c_int, _P, c_int, c_double, ctypes.POINTER(RNG),
    ctypes.POINTER(RewireStats), _E)
_fn("rw_net_prune", c_int, _P, c_int, c_double, c_size_p, _E)
_fn("rw_rng_seed", None, ctypes.POINTER(RNG), c_u64)

_fn("rw_plasticity_defaults", PlasticityConfig)
_fn("rw_consolidation_defaults", ConsolidationConfig)
_fn("rw_train_defaults", TrainConfig)
_fn("rw_train", c_int, _P, _P, _P, ctypes.POINTER(TrainConfig),
    ctypes.POINTER(TrainResult), _E)

_fn("rw_net_save", c_int, _P, ctypes.c_char_p, _E)
_fn("rw_net_load", _P, ctypes.c_char_p, _E)
_fn("rw_net_load_buffer", _P, ctypes.c_char_p, c_size, ctypes.c_char_p, _E)

_fn("rw_tasks_permuted", _P, _P, _P, c_size, c_u64, _E)
_fn("rw_tasks_split", _P, _P, _P, c_size, _E)
_fn("rw_tasks_create", _P, _E)
_fn("rw_tasks_add", c_int, _P, ctypes.c_char_p, _P, _P, _E)
_fn("rw_tasks_free", None, _P)
_fn("rw_tasks_count", c_size, _P)
_fn("rw_tasks_features", c_size, _P)
_fn("rw_tasks_classes", c_size, _P)
_fn("rw_tasks_name", ctypes.c_char_p, _P, c_size)
_fn("rw_tasks_train", _P, _P, c_size, _E)
_fn("rw_tasks_test", _P, _P, c_size)
_fn("rw_continual_defaults", ContinualConfig)
_fn("rw_continual_run", c_int, _P, _P, ctypes.POINTER(ContinualConfig),
    ctypes.POINTER(ContinualResult), _E)
_fn("rw_continual_result_free", None, ctypes.POINTER(ContinualResult))
_fn("rw_continual_metrics", c_int, c_double_p, c_double_p, c_size, c_double_p,
    c_double_p, c_double_p, _E)

