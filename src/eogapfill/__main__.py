"""``python -m eogapfill``: the ``eogapfill`` command (see :mod:`eogapfill.cli`)."""

import sys

from eogapfill.cli import main

if __name__ == "__main__":
    sys.exit(main())
