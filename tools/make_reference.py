#!/usr/bin/python3
"""Writes the golden fixtures tests/test_reference.c compares rewire against.

Run with Debian's system Python, which has python3-torch and numpy:

    /usr/bin/python3 tools/make_reference.py [OUTDIR]

OUTDIR defaults to tests/fixtures next to this script. Every network is
built in PyTorch in float32 with fixed seeds and written as a small text
file (reference_*.txt) in this format:

    # comment to end of line
    param NAME VALUE                  one word of metadata
    array NAME NDIM D1 .. Dn  v v v   prod(D) numbers, row-major, %.9g

Arrays per file:
    sizes            n_inputs, hidden..., n_outputs
    x                batch x n_inputs input batch
    labels / targets class indices (cross-entropy) or batch x outputs (MSE)
    L<l>.W, L<l>.b   weights (outputs x inputs, as torch.nn.Linear) and bias
    out              softmax probabilities (cross-entropy) or raw outputs
    loss             mean loss over the batch
    L<l>.gW, L<l>.gb gradients of the mean loss
and, for the optimizer file, per optimizer run r:
    param opt<r>.name NAME
    array opt<r>.config 1 8   kind lr momentum nesterov beta1 beta2 eps wd
                              (kind as rw_optim_kind: 0 sgd, 1 momentum,
                              2 adam, 3 adamw)
    array opt<r>.steps 1 1    optimizer steps taken (each recomputes the
                              gradient on the same batch)
    opt<r>.L<l>.W, opt<r>.L<l>.b   parameters after those steps

Weight decay is applied to weights only (biases sit in a param group with
weight_decay=0), as rewire does.

The script refuses seeds whose fixtures would be fragile: a ReLU
pre-activation within MARGIN of its kink (float32 rounding could flip a
unit) or, for the optimizer runs, a non-zero gradient so small that its sign
is decided by rounding (Adam normalises it to a full step). It tries the
next seed in that case, so the output is still deterministic.
"""
import os
import sys

import torch
import torch.nn as nn

torch.set_default_dtype(torch.float32)
torch.use_deterministic_algorithms(True)
torch.set_num_threads(1)

MARGIN = 1e-3       # smallest |pre-activation| allowed before a kink
GRAD_FLOOR = 1e-5   # smallest non-zero |gradient| allowed in optimizer runs

ACTS = {
    "identity": None,
    "relu": nn.ReLU,
    "leaky_relu": lambda: nn.LeakyReLU(0.01),
    "sigmoid": nn.Sigmoid,
    "tanh": nn.Tanh,
}
KINKED = ("relu", "leaky_relu")
OPT_KIND = {"sgd": 0, "momentum": 1, "adam": 2, "adamw": 3}


class MLP(nn.Module):
    def __init__(self, sizes, act):
        super().__init__()
        self.act = act
        self.lins = nn.ModuleList(
            nn.Linear(sizes[i], sizes[i + 1]) for i in range(len(sizes) - 1))

    def forward(self, x, preacts=None):
        for i, lin in enumerate(self.lins):
            x = lin(x)
            if i + 1 < len(self.lins):
                if preacts is not None:
                    preacts.append(x.detach())
                if ACTS[self.act] is not None:
                    x = ACTS[self.act]()(x)
        return x


def loss_of(model, loss, x, y, preacts=None):
    z = model(x, preacts)
    if loss == "cross_entropy":
        return nn.functional.cross_entropy(z, y), torch.softmax(z, dim=1)
    return nn.functional.mse_loss(z, y), z


def make_batch(sizes, loss, batch, gen):
    x = torch.randn(batch, sizes[0], generator=gen)
    if loss == "cross_entropy":
        # Every class at least once when the batch allows, rest random.
        y = torch.randint(0, sizes[-1], (batch,), generator=gen)
        for c in range(min(batch, sizes[-1])):
            y[c] = c
        return x, y
    return x, torch.randn(batch, sizes[-1], generator=gen)


def kink_margin_ok(model, act, loss, x, y):
    if act not in KINKED:
        return True
    pre = []
    with torch.no_grad():
        loss_of(model, loss, x, y, pre)
    return all(p.abs().min().item() > MARGIN for p in pre)


def grads_ok(model):
    for p in model.parameters():
        g = p.grad.abs()
        if ((g > 0) & (g < GRAD_FLOOR)).any():
            return False
    return True


class Writer:
    def __init__(self):
        self.lines = []

    def comment(self, text):
        self.lines.append("# " + text)

    def param(self, name, value):
        self.lines.append("param %s %s" % (name, value))

    def array(self, name, t):
        t = torch.as_tensor(t).detach().to(torch.float64)
        if t.dim() == 0:
            t = t.reshape(1, 1)
        if t.dim() == 1:
            t = t.reshape(1, -1)
        dims = " ".join(str(d) for d in t.shape)
        self.lines.append("array %s %d %s" % (name, t.dim(), dims))
        flat = t.reshape(-1).tolist()
        per_line = t.shape[-1]
        for i in range(0, len(flat), per_line):
            self.lines.append(" ".join("%.9g" % v for v in flat[i:i + per_line]))

    def save(self, path):
        with open(path, "w") as f:
            f.write("\n".join(self.lines) + "\n")


def write_params(w, model, prefix=""):
    for l, lin in enumerate(model.lins):
        w.array("%sL%d.W" % (prefix, l), lin.weight)
        w.array("%sL%d.b" % (prefix, l), lin.bias)


def build(sizes, act, loss, batch, seed):
    torch.manual_seed(seed)
    model = MLP(sizes, act)
    gen = torch.Generator().manual_seed(seed + 1000)
    x, y = make_batch(sizes, loss, batch, gen)
    return model, x, y


def header(w, name, sizes, act, loss, batch, seed):
    w.comment("rewire reference fixture '%s', written by tools/make_reference.py"
              % name)
    w.comment("torch %s, float32, seed %d; regenerate instead of editing"
              % (torch.__version__, seed))
    w.param("act", act)
    w.param("loss", loss)
    w.array("sizes", torch.tensor(sizes, dtype=torch.float64))
    w.array("batch", torch.tensor(float(batch)))


def data_arrays(w, loss, x, y):
    w.array("x", x)
    if loss == "cross_entropy":
        w.array("labels", y.to(torch.float64))
    else:
        w.array("targets", y)


def forward_case(outdir, name, sizes, act, loss, batch, seed0):
    for seed in range(seed0, seed0 + 200):
        model, x, y = build(sizes, act, loss, batch, seed)
        if kink_margin_ok(model, act, loss, x, y):
            break
    else:
        raise SystemExit("%s: no seed gives a safe kink margin" % name)
    w = Writer()
    header(w, name, sizes, act, loss, batch, seed)
    data_arrays(w, loss, x, y)
    write_params(w, model)
    model.zero_grad()
    value, out = loss_of(model, loss, x, y)
    value.backward()
    w.array("out", out)
    w.array("loss", value)
    for l, lin in enumerate(model.lins):
        w.array("L%d.gW" % l, lin.weight.grad)
        w.array("L%d.gb" % l, lin.bias.grad)
    path = os.path.join(outdir, "reference_%s.txt" % name)
    w.save(path)
    print("wrote %s (seed %d)" % (path, seed))


# name, kind, lr, momentum, nesterov, weight_decay
OPT_RUNS = [
    ("sgd", "sgd", 0.1, 0.0, 0, 0.0),
    ("sgd_l2", "sgd", 0.1, 0.0, 0, 0.1),
    ("momentum", "momentum", 0.1, 0.9, 0, 0.0),
    ("nesterov", "momentum", 0.1, 0.9, 1, 0.0),
    ("momentum_l2", "momentum", 0.05, 0.9, 0, 0.1),
    ("adam", "adam", 0.01, 0.0, 0, 0.0),
    ("adam_l2", "adam", 0.01, 0.0, 0, 0.1),
    ("adamw", "adamw", 0.01, 0.0, 0, 0.1),
]
STEPS = 3
BETAS = (0.9, 0.999)
EPS = 1e-8


def make_optimizer(model, kind, lr, mom, nesterov, wd):
    weights = [lin.weight for lin in model.lins]
    biases = [lin.bias for lin in model.lins]
    groups = [{"params": weights, "weight_decay": wd},
              {"params": biases, "weight_decay": 0.0}]
    if kind == "sgd":
        return torch.optim.SGD(groups, lr=lr, momentum=0.0)
    if kind == "momentum":
        return torch.optim.SGD(groups, lr=lr, momentum=mom, nesterov=bool(nesterov))
    if kind == "adam":
        return torch.optim.Adam(groups, lr=lr, betas=BETAS, eps=EPS)
    return torch.optim.AdamW(groups, lr=lr, betas=BETAS, eps=EPS)


def run_optimizer(sizes, act, loss, batch, seed, run):
    """Returns the model after STEPS steps, or None when fragile."""
    _, kind, lr, mom, nesterov, wd = run
    model, x, y = build(sizes, act, loss, batch, seed)
    opt = make_optimizer(model, kind, lr, mom, nesterov, wd)
    for _ in range(STEPS):
        if not kink_margin_ok(model, act, loss, x, y):
            return None
        opt.zero_grad()
        value, _ = loss_of(model, loss, x, y)
        value.backward()
        if not grads_ok(model):
            return None
        opt.step()
    return model


def optim_case(outdir, name, sizes, act, loss, batch, seed0):
    for seed in range(seed0, seed0 + 500):
        model, x, y = build(sizes, act, loss, batch, seed)
        if not kink_margin_ok(model, act, loss, x, y):
            continue
        results = [run_optimizer(sizes, act, loss, batch, seed, r) for r in OPT_RUNS]
        if all(m is not None for m in results):
            break
    else:
        raise SystemExit("%s: no seed gives robust optimizer trajectories" % name)
    w = Writer()
    header(w, name, sizes, act, loss, batch, seed)
    w.comment("each run starts from L*.W/L*.b and takes %d steps on x" % STEPS)
    data_arrays(w, loss, x, y)
    write_params(w, model)
    for r, (run, m) in enumerate(zip(OPT_RUNS, results)):
        rname, kind, lr, mom, nesterov, wd = run
        w.param("opt%d.name" % r, rname)
        w.array("opt%d.config" % r,
                torch.tensor([OPT_KIND[kind], lr, mom, nesterov, BETAS[0],
                              BETAS[1], EPS, wd], dtype=torch.float64))
        w.array("opt%d.steps" % r, torch.tensor(float(STEPS)))
        write_params(w, m, "opt%d." % r)
    path = os.path.join(outdir, "reference_%s.txt" % name)
    w.save(path)
    print("wrote %s (seed %d)" % (path, seed))


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    outdir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        here, "..", "tests", "fixtures")
    os.makedirs(outdir, exist_ok=True)
    mlp = [5, 7, 6, 4]
    for i, act in enumerate(["relu", "leaky_relu", "sigmoid", "tanh", "identity"]):
        forward_case(outdir, "ce_" + act, mlp, act, "cross_entropy", 5, 10 * i + 1)
    forward_case(outdir, "mse_tanh", [4, 6, 5, 3], "tanh", "mse", 6, 101)
    forward_case(outdir, "mse_relu", [4, 6, 3], "relu", "mse", 6, 111)
    optim_case(outdir, "optim", [4, 5, 4, 3], "relu", "cross_entropy", 4, 201)


if __name__ == "__main__":
    main()
