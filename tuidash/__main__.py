"""Run tuidash with ``python -m tuidash``."""

import sys

from tuidash.cli import main

if __name__ == "__main__":
    sys.exit(main())
