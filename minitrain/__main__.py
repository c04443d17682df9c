"""``python -m minitrain COMMAND ...``: the ``minitrain`` command."""
import sys

from .cli import main

sys.exit(main())
