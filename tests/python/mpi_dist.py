"""Data-parallel training from Python, run by tests/mpi_python.sh under
mpirun (and once without it). Not a pytest module: every rank runs it.

    mpi_dist.py MODE OUT [static|set]

MODE train: trains a sparse network one epoch (global batch 64) and writes,
from every rank, OUT.rankR.json (the result's figures and a hash of the
network's bytes) and, from rank 0, OUT.pred (the test predictions).
stop: rank 1's callback stops training after epoch 1 of 3, and continual
learning after task 1 of 3.
raise: rank 1's callback raises after epoch 1 while rank 0 trains on
(the job must end).
setup: rank 1 alone asks to resume from a missing checkpoint.
alone: trains without dist_init (the warning).
mpi4py: mpi4py starts MPI first; rewire joins it and mpi4py ends it.
sysexit: rank 1's callback calls sys.exit(3) while rank 0 trains on.
exit0: rank 1 calls sys.exit(0) before training, which rank 0 then starts
(the job must end, non-zero).
late: both train; rank 0 takes 3 s longer to leave (the job ends normally).
sigint: trains long; tests/mpi_python.sh sends SIGINT to rank 1 (OUT.pid1).
estimator: MLPClassifier with random_state=None (a seed per process).
finalized: mpi4py's MPI.Finalize after rewire started MPI, then training.
shard: each rank trains on its own half of the data (refused)."""
import hashlib
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..",
                                "python"))
import numpy as np  # noqa: E402

import rewire  # noqa: E402

mode, out = sys.argv[1], sys.argv[2]
topo = sys.argv[3] if len(sys.argv) > 3 else "static"

if mode == "mpi4py":
    from mpi4py import MPI
if mode != "alone":
    n = rewire.dist_init()
if mode == "finalized":
    from mpi4py import MPI
    MPI.Finalize()
    assert n == rewire.ranks() and 0 <= rewire.rank() < n
rank = rewire.rank()
rewire.set_threads(1)

# Four Gaussian blobs in 20 dimensions, the same on every rank.
g = np.random.default_rng(7)
centres = g.normal(0, 1.2, (4, 20))
y = g.integers(0, 4, 3000).astype(np.int32)
x = (centres[y] + g.normal(0, 3.0, (3000, 20))).astype(np.float32)
xt, yt = x[2000:], y[2000:]
x, y = x[:2000], y[:2000]

net = rewire.Network([20, 128, 128, 4], sparse=True, epsilon=8, seed=3)
opts = dict(batch=64, lr=0.05, optimizer="momentum")
if topo == "set":
    opts.update(rewire="set", rewire_every=5)
else:
    opts.update(rewire="none")

if mode in ("train", "alone", "mpi4py"):
    r = net.train(x, y, epochs=1, **opts)
    rec = {"ranks": r.ranks, "allreduce": r.allreduce,
           "bytes": r.allreduce_bytes_per_step, "comm_share": r.comm_share,
           "sharded_step": r.sharded_step,
           "shared_weights": r.shared_weights, "epochs": r.epochs,
           "model": hashlib.sha256(net.to_bytes()).hexdigest(),
           "accuracy": net.evaluate(xt, yt)["accuracy"]}
    with open("%s.rank%d.json" % (out, rank), "w") as f:
        json.dump(rec, f)
    if rank == 0:
        np.savetxt(out + ".pred", net.predict(xt), fmt="%d")
    if mode == "mpi4py":
        models = MPI.COMM_WORLD.allgather(rec["model"])
        assert MPI.COMM_WORLD.Get_size() == r.ranks == 2, r.ranks
        assert len(set(models)) == 1, models
elif mode == "stop":
    r = net.train(x, y, epochs=3,
                  callback=lambda m: not (rank == 1 and m["epoch"] == 1),
                  **opts)
    # And a task callback that stops continual learning on rank 1 alone.
    tasks = [(x[i::3], y[i::3], xt, yt) for i in range(3)]
    c = rewire.continual(tasks, network=(32,), epochs=1, seed=5,
                         task_callback=lambda t: not (rank == 1 and
                                                      t["task"] == 0))
    with open("%s.rank%d.json" % (out, rank), "w") as f:
        json.dump({"epochs": r.epochs, "stopped": r.stopped,
                   "model": hashlib.sha256(net.to_bytes()).hexdigest(),
                   "tasks": len(c.reports)}, f)
elif mode == "raise":
    def cb(m):
        if rank == 1 and m["epoch"] == 1:
            raise RuntimeError("rank 1's callback gives up")
    # The stop is agreed, so rank 0 returns from the first call; rank 1
    # raises. Rank 0's second call would wait for rank 1 forever if its
    # exception did not end the job.
    net.train(x, y, epochs=3, callback=cb, **opts)
    net.train(x, y, epochs=20, **opts)
    with open("%s.rank%d.done" % (out, rank), "w") as f:
        f.write("finished\n")
elif mode == "setup":
    resume = os.path.join(os.path.dirname(out), "missing.ckpt") \
        if rank == 1 else None
    try:
        net.train(x, y, epochs=1, resume=resume, **opts)
    except rewire.Error as e:
        with open("%s.rank%d.err" % (out, rank), "w") as f:
            f.write("%s %s %s\n" % (type(e).__name__,
                                    getattr(e, "all_ranks", False), e))
        raise
elif mode == "sysexit":
    def cb(m):
        if rank == 1 and m["epoch"] == 1:
            sys.exit(3)
    net.train(x, y, epochs=3, callback=cb, **opts)
    net.train(x, y, epochs=20, **opts)
    with open("%s.rank%d.done" % (out, rank), "w") as f:
        f.write("finished\n")
elif mode == "exit0":
    if rank == 1:
        sys.exit(0)
    net.train(x, y, epochs=20, **opts)
    with open("%s.rank%d.done" % (out, rank), "w") as f:
        f.write("finished\n")
elif mode == "late":
    net.train(x, y, epochs=1, **opts)
    if rank == 0:
        import time
        time.sleep(3)
    with open("%s.rank%d.done" % (out, rank), "w") as f:
        f.write("finished\n")
elif mode == "sigint":
    with open("%s.pid%d" % (out, rank), "w") as f:
        f.write("%d\n" % os.getpid())
    try:
        net.train(x, y, epochs=400, **opts)
    except rewire.Interrupted as e:
        with open("%s.rank%d.err" % (out, rank), "w") as f:
            f.write("Interrupted %s\n" % getattr(e, "all_ranks", False))
        raise
    # Rank 0 stopped with rank 1 (agreed) and trains on: rank 1's
    # Interrupted must end the job, or this waits for ever.
    net.train(x, y, epochs=20, **opts)
    with open("%s.rank%d.done" % (out, rank), "w") as f:
        f.write("finished\n")
elif mode == "estimator":
    clf = rewire.MLPClassifier(hidden_layer_sizes=(64,), rewire="set",
                               epsilon=2, max_iter=2, batch_size=64)
    clf.fit(x, y)
    clf.partial_fit(x, y)
    with open("%s.rank%d.json" % (out, rank), "w") as f:
        json.dump({"model": hashlib.sha256(
            clf.network_.to_bytes()).hexdigest()}, f)
elif mode == "shard":
    # Each rank given its own half, as other frameworks want it.
    try:
        net.train(x[rank::2], y[rank::2], epochs=1, **opts)
    except rewire.DistError as e:
        with open("%s.rank%d.err" % (out, rank), "w") as f:
            f.write("DistError %s %s\n" % (getattr(e, "all_ranks", False), e))
        raise
elif mode == "finalized":
    try:
        net.train(x, y, epochs=1, **opts)
    except rewire.DistError as e:
        with open("%s.rank%d.err" % (out, rank), "w") as f:
            f.write("DistError %s\n" % e)
        sys.exit(1)
else:
    sys.exit("mpi_dist.py: unknown mode " + mode)
