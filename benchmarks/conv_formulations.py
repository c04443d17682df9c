"""Conv2d (NHWC, stride 1) and 2x2 max-pool formulations in numpy, beside PyTorch CPU.

Conv candidates (forward; then dL/dx, dL/dW, dL/db), all checked against torch autograd to 1e-4:
im2col (minitrain's own im2col/col2im array kernels + GEMMs: today's algorithm); shift (pad once,
flatten to (N*Hp*Wp, Cin) rows, k*k GEMMs on slices shifted by dy*Wp+dx rows, accumulated on the
padded grid and cropped), -blk (accumulated in cache-sized row blocks), -row (the kw taps of a
kernel row fused: k GEMMs of K = kw*Cin), -pool (blocked, buffers kept across calls); mt-op (the
real ops through a GradientTape); gemm-np/gemm-torch (im2col's GEMMs alone: the BLAS floor).
Pools: mt-op, reshape+max (mask gradient), 4-slice maximum (first-max gradient), torch.
Page faults: ru_minflt per call, one subprocess per MALLOC_* setting.

    python benchmarks/conv_formulations.py [--repeats 20] [--threads 1] [--skip-faults]
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
from minitrain.ops.conv_kernels import col2im_array as _col2im_array  # noqa: E402
from minitrain.ops.conv_kernels import im2col_array as _im2col_array  # noqa: E402

torch.set_num_threads(THREADS)
F32 = np.float32
# (name, H, Cin, Cout, k, padding) at batch 64
SHAPES = [("lenet1v", 28, 1, 6, 5, "valid"), ("lenet1s", 28, 1, 6, 5, "same"),
          ("lenet2v", 12, 6, 16, 5, "valid"), ("lenet2", 14, 6, 16, 5, "valid"),
          ("lenet2s", 14, 6, 16, 5, "same"), ("vgg1", 32, 3, 32, 3, "same"),
          ("vgg2", 32, 32, 32, 3, "same"), ("vgg3", 16, 32, 64, 3, "same"),
          ("vgg4", 16, 64, 64, 3, "same")]
POOLS = [("lenet-p1", 24, 6), ("lenet-p2", 8, 16), ("vgg-p1", 32, 32), ("vgg-p2", 16, 64)]
TRIM = {"MALLOC_TRIM_THRESHOLD_": str(1 << 31)}
MALLOC = {"default": {}, "trim2G": TRIM,
          "mmap32M+trim": {"MALLOC_MMAP_THRESHOLD_": str(32 << 20), **TRIM},
          "mmap1G+trim": {"MALLOC_MMAP_THRESHOLD_": str(1 << 30), **TRIM},
          "toppad256M+trim": {"MALLOC_TOP_PAD_": str(256 << 20), **TRIM}}


def pads_of(k, padding):
    p, q = ((k - 1) // 2, k // 2) if padding == "same" else (0, 0)
    return ((p, q), (p, q))


# --- (a) im2col: minitrain's array kernels ----------------------------------------------------
def im2col_fwd(x, w, b, padding):
    kh, kw, ci, co = w.shape
    cols = _im2col_array(x, (kh, kw), (1, 1), pads_of(kh, padding))
    y = cols.reshape(-1, kh * kw * ci) @ w.reshape(-1, co) + b
    return y.reshape(cols.shape[:3] + (co,)), cols


def im2col_bwd(x, w, cols, g, padding):
    co = w.shape[3]
    g2 = g.reshape(-1, co)
    dw = (cols.reshape(g2.shape[0], -1).T @ g2).reshape(w.shape)
    dcols = (g2 @ w.reshape(-1, co).T).reshape(cols.shape)
    dx = _col2im_array(dcols, x.shape, w.shape[:2], (1, 1), pads_of(w.shape[0], padding))
    return dx, dw, g2.sum(0)


# --- (b) shifted-slice GEMMs on the flattened padded image ------------------------------------
def fresh(tag, shape, zero=None):
    """np.empty / np.zeros on every call (what a numpy op does today)."""
    return (np.zeros if zero else np.empty)(shape, F32)


def pool():
    """Buffers kept across calls by (tag, shape), zeroed once (the callers rewrite the rest)."""
    bufs = {}
    return lambda tag, shape, zero=None: bufs[(tag, shape)] if (tag, shape) in bufs \
        else bufs.setdefault((tag, shape), np.zeros(shape, F32))


def tap_sum(base, taps, out, alloc, block):
    """out[r] = sum over taps (off, wm) of base[r + off] @ wm, in row blocks (block=None: sized
    so a block of accumulator and product stays in cache; numpy's matmul cannot add into out)."""
    block = min(block or max(256, (1 << 17) // out.shape[1]), len(out))
    tmp = alloc(f"tmp{out.shape[1]}", (block, out.shape[1]))
    for r0 in range(0, len(out), block):
        r1 = min(r0 + block, len(out))
        acc, t = out[r0:r1], tmp[:r1 - r0]
        np.matmul(base[r0 + taps[0][0]:r1 + taps[0][0]], taps[0][1], out=acc)
        for off, wm in taps[1:]:
            np.matmul(base[r0 + off:r1 + off], wm, out=t)
            acc += t


def shift_fwd(x, w, b, padding, alloc, fuse_row=False, block=None):
    n, h, wd, ci = x.shape
    kh, kw, _, co = w.shape
    (t, bt), (lf, rt) = pads_of(kh, padding)
    hp, wp = h + t + bt, wd + lf + rt
    ho, wo, m = hp - kh + 1, wp - kw + 1, n * hp * wp
    xp = x
    if t or bt or lf or rt:
        xp = alloc("xp", (n, hp, wp, ci), zero="once")
        xp[:, t:t + h, lf:lf + wd] = x
    rows = xp.reshape(m, ci)
    base, taps = rows, [(i * wp + j, w[i, j]) for i in range(kh) for j in range(kw)]
    if fuse_row:  # base[r] = rows[r:r + kw] flattened; the tail rows only feed dropped outputs
        base = alloc("base", (m, kw * ci), zero="once")
        for j in range(kw):
            base[:m - j, j * ci:(j + 1) * ci] = rows[j:]
        taps = [(i * wp, w[i].reshape(kw * ci, co)) for i in range(kh)]
    span = (kh - 1) * wp + kw - 1
    count = m - span  # padded-grid rows whose window stays inside the array
    full = alloc("y", (m, co))
    tap_sum(base, taps, full[:count], alloc, block)
    y = np.add(full.reshape(n, hp, wp, co)[:, :ho, :wo], b, out=alloc("out", (n, ho, wo, co)))
    geo = (n, h, wd, ci, kh, kw, co, t, lf, hp, wp, ho, wo, m, span, count, block)
    return y, (base, taps, geo, fuse_row)


def shift_bwd(saved, g, alloc):
    base, taps, geo, fuse_row = saved
    n, h, wd, ci, kh, kw, co, t, lf, hp, wp, ho, wo, m, span, count, block = geo
    # g on the padded grid, with span zero rows in front: dB[s] = sum_off G[s - off] @ W^T
    ge = alloc("ge", (span + m, co), zero="once")
    ge[span:].reshape(n, hp, wp, co)[:, :ho, :wo] = g
    gl = ge[span:span + count]
    dw = np.stack([base[off:off + count].T @ gl for off, _ in taps]).reshape(kh, kw, ci, co)
    dbase = alloc("dbase", (m, base.shape[1]))
    tap_sum(ge, [(span - off, wm.T) for off, wm in taps], dbase, alloc, block)
    drows = dbase
    if fuse_row:  # fold the kw column blocks back onto their rows
        drows = alloc("drows", (m, ci))
        drows[:] = dbase[:, :ci]
        for j in range(1, kw):
            drows[j:] += dbase[:m - j, j * ci:(j + 1) * ci]
    dx = drows.reshape(n, hp, wp, ci)[:, t:t + h, lf:lf + wd].copy()
    return dx, dw, g.sum((0, 1, 2))


def nchw(a, axes=(0, 3, 1, 2)):
    return torch.from_numpy(np.ascontiguousarray(a.transpose(axes)))


def torch_conv(tx, tw, tb, tg, pad, backward):
    with torch.set_grad_enabled(backward):
        y = F.conv2d(tx, tw, tb, padding=pad)
    return torch.autograd.grad(y, (tx, tw, tb), tg) if backward else y


def mt_conv(vs, g, padding, backward):
    with mt.GradientTape() as tape:
        y = mt.nn.bias_add(mt.nn.conv2d(vs[0], vs[1], 1, padding.upper()), vs[2])
    return [y, *tape.gradient(y, list(vs), output_gradients=g)] if backward else y


def check(name, got, want):
    for label, a, ref in zip(("y", "dx", "dW", "db"), map(np.asarray, got), want):
        err = float(np.abs(a - ref).max() / np.abs(ref).max())
        assert a.shape == ref.shape and err < 1e-4, f"{name} {label}: rel err {err:.2e}"


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

    def im2col(backward):
        y, cols = im2col_fwd(x, w, b, padding)
        return (y, *im2col_bwd(x, w, cols, g, padding)) if backward else y

    def shift(fuse_row, alloc, block=None):
        def run(backward):
            y, saved = shift_fwd(x, w, b, padding, alloc, fuse_row, block)
            return (y, *shift_bwd(saved, g, alloc)) if backward else y
        return run

    cands = {"im2col": im2col, "shift": shift(False, fresh, 1 << 30),
             "shift-blk": shift(False, fresh), "shift-row": shift(True, fresh),
             "shift-pool": shift(False, pool()),
             "mt-op": lambda backward: mt_conv(vs, gt, padding, backward)}
    for name, fn in cands.items():
        check(f"{shape[0]} {name}", fn(True), want)
    cands["torch"] = lambda backward: torch_conv(tx, tw, tb, tg, pad, backward)
    cols, g2, w2 = im2col_fwd(x, w, b, padding)[1].reshape(g.size // co, -1), g.reshape(-1, co), \
        w.reshape(-1, co)

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
        for k in ("im2col", "shift-blk", "shift-pool", "mt-op", "torch"):
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


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--threads", default="1")
    parser.add_argument("--faults-child", action="store_true")
    parser.add_argument("--skip-faults", action="store_true")
    args = parser.parse_args()
    if args.faults_child:
        return faults_child(args.repeats)
    env = {k: os.environ.get(k) for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    print(f"numpy {np.__version__}, torch {torch.__version__}, threads {THREADS} (torch "
          f"{torch.get_num_threads()}), {env}, batch 64, float32, repeats {args.repeats}")
    rng = np.random.default_rng(0)
    conv = [(s[0], conv_cases(s, rng)) for s in SHAPES]
    print("all candidates match torch autograd (y, dx, dW, db) to 1e-4 relative")
    table("conv2d stride 1 (fwd+bwd = y, dx, dW, db)", conv, args.repeats)
    table("max_pool2d 2x2 stride 2", [(s[0], pool_cases(s, rng)) for s in POOLS],
          args.repeats)
    if not args.skip_faults:
        faults(args.repeats)


if __name__ == "__main__":
    main()
