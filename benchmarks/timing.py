"""Shared timing for the benchmarks: interleaved repeats, medians, pinned BLAS threads."""
import os
import random
import statistics
import sys
import time


def pin_blas_threads(default="1"):
    """Set the BLAS thread count from ``--threads N`` (default 1) before numpy is imported.

    On these shared 2-core machines OpenBLAS's own threads can make one matmul many times
    slower; numpy and PyTorch get the same count. Returns it as an int.
    """
    argv = sys.argv
    threads = argv[argv.index("--threads") + 1] if "--threads" in argv[:-1] else default
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = threads
    return int(threads)


def interleaved_medians(steps, repeats, warmup=3, seed=0):
    """Median seconds per call of each step. The steps alternate within every repeat, so the
    machine's noise falls on all of them alike, in an order shuffled anew each repeat: a step
    runs faster or slower after another (caches, the allocator), and no step may always get
    the same neighbour."""
    for step in steps.values():
        for _ in range(warmup):
            step()
    times = {name: [] for name in steps}
    order = list(steps)
    shuffle = random.Random(seed).shuffle
    for _ in range(repeats):
        shuffle(order)
        for name in order:
            step = steps[name]
            start = time.perf_counter()
            step()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}


def faults_per_step(steps, repeats=10):
    """The median minor page faults of one call of each step (resource.getrusage): memory
    that the allocator gave back to the system and the step faults in again."""
    import resource

    faults = {name: [] for name in steps}
    for _ in range(repeats):
        for name, step in steps.items():
            before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
            step()
            faults[name].append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
    return {name: statistics.median(f) for name, f in faults.items()}


def milliseconds(ms):
    """'12.34 ms (11.00-15.20)': the median of per-repeat times and their range."""
    return f"{statistics.median(ms):8.2f} ms ({min(ms):.2f}-{max(ms):.2f})"


def ratio_to(ms, reference_ms, reference="torch"):
    """'1.23x torch (1.10-1.40)': the median and range of the per-repeat ratios to the
    reference's times, measured alternately with them; '' without a reference."""
    if not reference_ms:
        return ""
    ratios = [a / b for a, b in zip(ms, reference_ms)]
    return (f"{statistics.median(ratios):.2f}x {reference} ({min(ratios):.2f}-"
            f"{max(ratios):.2f})")
