"""Child processes that a test will send SIGINT to: started with SIGINT at its default.

A job that a non-interactive shell starts in the background (`nohup make test &`, many CI
runners) begins with SIGINT ignored, and an ignored signal stays ignored across fork and exec
(signal(7): "During an execve(2), the dispositions of handled signals are reset to the default;
the dispositions of ignored signals are left unchanged"). Python turns SIGINT into
KeyboardInterrupt only "if the parent process has not changed it" (the `signal` module's
documentation), so a child of such a pytest would shrug off the test's Ctrl-C.

`DEFAULT_SIGINT` is the command prefix that resets it just before exec: GNU env's
`--default-signal=INT` (coreutils >= 8.31, Debian 12 has 9.1). Not a `preexec_fn`, which
Python documents as unsafe when the parent has threads (the fake index serves from one).
tests/test_signals.py proves the signal tests pass under a pytest started with SIGINT ignored.
"""

from __future__ import annotations

DEFAULT_SIGINT = ("env", "--default-signal=INT")
