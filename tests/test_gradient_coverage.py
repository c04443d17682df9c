"""Every registered gradient has rows in the finite-difference tables, first and second order.

The tables are the FIRST_ORDER and SECOND_ORDER lists of the modules in TABLES, the rows their
test_gradient and test_second_derivative run. A row covers the ops it records: for a first-order
row, the ops its function runs on its inputs (the ones the check differentiates); for a
second-order row, those and the ops its tape gradients run (the check differentiates those
again: relu's row covers relu_grad). An op registered with no row of either kind fails here.
"""
import functools

import numpy as np
import pytest
import test_batch_norm
import test_conv
import test_gradients
import test_gradients_conv_more
import test_gradients_linalg
import test_gradients_more
import test_gradients_nn
import test_gradients_shape
import test_norm_ops

import minitrain as mt
from minitrain import backend
from minitrain.ops import core

TABLES = [test_gradients, test_gradients_nn, test_gradients_shape, test_conv, test_norm_ops,
          test_gradients_linalg, test_gradients_more, test_gradients_conv_more, test_batch_norm]
ORDERS = ["FIRST_ORDER", "SECOND_ORDER"]

# Registered gradients that no row can record, with the reason. Keep this tiny.
NO_ROW = {
    # A read's input is a Variable, while the checker perturbs constant inputs: no row can put
    # a read between its inputs and its output. (A row like x * v records a read, but one that
    # does not depend on x, so the check never runs its gradient; mt.Variable(x) cuts x off.)
    # tests/test_tape.py checks reads' gradients: a variable as a source, second derivatives.
    "read_variable": "its input is a Variable, never a row's input",
}
if backend.gpu_count() == 0:
    NO_ROW["copy_to_device"] = "its rows copy to the other device and back: they need a GPU"


def recorded_op_names(tape):
    """The names of the ops ``tape`` recorded.

    No public API lists them: this is the one place that reads the engine's record of a tape
    (GradientTape._tape.ops, each op with a .name). Adapt it here if the tape changes.
    """
    return {op.name for op in tape._tape.ops}


def _constants(inputs):
    return [mt.constant(np.asarray(x, dtype=np.float64)) for x in inputs]


def first_order_ops(f, inputs):
    """The ops ``f`` runs on its inputs."""
    xs = _constants(inputs)
    # variables are not watched: an op counts only if it depends on the row's inputs
    with mt.GradientTape(watch_accessed_variables=False) as tape:
        tape.watch(xs)
        f(*xs)
    return recorded_op_names(tape)


def second_order_ops(f, inputs):
    """The ops ``f`` runs on its inputs, and those its gradient wrt each input runs.

    An outer tape records each inner sweep. The upstream gradient is watched too, as
    check_second's weights depend on the input: the ops that act on it are differentiated.
    """
    names = set()
    for k in range(len(inputs)):
        xs = _constants(inputs)
        with mt.GradientTape(watch_accessed_variables=False) as outer:
            outer.watch(xs)
            with mt.GradientTape() as inner:
                inner.watch(xs[k])
                y = f(*xs)
            seed = mt.constant(np.ones(y.shape), dtype=y.dtype)
            outer.watch(seed)
            inner.gradient(y, xs[k], output_gradients=seed)
        names |= recorded_op_names(outer)
    return names


COLLECT = {"FIRST_ORDER": first_order_ops, "SECOND_ORDER": second_order_ops}


def _runs_here(row):
    return backend.gpu_count() > 0 or not any(mark.name == "gpu" for mark in row.marks)


@functools.cache
def table_ops(order):
    """The names every row of every table of ``order`` records (rows that can run here)."""
    names = set()
    for table in TABLES:
        for row in getattr(table, order):
            if _runs_here(row):
                f, inputs, _ = row.values
                names |= COLLECT[order](f, inputs)
    return frozenset(names)


def minitrain_gradients():
    """The names of the gradients minitrain registers (other tests register probes of their
    own, such as test_gradcheck's deliberately wrong gradients: those are not ops)."""
    return {name for name, grad_fn in core._gradients.items()
            if getattr(grad_fn, "__module__", "minitrain").partition(".")[0] == "minitrain"}


def missing(recorded):
    """minitrain's registered gradients (less NO_ROW) that are not in ``recorded``, sorted."""
    return sorted(minitrain_gradients() - set(NO_ROW) - set(recorded))


def test_every_registered_gradient_has_a_first_and_a_second_order_row():
    first, second = missing(table_ops("FIRST_ORDER")), missing(table_ops("SECOND_ORDER"))
    assert not first and not second, (
        f"registered gradients that no finite-difference row checks: first order {first}, "
        f"second order {second}. Add a row with gradcases.case(id, f, *inputs) whose f runs the "
        "op to a FIRST_ORDER and a SECOND_ORDER table (tests/test_gradients*.py, test_conv.py, "
        "test_norm_ops.py); an op that only a gradient runs (tanh_grad) can be called directly")


def test_each_exception_is_needed():
    recorded = table_ops("FIRST_ORDER") | table_ops("SECOND_ORDER")
    assert not set(NO_ROW) & recorded, "a row records these now: drop them from NO_ROW"


PROBE = "coverage_probe"


def _probe(x):
    """sin, recorded under the probe's name"""
    return core.run(PROBE, np.sin, (x,))


def test_a_gradient_registered_without_a_row_is_reported():
    assert PROBE not in core._gradients
    core.register_gradient(PROBE)(core._gradients["sin"])  # a new op, as far as rows can tell
    try:
        for order in ORDERS:
            assert PROBE in missing(table_ops(order))
            probe_row = COLLECT[order](_probe, [np.linspace(-1.0, 1.0, 4)])
            assert PROBE not in missing(table_ops(order) | probe_row)
    finally:
        del core._gradients[PROBE]
    assert PROBE not in missing(set())


def test_a_second_order_row_records_the_ops_of_its_gradient():
    x = [np.linspace(-1.0, 1.0, 4)]
    assert "tanh_grad" not in first_order_ops(mt.tanh, x)
    assert {"tanh", "tanh_grad"} <= second_order_ops(mt.tanh, x)


@pytest.mark.parametrize("table", TABLES, ids=[table.__name__ for table in TABLES])
def test_the_tables_are_the_rows_the_checks_run(table):
    for order, test in zip(ORDERS, [table.test_gradient, table.test_second_derivative]):
        (mark,) = [m for m in test.pytestmark if m.name == "parametrize"]
        assert [row.id for row in mark.args[1]] == [row.id for row in getattr(table, order)]
