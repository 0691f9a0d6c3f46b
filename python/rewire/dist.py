"""Data-parallel training under mpirun, as `mpirun -np N rewire train`.

    import rewire
    rewire.dist_init()                # joins the ranks mpirun started
    x, y = rewire.load_dataset("fashion-mnist")
    net = rewire.Network([784, 1000, 1000, 10], epsilon=20)
    r = net.train(x, y, epochs=3, rewire="set")   # every rank, same data
    if rewire.rank() == 0:
        print(r.ranks, r.comm_share)
        net.save("model.rwm")

After dist_init, Network.train and rewire.continual are data-parallel by
themselves (the library's rw_train): every rank runs the same script on the
same data, takes its share of every batch (batch= is the global batch),
and ends with the same network. What the script itself prints or writes is
its own business: do it on rank 0.

Each rank must reach every training call. What stops training is agreed
at an epoch's (or task's) end: when the callback of any rank returns False
or raises, or a SIGINT reaches a rank, every rank stops there. An exception
that nothing catches on one rank would leave the others waiting in a
collective, so dist_init installs a sys.excepthook that prints it and ends
every rank (rw_dist_abort, a non-zero exit); an exception that every rank
raises alike at the end of a run (a failure rw_train agreed on before
training, an interrupt on every rank) is marked all_ranks and left to end
normally. A sys.exit in a callback on some ranks only ends every rank too.
A rank that leaves early outside training (a sys.exit, or a script that
skips a training call on some ranks) waits at exit for the others, and
ends every rank (exit status 1, with a message naming the ranks) as soon
as one of them is waiting in a collective call that it never makes;
dist_abort(code) ends every rank at once with a status of your choice.
"""
import atexit
import ctypes
import os
import sys
import warnings

from . import _lib
from .errors import check

# The variables mpirun (Open MPI) or a PMI launcher (MPICH's Hydra, Slurm)
# sets in every rank; the library looks for the same (transport_mpi.c).
_LAUNCH_VARS = ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "PMI_RANK")

_state = {"joined": False, "hook": None, "warned": False}


def launched_by_mpirun():
    """Whether this process was started by mpirun (or a PMI launcher)."""
    return any(v in os.environ for v in _LAUNCH_VARS)


def dist_init():
    """Joins the ranks when this process was started by mpirun, and returns
    their number (1 without mpirun, or with a library built without MPI).
    Call it once, before training; calling it again does nothing. Where
    mpi4py (or another library) has started MPI already, it joins that
    MPI_COMM_WORLD. Raises rewire.DistError when MPI fails to start."""
    if not _state["joined"]:
        err = _lib.Error_t()
        check(_lib.rw_dist_init(None, None, ctypes.byref(err)), err)
        _state["joined"] = True
        atexit.register(dist_finalize)
        if _lib.rw_dist_size() > 1 and _state["hook"] is None:
            _state["hook"] = sys.excepthook
            sys.excepthook = _end_every_rank
    return _lib.rw_dist_size()


def dist_finalize():
    """Leaves the ranks (MPI_Finalize when dist_init started MPI). Runs by
    itself at exit; MPI cannot start again in the same process. It first
    waits for every rank to leave too; when another rank is waiting in
    training that this rank never joined (it left early: a sys.exit or the
    end of the script on some ranks only), it says so and ends every rank
    with exit status 1 (dist_abort) instead of waiting for ever."""
    if _state["joined"]:
        _state["joined"] = False
        if _state["hook"] is not None and sys.excepthook is _end_every_rank:
            sys.excepthook = _state["hook"]
        _state["hook"] = None
        err = _lib.Error_t()
        if _lib.rw_dist_leave(ctypes.byref(err)) != 0:
            sys.stderr.write("[rank %d] rewire: %s; stopping every rank\n"
                             % (_lib.rw_dist_rank(),
                                bytes(err.msg).split(b"\0", 1)[0]
                                .decode("utf-8", "replace")))
            dist_abort(1)
        _lib.rw_dist_finalize()


def rank():
    """This process's rank, 0 .. ranks() - 1 (0 before dist_init)."""
    return _lib.rw_dist_rank()


def ranks():
    """The number of ranks (1 before dist_init, or without mpirun)."""
    return _lib.rw_dist_size()


def dist_abort(code=1):
    """Ends every rank with exit status `code` (MPI_Abort); with one rank it
    returns and does nothing. For an error that one rank alone met while the
    others may be waiting in training."""
    sys.stdout.flush()
    sys.stderr.flush()
    _lib.rw_dist_abort(int(code))


def _end_every_rank(tp, value, tb):
    hook = _state["hook"] or sys.__excepthook__
    hook(tp, value, tb)
    if _lib.rw_dist_size() > 1 and not getattr(value, "all_ranks", False):
        sys.stderr.write("[rank %d] rewire: an uncaught %s ends every rank\n"
                         % (_lib.rw_dist_rank(), tp.__name__))
        dist_abort(1)


def agree_stop(local):
    """Whether any rank wants to stop (local: this rank's wish). A
    collective: every rank calls it at the same point of training. With one
    rank rw_dist_min_int returns its argument."""
    return _lib.rw_dist_min_int(0 if local else 1) == 0


def warn_if_alone(stacklevel=2):
    """Started by mpirun without dist_init, or with a library built without
    MPI: each process would train alone, on all the data. Says so once."""
    if _state["warned"] or _state["joined"] or not launched_by_mpirun():
        return
    if not _lib.rw_dist_available():
        why = ("started by mpirun, but this librewire was built without MPI "
               "(rewire.version() says so): every process trains alone on "
               "all the data")
    elif _lib.rw_dist_size() == 1:
        why = ("started by mpirun, but rewire.dist_init() was not called: "
               "every process trains alone on all the data. Call "
               "rewire.dist_init() first to train data-parallel.")
    else:
        return
    _state["warned"] = True
    warnings.warn(why, RuntimeWarning, stacklevel=stacklevel)


def agree_seed(seed):
    """One seed for every rank (the smallest rank's wish): the estimators
    draw theirs from random_state, which may differ per process. A
    collective under mpirun."""
    return _lib.rw_dist_min_int(int(seed))


def leave_together(e):
    """After a run that every rank ended at the same point, with e this
    rank's exception or None: when every rank leaves with one, e is marked
    all_ranks (leaving through it ends no rank); a SystemExit on some ranks
    only, which sys.excepthook never sees, ends every rank here."""
    everyone = _lib.rw_dist_min_int(0 if e is None else 1) == 1
    if e is None:
        return None
    if everyone:
        e.all_ranks = True
    elif isinstance(e, SystemExit):
        code = e.code if isinstance(e.code, int) and e.code else 1
        sys.stderr.write("[rank %d] rewire: sys.exit(%r) on this rank alone "
                         "ends every rank\n" % (_lib.rw_dist_rank(), e.code))
        dist_abort(code)
    return e


def mark_agreed(e):
    """Marks an exception from a failed run that every rank raised alike (a
    failure before training), so that leaving through it ends no rank."""
    if _lib.rw_dist_size() > 1 and _lib.rw_dist_setup_failure() >= 0:
        e.all_ranks = True
    return e


def run_stats():
    """The last run's communication, as TrainResult reports it."""
    s = _lib.rw_dist_last_stats()
    n = _lib.rw_dist_size()
    return {"ranks": n,
            "allreduce": (_lib.rw_dist_transport() or b"none").decode(),
            "allreduce_bytes_per_step": s.bytes_per_step if n > 1 else 0,
            "comm_share": _lib.rw_dist_comm_share() if n > 1 else 0.0,
            "sharded_step": bool(s.sharded) if n > 1 else False,
            "shared_weights": bool(s.shared_weights) if n > 1 else False}
