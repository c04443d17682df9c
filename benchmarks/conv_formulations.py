"""Conv2d (NHWC, stride 1) in each of minitrain's formulations and 2x2 max-pool, beside PyTorch.

Conv candidates (forward; then forward + dL/dx + dL/dW + dL/db), all checked against torch
autograd to 1e-4: each formulation of minitrain.ops.conv_kernels that applies to the shape
(im2col, taps, bands, winograd), the array kernels alone; mt-op (conv2d with its bias, as a
Conv2D layer runs it: the formulation the op picks, the bias added where the kernel writes;
through a GradientTape for forward + backward, without one for the forward alone, as
torch's forward alone runs without autograd); torch;
gemm-np/gemm-torch (im2col's GEMMs alone, in numpy's BLAS and in PyTorch's: the BLAS floor of
a direct convolution). Pools: mt-op, reshape+max (mask gradient), 4-slice maximum, torch.
Page faults: ru_minflt per call, with minitrain's kept freed memory and with malloc's own.

    python benchmarks/conv_formulations.py [--repeats 20] [--threads 1] [--skip-faults]
                                           [--shapes vgg1,lenet2,vgg-p1]
"""
import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import time

from timing import pin_blas_threads

THREADS = pin_blas_threads()  # before numpy and torch load their BLAS

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import minitrain as mt  # noqa: E402
from minitrain.ops import conv_kernels, patches  # noqa: E402
from minitrain.ops.conv import conv2d_bias  # noqa: E402

torch.set_num_threads(THREADS)
F32 = np.float32
# (name, H, Cin, Cout, k, padding) at batch 64
SHAPES = [("lenet1v", 28, 1, 6, 5, "valid"), ("lenet1s", 28, 1, 6, 5, "same"),
          ("lenet2v", 12, 6, 16, 5, "valid"), ("lenet2", 14, 6, 16, 5, "valid"),
          ("lenet2s", 14, 6, 16, 5, "same"), ("vgg1", 32, 3, 32, 3, "same"),
          ("vgg2", 32, 32, 32, 3, "same"), ("vgg3", 16, 32, 64, 3, "same"),
          ("vgg4", 16, 64, 64, 3, "same")]
POOLS = [("lenet-p1", 24, 6), ("lenet-p2", 8, 16), ("vgg-p1", 32, 32), ("vgg-p2", 16, 64)]
MALLOC = {"kept (minitrain's)": {"MINITRAIN_KEEP_FREED_MEMORY": "1"},
          "malloc's own": {"MINITRAIN_KEEP_FREED_MEMORY": "0"}}


def pads_of(k, padding):
    p, q = ((k - 1) // 2, k // 2) if padding == "same" else (0, 0)
    return ((p, q), (p, q))


def nchw(a, axes=(0, 3, 1, 2)):
    return torch.from_numpy(np.ascontiguousarray(a.transpose(axes)))


def torch_conv(tx, tw, tb, tg, pad, backward):
    with torch.set_grad_enabled(backward):
        y = F.conv2d(tx, tw, tb, padding=pad)
    return torch.autograd.grad(y, (tx, tw, tb), tg) if backward else y


def mt_conv(vs, g, padding, backward):
    if not backward:  # inference, as torch's forward alone runs without autograd
        return conv2d_bias(vs[0], vs[1], vs[2], 1, padding.upper())
    with mt.GradientTape() as tape:
        y = conv2d_bias(vs[0], vs[1], vs[2], 1, padding.upper())
    return [y, *tape.gradient(y, list(vs), output_gradients=g)]


def check(name, got, want):
    for label, a, ref in zip(("y", "dx", "dW", "db"), map(np.asarray, got), want):
        err = float(np.abs(a - ref).max() / np.abs(ref).max())
        assert a.shape == ref.shape and err < 1e-4, f"{name} {label}: rel err {err:.2e}"


def formulation(kind, x, w, b, g, pads):
    """One formulation's array kernels: y = conv(x, w) + b; then dx, dW, db as well (dW from
    what the forward kept of x, as in a training step)."""
    def run(backward):
        y, kept = conv_kernels.forward_keeping(x, w, (1, 1), pads, kind)
        y = y + b
        if not backward:
            return y
        return (y, conv_kernels.input_grad(g, w, x.shape, (1, 1), pads, kind),
                conv_kernels.filter_grad(x, g, w.shape, (1, 1), pads, kind, kept),
                g.sum((0, 1, 2)))
    return run


def conv_cases(shape, rng):
    _, h, ci, co, k, padding = shape
    x, b = rng.standard_normal((64, h, h, ci), dtype=F32), rng.standard_normal(co, dtype=F32)
    w = rng.standard_normal((k, k, ci, co), dtype=F32) / (k * k * ci) ** 0.5
    pad, ho = ("same", h) if padding == "same" else (0, h - k + 1)
    g = rng.standard_normal((64, ho, ho, co), dtype=F32)
    tx, tw = nchw(x).requires_grad_(), nchw(w, (3, 2, 0, 1)).requires_grad_()
    tb, tg = torch.from_numpy(b).requires_grad_(), nchw(g)
    y = F.conv2d(tx, tw, tb, padding=pad)
    dx, dw, db = torch.autograd.grad(y, (tx, tw, tb), tg)
    want = [y.detach().numpy().transpose(0, 2, 3, 1), dx.numpy().transpose(0, 2, 3, 1),
            dw.numpy().transpose(2, 3, 1, 0), db.numpy()]
    vs = [mt.Variable(a) for a in (x, w, b)]
    gt = mt.constant(g)

    cands = {kind: formulation(kind, x, w, b, g, pads_of(k, padding))
             for kind in conv_kernels.KINDS if conv_kernels._applies(kind, w.shape)}
    cands["mt-op"] = lambda backward: mt_conv(vs, gt, padding, backward)
    for name, fn in cands.items():
        check(f"{shape[0]} {name}", fn(True), want)
    cands["torch"] = lambda backward: torch_conv(tx, tw, tb, tg, pad, backward)
    cols = patches.im2col_array(x, (k, k), (1, 1), pads_of(k, padding))
    cols, g2, w2 = cols.reshape(g.size // co, -1), g.reshape(-1, co), w.reshape(-1, co)

    def gemms(mm, c, g_, w_):  # im2col's forward GEMM; its three fwd+bwd GEMMs
        return lambda bw: (mm(c, w_), mm(c.T, g_), mm(g_, w_.T)) if bw else mm(c, w_)
    cands["gemm-np"] = gemms(np.matmul, cols, g2, w2)
    cands["gemm-torch"] = gemms(torch.mm, *(torch.from_numpy(a) for a in (cols, g2, w2)))
    return cands


def pool_reshape(x, g):
    n, h, w, c = x.shape
    xr = x.reshape(n, h // 2, 2, w // 2, 2, c)
    y = xr.max(axis=(2, 4))
    return y if g is None else (
        y, ((xr == y[:, :, None, :, None]) * g[:, :, None, :, None]).reshape(x.shape))


def pool_slices(x, g):
    q = [x[:, i::2, j::2] for i in (0, 1) for j in (0, 1)]
    y = np.maximum(np.maximum(q[0], q[1]), np.maximum(q[2], q[3]))
    if g is None:
        return y
    dx, taken = np.empty_like(x), np.zeros(y.shape, bool)
    for (i, j), a in zip(((0, 0), (0, 1), (1, 0), (1, 1)), q):
        first = (a == y) & ~taken
        taken |= first
        dx[:, i::2, j::2] = np.where(first, g, 0)
    return y, dx


def pool_cases(shape, rng):
    _, h, c = shape
    x = rng.standard_normal((64, h, h, c), dtype=F32)
    g = rng.standard_normal((64, h // 2, h // 2, c), dtype=F32)
    tx, tg = nchw(x).requires_grad_(), nchw(g)
    ty = F.max_pool2d(tx, 2, 2)
    want = [ty.detach().numpy().transpose(0, 2, 3, 1),
            torch.autograd.grad(ty, tx, tg)[0].numpy().transpose(0, 2, 3, 1)]
    xv, gt = mt.Variable(x), mt.constant(g)

    def mt_pool(backward):
        with mt.GradientTape() as tape:
            y = mt.nn.max_pool2d(xv, 2, 2, "VALID")
        return (y, tape.gradient(y, xv, output_gradients=gt)) if backward else y

    def torch_pool(backward):
        with torch.set_grad_enabled(backward):
            y = F.max_pool2d(tx, 2, 2)
        return torch.autograd.grad(y, tx, tg) if backward else y

    cands = {"mt-op": mt_pool, "reshape": lambda bw: pool_reshape(x, g if bw else None),
             "slices": lambda bw: pool_slices(x, g if bw else None), "torch": torch_pool}
    for name in ("mt-op", "reshape", "slices"):
        check(f"{shape[0]} {name}", cands[name](True), want)
    return cands


def interleaved(steps, repeats, warmup=2):
    for step in list(steps.values()) * warmup:
        step()
    times, order = {k: [] for k in steps}, list(steps)
    for _ in range(repeats):
        random.shuffle(order)
        for k in order:
            start = time.perf_counter()
            steps[k]()
            times[k].append(1e3 * (time.perf_counter() - start))
    return {k: (statistics.median(t), min(t), max(t)) for k, t in times.items()}


def table(title, cases, repeats):
    print(f"\n{title}\n{'shape':9} {'candidate':10} {'fwd ms [min-max]':>24} {'/torch':>6}"
          f" {'fwd+bwd ms [min-max]':>26} {'/torch':>6}")
    best = {}
    for shape, cands in cases:
        steps = {(k, bw): (lambda f=f, bw=bw: f(bw)) for k, f in cands.items()
                 for bw in (False, True)}
        res = interleaved(steps, repeats)
        for k in cands:
            f, fb = res[(k, False)], res[(k, True)]
            tf, tfb = res[("torch", False)][0], res[("torch", True)][0]
            print(f"{shape:9} {k:10} {f[0]:8.3f} [{f[1]:6.3f}-{f[2]:7.3f}] {f[0] / tf:6.2f}"
                  f" {fb[0]:9.3f} [{fb[1]:7.3f}-{fb[2]:7.3f}] {fb[0] / tfb:6.2f}")
        numpy_only = [k for k in cands if k not in ("torch", "mt-op", "gemm-np", "gemm-torch")]
        win = min(numpy_only, key=lambda k: res[(k, True)][0])
        best[shape] = (win, res[(win, True)][0], res[(numpy_only[0], True)][0],
                       res[("mt-op", True)][0], res[("torch", True)][0])
    print("best numpy fwd+bwd per shape: shape winner ms | first-listed ms | mt-op ms | torch ms")
    for shape, (win, ms, base, mtop, tref) in best.items():
        print(f"  {shape:9} {win:10} {ms:8.3f} | {base:8.3f} ({base / ms:4.2f}x) | "
              f"{mtop:8.3f} | {tref:8.3f} (winner/torch {ms / tref:4.2f})")


def faults_child(repeats):
    """One setting: minor faults and ms per fwd+bwd call, on the VGG-2 and LeNet-1 shapes."""
    rng, out = np.random.default_rng(0), {}
    for shape in (SHAPES[6], SHAPES[0]):
        cands = conv_cases(shape, rng)
        for k in [k for k in cands if k not in ("gemm-np", "gemm-torch")]:
            list(map(cands[k], [True] * 3))  # warm-up
            flt, ms = [], []
            for _ in range(repeats):
                f0, t0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt, time.perf_counter()
                cands[k](True)
                ms.append(1e3 * (time.perf_counter() - t0))
                flt.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0)
            out[f"{shape[0]} {k}"] = (statistics.median(flt), statistics.median(ms))
    print(json.dumps(out))


def faults(repeats):
    print("\nminor page faults per fwd+bwd call (median) / ms per call (median)")
    results = {}
    for label, env in MALLOC.items():
        cmd = [sys.executable, os.path.abspath(__file__), "--faults-child", "--repeats",
               str(repeats), "--threads", str(THREADS)]
        out = subprocess.run(cmd, env={**os.environ, **env}, capture_output=True, check=True)
        results[label] = json.loads(out.stdout.decode().strip().splitlines()[-1])
    print(f"{'call':18}" + "".join(f"{label:>22}" for label in results))
    for key in next(iter(results.values())):
        print(f"{key:18}" + "".join(f"{r[key][0]:>11.0f} /{r[key][1]:8.2f}"
                                    for r in results.values()))


def chosen(names):
    """A test of shape names: every one for "all", else those listed (unknown ones refused)."""
    if names == "all":
        return lambda name: True
    known = {s[0] for s in SHAPES + POOLS}
    wanted = set(names.split(","))
    if wanted - known:
        raise SystemExit(f"--shapes: unknown {sorted(wanted - known)}; known: "
                         f"{', '.join(s[0] for s in SHAPES + POOLS)}")
    return wanted.__contains__


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--threads", default="1")
    parser.add_argument("--faults-child", action="store_true")
    parser.add_argument("--skip-faults", action="store_true")
    parser.add_argument("--shapes", default="all",
                        help="comma-separated conv and pool shape names (default all)")
    args = parser.parse_args()
    if args.faults_child:
        return faults_child(args.repeats)
    env = {k: os.environ.get(k) for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    print(f"numpy {np.__version__}, torch {torch.__version__}, threads {THREADS} (torch "
          f"{torch.get_num_threads()}), {env}, batch 64, float32, repeats {args.repeats}")
    rng, wanted = np.random.default_rng(0), chosen(args.shapes)
    conv = [(s[0], conv_cases(s, rng)) for s in SHAPES if wanted(s[0])]
    print("all candidates match torch autograd (y, dx, dW, db) to 1e-4 relative")
    if conv:
        table("conv2d stride 1 (fwd+bwd = y, dx, dW, db)", conv, args.repeats)
    pools = [(s[0], pool_cases(s, rng)) for s in POOLS if wanted(s[0])]
    if pools:
        table("max_pool2d 2x2 stride 2", pools, args.repeats)
    if not args.skip_faults:
        faults(args.repeats)


if __name__ == "__main__":
    main()
