"""bundler.fs.oserrors: the OS errors a user causes become one line naming the path."""

from __future__ import annotations

import errno

import pytest
import requests

from bundler.errors import FilesystemError
from bundler.fs.oserrors import describe, user_errors


def test_a_full_disk_names_the_path_or_the_fallback() -> None:
    named = describe(OSError(errno.ENOSPC, "No space left on device", "/mnt/x/a.whl"), "/mnt")
    assert named is not None and str(named).startswith("/mnt/x/a.whl: No space left on device")
    assert "(ENOSPC)" in str(named) and named.errno == errno.ENOSPC
    anonymous = describe(OSError(errno.ENOSPC, "No space left on device"), "/mnt/wheelhouse")
    assert anonymous is not None and str(anonymous).startswith("/mnt/wheelhouse: ")


def test_read_only_is_translated_other_errnos_are_not() -> None:
    expected = r"/ro: Read-only file system \(EROFS\)"
    with pytest.raises(FilesystemError, match=expected), user_errors():
        raise OSError(errno.EROFS, "Read-only file system", "/ro")
    with pytest.raises(OSError) as caught, user_errors("/x"):
        raise OSError(errno.EIO, "Input/output error")
    assert not isinstance(caught.value, FilesystemError)


def test_http_library_errors_pass_through() -> None:
    """requests' exceptions are OSErrors too: they are not a path problem."""
    error = requests.ConnectionError(errno.ENOENT, "x")
    error.request = requests.Request("GET", "http://x").prepare()
    with pytest.raises(requests.ConnectionError), user_errors("/x"):
        raise error
