"""An output file that appears only when complete: a temporary file beside it, renamed at last."""

import os
import tempfile

from asciivideo.errors import AsciiVideoError


class AtomicOutput(object):
    """Context manager: write to .NAME.XXXX.tmp in OUT's directory; commit() renames it to OUT.

    Leaving the block without commit() (an error, Ctrl-C) deletes the temporary file, so a
    failed run never leaves a partial OUT behind.
    """

    def __init__(self, path):
        # type: (str) -> None
        self.path = path
        self.tmp_path = None  # type: object
        self.file = None  # type: object

    def __enter__(self):
        # type: () -> AtomicOutput
        if os.path.isdir(self.path):
            raise AsciiVideoError("%s: is a directory" % self.path)
        directory = os.path.dirname(os.path.abspath(self.path))
        try:
            fd, self.tmp_path = tempfile.mkstemp(
                prefix="." + os.path.basename(self.path) + ".", suffix=".tmp", dir=directory
            )
        except OSError as exc:
            raise AsciiVideoError(
                "%s: cannot write output: %s" % (self.path, exc.strerror or exc)
            ) from None
        self.file = os.fdopen(fd, "w+b")
        return self

    def commit(self):
        # type: () -> None
        handle = self.file
        handle.flush()  # type: ignore
        os.fsync(handle.fileno())  # type: ignore
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(self.tmp_path, 0o666 & ~umask)  # type: ignore  # mkstemp made it 0600
        handle.close()  # type: ignore
        os.replace(self.tmp_path, self.path)  # type: ignore
        self.tmp_path = None

    def __exit__(self, *exc_info):
        # type: (object) -> None
        if self.file is not None:
            self.file.close()  # type: ignore
        if self.tmp_path is not None and os.path.exists(self.tmp_path):  # type: ignore
            os.unlink(self.tmp_path)  # type: ignore
