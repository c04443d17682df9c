"""Data parallelism (minitrain.distributed): the sharded DataLoader and a world of one here;
under ``mpiexec`` (skipped without mpi4py or mpiexec), N processes give what one process gives
with the batch split N ways: bit for bit for N=2, to float rounding for N=4, a resume bit for
bit, and every failure or stop reaching every rank so that none hangs."""
import csv
import shutil
import subprocess
import sys

import numpy as np
import pytest
import yaml
from clirun import ENV, ROOT

import minitrain as mt
from minitrain import distributed
from minitrain.config import build, load_config
from minitrain.data.loader import shard_bounds
from minitrain.training import CheckpointError, RunDirectory, Trainer, run_experiment
from minitrain.training import checkpoint as ckpt
from minitrain.training.accumulate import split


# --- the sharded DataLoader ------------------------------------------------------------------
def loader(n=23, batch_size=8, **kwargs):
    x = np.arange(n * 2, dtype=np.float32).reshape(n, 2)
    return mt.data.DataLoader(mt.data.Dataset(x, np.arange(n) % 3), batch_size, shuffle=True,
                              seed=5, **kwargs)


def rows(batches):
    return [x.numpy()[:, 0].tolist() for x, _ in batches]


@pytest.mark.parametrize("shards", [1, 2, 3, 4, 9])
def test_the_shards_of_every_batch_are_its_micro_batches_in_order(shards):
    whole = rows(loader())
    parts = [rows(loader().shard(shards, i)) for i in range(shards)]
    for b, batch in enumerate(whole):  # the last batch of 7: shards of 2, 2, 2, 1 (or 1, 0)
        got = [part[b] for part in parts]
        assert sum(got, []) == batch
        assert [len(g) for g in got] == [len(p) for p in np.array_split(batch, shards)]
        assert [len(g) for g in got if g] == [stop - start for start, stop in
                                              split(len(batch), shards)]


def test_every_shard_has_the_global_length_order_and_resumes():
    a, b = loader().shard(2, 0), loader(num_shards=2, shard_index=1)
    assert len(a) == len(b) == len(loader()) == 3
    assert repr(b).startswith("<DataLoader: 3 batches of 8, shard 1 of 2")
    first = rows(loader(num_shards=2, shard_index=1))
    next(iter(b))
    again = loader(num_shards=2, shard_index=1)
    again.set_state(b.get_state())
    assert rows(again) == first[1:]  # the rest of the epoch, from its checkpoint
    assert shard_bounds(7, 4, 3) == (6, 7) and shard_bounds(1, 2, 1) == (1, 1)


@pytest.mark.parametrize("shards, index", [(0, 0), (2, 2), (2, -1), (1.0, 0), (2, True)])
def test_a_bad_shard_is_refused(shards, index):
    with pytest.raises(ValueError, match="num_shards|shard_index"):
        loader().shard(shards, index)


def test_a_shard_is_not_sharded_again():
    with pytest.raises(ValueError, match="already shard 0 of 2"):
        loader().shard(2, 0).shard(2, 1)


# --- a world of one --------------------------------------------------------------------------
def test_without_mpiexec_the_world_is_one_process_and_communicates_nothing():
    assert distributed.launched_size({}) == 1
    assert distributed.launched_size({"PMI_SIZE": "4"}) == 4
    assert distributed.launched_size({"OMPI_COMM_WORLD_SIZE": "3"}) == 3
    world = distributed.init()
    assert world is distributed.init()  # idempotent
    assert (distributed.rank(), distributed.world_size(), distributed.is_primary()) == (0, 1, True)
    arrays = [np.ones(3, np.float32), np.zeros((2, 2))]
    assert all(a is b for a, b in zip(distributed.all_reduce(arrays, "sum"), arrays))
    g = mt.constant(np.array([1.0, 2.0]))
    assert distributed.all_reduce_gradients([g, None])[1] is None
    assert distributed.all_reduce_gradients([g], weight=0.5)[0].numpy().tolist() == [0.5, 1.0]
    assert distributed.agree(True) and not distributed.agree(False, op="and")
    assert distributed.settle(3) == [3] and distributed.settle(0) == [0]  # nothing cached
    assert distributed.all_gather([1, 2]).tolist() == [[1.0, 2.0]]
    assert distributed.gather_object({"a": 1}) == [{"a": 1}]
    distributed.barrier()
    distributed.broadcast_variables([mt.Variable(np.ones(2))])


def test_all_reduce_refuses_what_it_cannot_reduce():
    with pytest.raises(ValueError, match="op must be"):
        distributed.all_reduce([np.ones(2)], op="prod")
    with pytest.raises(TypeError, match="reduces floats"):
        distributed.all_reduce([np.ones(2, np.int32)])


def test_importing_minitrain_never_imports_mpi4py():
    code = ("import sys, minitrain, minitrain.distributed as d, minitrain.cli.train; d.init(); "
            "print('mpi4py' in sys.modules, d.world_size())")
    for env in ({}, {"PMI_SIZE": "1"}):  # mpiexec -n 1 is a world of one too
        result = subprocess.run([sys.executable, "-c", code], env={**ENV, **env}, cwd=ROOT,
                                capture_output=True, text=True, timeout=60, check=True)
        assert result.stdout.split() == ["False", "1"]


CONFIG = {
    "seed": 3,
    "data": {"source": "spirals", "options": {"n_samples": 240}, "batch_size": 16},
    "model": [{"Dense": {"units": 16, "activation": "tanh"}}, {"Dense": {"units": 2}}],
    "loss": {"name": "sparse_categorical_crossentropy", "from_logits": True},
    "optimizer": {"name": "adam", "learning_rate": 0.01},
    "metrics": ["accuracy"],
    "training": {"epochs": 3, "checkpoint": {"every": 4, "unit": "step"}},
}


def test_a_checkpoint_of_another_process_count_is_refused_naming_both(tmp_path):
    run_dir = RunDirectory(tmp_path / "run")
    run_dir.console = False
    run_experiment(build(load_config(data=CONFIG)), run_dir)
    state = ckpt.load(run_dir.checkpoint)
    state["world"] = {"size": 2, "rng": [state["rng"], state["rng"]]}
    ckpt.save(run_dir.checkpoint, state)
    exp = build(load_config(data=CONFIG))
    trainer = Trainer(exp.model, exp.optimizer, exp.loss, exp.metrics)
    with pytest.raises(CheckpointError, match=r"2 MPI processes and this run has 1 process.*"
                                              r"mpiexec -n 2"):
        trainer.restore(run_dir.checkpoint, exp.train)


# --- under mpiexec ---------------------------------------------------------------------------
MPIEXEC = shutil.which("mpiexec")
mpi = pytest.mark.skipif(MPIEXEC is None, reason="no mpiexec on PATH (pip install mpich)")

# train.py, with every rank's final weights saved as rank<r>.npz in DUMP, and, if STEP > 0, a
# Ctrl-C on rank 0 alone at that step (the ranks must agree to stop), or with STEP < 0 a crash
# on rank 1 alone at step -STEP (the others are waiting for it in a collective)
HELPER = """\
import os, signal, sys
import numpy as np
import minitrain.cli.train as cli
from minitrain import distributed
from minitrain.training import Callback

dump, step, built = sys.argv[1], int(sys.argv[2]), {}


class CtrlC(Callback):
    def on_batch_end(self, trainer):
        if trainer.step == step and distributed.rank() == 0:
            os.kill(os.getpid(), signal.SIGINT)
        if trainer.step == -step and distributed.rank() == 1:
            raise RuntimeError("a bug on rank 1")


def build(config, original=cli.build):
    experiment = original(config)
    experiment.callbacks.append(CtrlC())
    built["model"] = experiment.model
    return experiment


cli.build = build
status = cli.main(sys.argv[3:])
if "model" in built:
    np.savez(os.path.join(dump, f"rank{distributed.rank()}.npz"),
             *built["model"].get_weights())
sys.exit(status)
"""


@pytest.fixture(scope="module")
def mpi4py():
    return pytest.importorskip("mpi4py", reason="mpi4py is not installed "
                               "(pip install 'minitrain[mpi]')")


def mpiexec(n, *args, timeout=120):
    """``mpiexec -n N python ARGS``, finished (a hang fails the test at ``timeout``)."""
    command = [MPIEXEC, "-n", str(n), sys.executable, *map(str, args)]
    return subprocess.run(command, cwd=ROOT, env={**ENV, "PYTHONPATH": str(ROOT)},
                          capture_output=True, text=True, timeout=timeout)


def write_config(tmp_path, config=CONFIG, name="tiny"):
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def train_mpi(tmp_path, n, config, output, *args, step=0, timeout=120):
    helper = tmp_path / "helper.py"
    helper.write_text(HELPER)
    dump = tmp_path / f"{output}-ranks"
    dump.mkdir(exist_ok=True)
    result = mpiexec(n, helper, dump, step, "--config", config, "--output", tmp_path / output,
                     "--quiet", *args, timeout=timeout)
    return result, dump


def train_one(config, output, *args):
    command = [sys.executable, str(ROOT / "train.py"), "--config", str(config), "--output",
               str(output), "--quiet", *map(str, args)]
    return subprocess.run(command, cwd=ROOT, env=ENV, capture_output=True, text=True,
                          timeout=120)


def weights(path):
    with np.load(path) as archive:
        return [archive[k] for k in archive.files]


def history(run):
    with open(run / "metrics.csv") as f:
        return [{k: v for k, v in row.items() if k != "time"} for row in csv.DictReader(f)]


def assert_identical(a, b):
    for x, y in zip(a, b, strict=True):
        assert x.dtype == y.dtype and np.array_equal(x, y)  # bit for bit


@mpi
def test_two_processes_are_one_with_two_micro_batches_bit_for_bit(tmp_path, mpi4py):
    config = write_config(tmp_path)
    result, dump = train_mpi(tmp_path, 2, config, "A")
    assert result.returncode == 0, result.stderr
    one = train_one(config, tmp_path / "B", "--set", "training.micro_batches=2")
    assert one.returncode == 0, one.stderr
    a, b = tmp_path / "A", tmp_path / "B"
    assert_identical(weights(a / "weights.npz"), weights(b / "weights.npz"))
    assert history(a) == history(b) and len(history(a)) == 3
    assert_identical(weights(dump / "rank0.npz"), weights(dump / "rank1.npz"))
    # rank 0 alone prints: each line once, and the other rank writes nothing
    assert result.stdout.count("done: ") == 1 and result.stderr == ""
    assert (a / "train.log").read_text().count("done: ") == 1
    assert "data-parallel over 2 MPI processes" in result.stdout


@mpi
def test_four_processes_are_one_with_four_micro_batches_to_rounding(tmp_path, mpi4py):
    config = write_config(tmp_path)
    result, dump = train_mpi(tmp_path, 4, config, "A")
    assert result.returncode == 0, result.stderr
    one = train_one(config, tmp_path / "B", "--set", "training.micro_batches=4")
    assert one.returncode == 0, one.stderr
    for x, y in zip(weights(tmp_path / "A" / "weights.npz"),
                    weights(tmp_path / "B" / "weights.npz"), strict=True):
        np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-5 * np.abs(y).max())
    for rank in (1, 2, 3):
        assert_identical(weights(dump / "rank0.npz"), weights(dump / f"rank{rank}.npz"))
    a, b = history(tmp_path / "A"), history(tmp_path / "B")
    for row_a, row_b in zip(a, b, strict=True):
        assert row_a["accuracy"] == row_b["accuracy"]  # counts: exact in any order
        assert float(row_a["loss"]) == pytest.approx(float(row_b["loss"]), rel=1e-5)


# dropout: each rank draws its own masks, which a resume must give back to each; batch
# normalization: each rank's statistics, rank 0's moving ones on every rank after each epoch
DROPOUT = {**CONFIG, "model": [{"Dense": {"units": 16}}, {"BatchNormalization": {}},
                               {"Activation": {"activation": "relu"}},
                               {"Dropout": {"rate": 0.2}}, {"Dense": {"units": 2}}]}


@mpi
def test_a_two_process_run_stopped_by_ctrl_c_on_one_rank_resumes_bit_for_bit(tmp_path, mpi4py):
    config = write_config(tmp_path, DROPOUT)
    whole, _ = train_mpi(tmp_path, 2, config, "whole")
    assert whole.returncode == 0, whole.stderr
    stopped, _ = train_mpi(tmp_path, 2, config, "killed", step=14)  # checkpoints at 4, 8, 12
    assert stopped.returncode == 130, stopped.stderr
    # both ranks stopped in the next step, before its update; rank 0 alone says so
    assert stopped.stdout.count("interrupted at step 14") == 1, stopped.stdout
    assert stopped.stderr.count("interrupted; continue with") == 1, stopped.stderr
    killed = tmp_path / "killed"
    assert not (killed / "weights.npz").exists()
    assert int(ckpt.load(killed / "checkpoint.npz")["loop"]["step"]) == 12
    resumed, dump = train_mpi(tmp_path, 2, config, "killed", "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert_identical(weights(killed / "weights.npz"), weights(tmp_path / "whole" / "weights.npz"))
    assert history(killed) == history(tmp_path / "whole")
    assert_identical(weights(dump / "rank0.npz"), weights(dump / "rank1.npz"))
    # another process count is refused, naming both
    alone = train_one(config, killed, "--resume")
    assert alone.returncode == 2 and "2 MPI processes and this run has 1 process" in alone.stderr
    four, _ = train_mpi(tmp_path, 4, config, "killed", "--resume")
    assert four.returncode == 2 and four.stderr.count("error: ") == 1, four.stderr
    assert "2 MPI processes and this run has 4 MPI processes" in four.stderr


@mpi
def test_a_nan_on_one_rank_stops_every_rank_with_status_1(tmp_path, mpi4py):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 8)).astype(np.float32)
    x[9] = 3e38  # overflows to inf in the first layer: the loss of one shard, step 1
    np.savez(tmp_path / "data.npz", x=x, y=rng.integers(0, 2, 64))
    data = {"source": "npz", "options": {"path": str(tmp_path / "data.npz")}, "batch_size": 16,
            "shuffle": False, "normalize": {"method": "none"}, "splits": {"val": 0.0, "test": 0.0}}
    config = {**CONFIG, "data": data, "model": [{"Dense": {"units": 2}}]}
    exp = build(load_config(data=config))
    holds = [[bool((x.numpy() > 1e38).any()) for x, _ in exp.train.shard(2, r)] for r in (0, 1)]
    assert sum(map(sum, holds)) == 1  # the bad row: in one batch, on one rank
    result, _ = train_mpi(tmp_path, 2, write_config(tmp_path, config), "A", timeout=60)
    assert result.returncode == 1, result.stderr
    assert result.stderr.count("error: training stopped: the loss is") == 1, result.stderr
    assert "Traceback" not in result.stderr


@mpi
def test_a_failure_on_rank_0_alone_before_training_stops_every_rank(tmp_path, mpi4py):
    config = write_config(tmp_path)
    (tmp_path / "A").mkdir()
    (tmp_path / "A" / "metrics.csv").write_text("epoch\n")  # a run: rank 0 refuses it
    result, _ = train_mpi(tmp_path, 2, config, "A", timeout=60)
    assert result.returncode == 2 and result.stderr.count("error: ") == 1, result.stderr
    assert "holds a run" in result.stderr
    broken = write_config(tmp_path, {**CONFIG, "optimizer": {"name": "adamm"}}, "broken")
    result, _ = train_mpi(tmp_path, 2, broken, "B", timeout=60)
    assert result.returncode == 2 and result.stderr.count("error: ") == 1, result.stderr


@mpi
def test_a_crash_on_one_rank_during_training_ends_every_rank(tmp_path, mpi4py):
    result, _ = train_mpi(tmp_path, 2, write_config(tmp_path), "A", step=-5, timeout=60)
    assert result.returncode != 0
    assert "error on rank 1 of 2" in result.stderr and "a bug on rank 1" in result.stderr


@mpi
def test_the_custom_loop_example_gives_what_one_process_gives(mpi4py):
    example = ROOT / "examples" / "distributed_loop.py"
    two = mpiexec(2, example, "--epochs", "2")
    assert two.returncode == 0, two.stderr
    one = subprocess.run([sys.executable, str(example), "--epochs", "2"], cwd=ROOT, env=ENV,
                         capture_output=True, text=True, timeout=120, check=True)
    assert two.stdout.count("epoch  1") == 1 and "ranks 2" in two.stdout
    for run in (one, two):  # the mean of two halves' gradients, rounded another way
        assert float(run.stdout.split("test accuracy ")[1]) > 0.5, run.stdout
