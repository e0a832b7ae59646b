"""Entry point for ``python -m asciivideo``."""

import sys

from asciivideo.cli import main

if __name__ == "__main__":
    sys.exit(main())
