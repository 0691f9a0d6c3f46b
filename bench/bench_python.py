#!/usr/bin/python3
"""The main job (scripts/quickstart.sh) trained through Python and through
the CLI, alternately, on the same data, options and thread count:

    /usr/bin/python3 bench/bench_python.py [--build build] [--runs 2]
        [--threads 2] [--epochs 10]

Compares the training time (train_seconds: the training steps, as both
report it), the wall time and the CPU time (both: loading the data,
building and training the network, testing after each epoch), and checks that both
sides reach the same test accuracy. Without dataset-fashion-mnist it uses
the quickstart's fallback, the two spirals. Run it on a quiet machine; it
is a benchmark, not a test.
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "python"))

FASHION = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"


def main_job(epochs):
    """(data, hidden, CLI arguments, Network keywords, train keywords),
    as scripts/quickstart.sh trains."""
    if os.path.exists(FASHION):
        cli = ["--hidden", "1000,1000,1000", "--epsilon", "20", "--rewire",
               "set", "--drop-schedule", "cosine", "--epochs", str(epochs),
               "--optimizer", "adamw", "--weight-decay", "0.1", "--lr",
               "0.002", "--schedule", "cosine"]
        train = dict(rewire="set", drop_schedule="cosine", epochs=epochs,
                     optimizer="adamw", weight_decay=0.1, lr=0.002,
                     schedule="cosine")
        return "fashion-mnist", [1000, 1000, 1000], cli, dict(epsilon=20), train
    cli = ["--hidden", "64,64", "--epsilon", "4", "--rewire", "set",
           "--epochs", str(epochs * 6), "--lr", "0.01"]
    train = dict(rewire="set", epochs=epochs * 6, lr=0.01)
    return "spirals", [64, 64], cli, dict(epsilon=4), train


def _cpu(who):
    r = resource.getrusage(who)
    return r.ru_utime + r.ru_stime


def run_cli(exe, data, args, threads):
    t = time.perf_counter()
    c = _cpu(resource.RUSAGE_CHILDREN)
    out = subprocess.run([exe, "train", "--data", data, *args, "--threads",
                          str(threads), "--quiet", "--json"], check=True,
                         capture_output=True, text=True).stdout
    wall = time.perf_counter() - t
    cpu = _cpu(resource.RUSAGE_CHILDREN) - c
    r = json.loads(out.strip().splitlines()[-1])
    return r["train_seconds"], wall, r["test_accuracy"], cpu


def run_python(rewire, data, hidden, net_kw, train_kw, threads):
    t = time.perf_counter()
    c = _cpu(resource.RUSAGE_SELF)
    x, y = rewire.load_dataset(data)
    xt, yt = rewire.load_dataset(data, "test")
    net = rewire.Network([x.shape[1]] + hidden + [int(y.max()) + 1], **net_kw)
    r = net.train(x, y, test=(xt, yt), threads=threads, **train_kw)
    wall = time.perf_counter() - t
    return r.train_seconds, wall, r.test_accuracy, _cpu(resource.RUSAGE_SELF) - c


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--epochs", type=int, default=10)
    a = ap.parse_args()
    os.environ.setdefault("REWIRE_LIBRARY",
                          os.path.join(a.build, "librewire.so"))
    import rewire
    exe = os.path.join(a.build, "rewire")
    data, hidden, cli_args, net_kw, train_kw = main_job(a.epochs)
    print("main job on %s, %d threads, %d runs each, alternating; library %s"
          % (data, a.threads, a.runs, rewire.library_path))
    res = {"cli": [], "python": []}
    for i in range(a.runs):
        # Alternate which side goes first, so a drift in the machine's load
        # does not always favour the same one.
        for side in (("cli", "python") if i % 2 == 0 else ("python", "cli")):
            if side == "cli":
                res["cli"].append(run_cli(exe, data, cli_args, a.threads))
            else:
                res["python"].append(run_python(rewire, data, hidden, net_kw,
                                                train_kw, a.threads))
        print("run %d: CLI %.2f s (wall %.2f s, test %.4f, CPU %.1f s)   "
              "Python %.2f s (wall %.2f s, test %.4f, CPU %.1f s)"
              % (i + 1, *res["cli"][-1], *res["python"][-1]))
    cli_t = statistics.median(r[0] for r in res["cli"])
    py_t = statistics.median(r[0] for r in res["python"])
    same = all(abs(c[2] - p[2]) < 1e-12 for c, p in zip(res["cli"],
                                                         res["python"]))
    ratios = [p[0] / c[0] for c, p in zip(res["cli"], res["python"])]
    print("Python/CLI per run: " + ", ".join("%.3f" % r for r in ratios))
    print("median train_seconds: CLI %.3f s, Python %.3f s: Python/CLI = "
          "%.3f (%+.1f%%)" % (cli_t, py_t, py_t / cli_t,
                               100 * (py_t / cli_t - 1)))
    cli_c = statistics.median(r[3] for r in res["cli"])
    py_c = statistics.median(r[3] for r in res["python"])
    print("median CPU time (loading, training, testing; less sensitive to "
          "other load): CLI %.1f s, Python %.1f s: Python/CLI = %.3f"
          % (cli_c, py_c, py_c / cli_c))
    print("same test accuracy on both sides: %s" % ("yes" if same else "NO"))
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
