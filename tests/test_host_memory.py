"""backend.keep_freed_memory: a step's recurring large arrays reuse memory, not new pages."""
import subprocess
import sys

import pytest
from clirun import ENV, ROOT

from minitrain import backend

# 30 rounds of a 40 MB array written in full, freed, and allocated again (as a step's largest
# arrays are), and the minor page faults of the last 20 rounds. glibc's own threshold for
# serving blocks with fresh pages rises to at most 32 MB, so above it every round faults.
FAULTS = """
import resource, sys
import numpy as np
import minitrain
def round_trip():
    a = np.ones(10 << 20, np.float32)
    return float(a[-1])
for _ in range(10):
    round_trip()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(20):
    round_trip()
print(minitrain._KEPT_BLOCK_BYTES, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _faults(keep):
    env = {**ENV, "MINITRAIN_KEEP_FREED_MEMORY": keep}
    out = subprocess.run([sys.executable, "-c", FAULTS], env=env, cwd=ROOT, check=True,
                         capture_output=True, text=True).stdout.split()
    return int(out[0]), int(out[1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc only")
def test_a_recurring_large_array_faults_in_once_not_every_time():
    kept, faults = _faults("1")
    if kept < 40 << 20:
        pytest.skip(f"this C library keeps blocks up to {kept} bytes only (mallopt refused 1 GiB)")
    assert faults < 100, faults
    # what it saves: up to 10240 pages of 4 kB a round (fewer where numpy's arrays get
    # transparent huge pages)
    not_kept, system_faults = _faults("0")
    assert not_kept == 0 and system_faults > 20 * 100, system_faults


def test_the_environment_switch_turns_it_off():
    assert backend.keep_freed_memory({"MINITRAIN_KEEP_FREED_MEMORY": "0"}) == 0
