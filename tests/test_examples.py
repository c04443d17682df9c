"""The examples the README shows run, and do what they say."""
import re
import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_custom_training_loop_learns_the_digits():
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / "custom_training_loop.py"), "--epochs", "4"],
        capture_output=True, text=True, timeout=120, check=True)
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 5 and lines[0].startswith("epoch  1")
    accuracy = float(re.search(r"test accuracy (\d\.\d+)", lines[-1]).group(1))
    assert accuracy > 0.85, result.stdout
