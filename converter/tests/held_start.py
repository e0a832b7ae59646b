"""`python -m asciivideo ARGS`, with every pool worker held in its start-up until released.

    python held_start.py READY_FD GO_FD ARGS...

Each worker, after the fork and before the pool's initializer has run, writes one byte to
READY_FD, then waits until GO_FD reaches end of file (the test closes its end). multiprocessing
calls its after-fork hooks there (Process._bootstrap -> util._run_after_forkers, Python 3.6 to
3.13 alike), in the same window as threading._after_fork: a forked child that still has its
parent's signal handlers and no parent-death signal yet. A test sends its signal while every
worker is held there, so it hits that window every time instead of once in many runs.

Runs on Python 3.6 as well as the kit's Python: no 3.7+ syntax or APIs here.
"""

import os
import sys
from multiprocessing import util

READY_FD = int(sys.argv[1])
GO_FD = int(sys.argv[2])


def _hold(_):
    os.write(READY_FD, b"w")
    os.read(GO_FD, 1)  # b"" at EOF: released


if __name__ == "__main__":
    util.register_after_fork(_hold, _hold)  # weakly held: _hold lives as long as the module

    from asciivideo.cli import main

    sys.exit(main(sys.argv[3:]))
