"""What the commands share: one-line errors, and BLAS threads set for the length of a run."""
import contextlib
import sys


def fail(error, status=2):
    """Print ``error`` as the one line a user's mistake gets, and return the exit status."""
    print(f"error: {error}", file=sys.stderr)
    return status


@contextlib.contextmanager
def blas_threads(count):
    """Run the block with ``count`` BLAS (and OpenMP) threads.

    threadpoolctl sets the count in the loaded BLAS library itself, whatever environment
    variables the process started with; the default of one thread is the fast choice for the
    small matrices of these models on a shared machine (the README has the figures), and the
    same count gives the same numbers, bit for bit.
    """
    from threadpoolctl import threadpool_limits
    with threadpool_limits(limits=count):
        yield
