"""``python -m llamaswap``: the same command as ``llama-swap``."""

import sys

from llamaswap.cli import main

if __name__ == "__main__":
    sys.exit(main())
