"""Fused kernels: a numpy version and a CuPy version with the same signature, chosen by the
data's array module. Each pair has a parity test (tests/test_kernels.py) and earns its place
by measurement (benchmarks/fused_kernels.py).
"""
import numpy as np

from .. import backend


def fused(numpy_version, cupy_version):
    """One function that runs the version matching its first argument's array module."""

    def kernel(*arrays, **options):
        on_numpy = type(arrays[0]) is np.ndarray or backend.array_module(arrays[0]) is np
        return (numpy_version if on_numpy else cupy_version)(*arrays, **options)

    kernel.__doc__ = numpy_version.__doc__
    kernel.__name__ = numpy_version.__name__.removesuffix("_numpy")
    return kernel


_cupy_kernels = {}


def cupy_kernel(name, build):
    """The CuPy kernel called ``name``, built once by ``build(cupy)`` and cached: compiling one
    takes milliseconds, a launch microseconds."""
    kernel = _cupy_kernels.get(name)
    if kernel is None:
        kernel = _cupy_kernels[name] = build(backend.cupy_module())
    return kernel
