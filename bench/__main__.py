"""`python -m bench`: the bench harness (see bench/README.md)."""

import sys

from bench.load.cli import main

if __name__ == "__main__":
    sys.exit(main())
