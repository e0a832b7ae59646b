"""Errors with their exit codes: the CLI prints one line and exits, library code only raises."""

EXIT_OK = 0
EXIT_FAILED = 1  # a check failed (selftest)
EXIT_USAGE = 2  # bad input: missing/unreadable/empty video, unwritable output, bad option
EXIT_INTERRUPTED = 130  # Ctrl-C / SIGTERM


class AsciiVideoError(Exception):
    """Bad input or environment; the message is one line for the user (exit 2)."""

    exit_code = EXIT_USAGE
