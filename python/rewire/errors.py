"""rewire.Error and its subclasses, one per library status.

Each also subclasses the built-in exception that fits the status, so a
caller can catch ValueError for bad arguments or data, OSError for files
that cannot be read or written, and so on.
"""
import ctypes

from . import _lib


class Error(Exception):
    """A librewire error. `status` is the rw_status code, `message` the
    library's message (also str(error))."""

    status = None

    def __init__(self, message, status=None):
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status

    def __str__(self):
        return self.message


class ArgumentError(Error, ValueError):
    """RW_ERR_ARG: an invalid argument or option."""
    status = _lib.ERR_ARG


class OutOfMemoryError(Error, MemoryError):
    """RW_ERR_NOMEM: an allocation failed or a size would overflow."""
    status = _lib.ERR_NOMEM


class FileError(Error, OSError):
    """RW_ERR_IO: a file could not be opened, read or written."""
    status = _lib.ERR_IO

    def __init__(self, message, status=None):
        Error.__init__(self, message, status)

    def __str__(self):
        return self.message


class FormatError(Error, ValueError):
    """RW_ERR_FORMAT: file content is malformed or inconsistent."""
    status = _lib.ERR_FORMAT


class DataError(Error, ValueError):
    """RW_ERR_DATA: the data does not fit the model (width, labels)."""
    status = _lib.ERR_DATA


class DivergedError(Error, FloatingPointError):
    """RW_ERR_DIVERGED: a NaN or infinity appeared during training, or in
    the outputs of a prediction or evaluation."""
    status = _lib.ERR_DIVERGED


class UnsupportedError(Error, ValueError):
    """RW_ERR_UNSUPPORTED: a valid request the library cannot serve."""
    status = _lib.ERR_UNSUPPORTED


class Interrupted(Error, KeyboardInterrupt):
    """RW_ERR_INTERRUPTED after Ctrl-C: training stopped cleanly at the end
    of a batch and the network is usable. `result` holds what was trained."""
    status = _lib.ERR_INTERRUPTED
    result = None


class DistError(Error, RuntimeError):
    """RW_ERR_DIST: the ranks of a data-parallel run disagree."""
    status = _lib.ERR_DIST


_BY_STATUS = {c.status: c for c in (ArgumentError, OutOfMemoryError, FileError,
                                    FormatError, DataError, DivergedError,
                                    UnsupportedError, Interrupted, DistError)}


def from_status(status, err=None):
    """The exception for a status and an rw_error (its message, or the
    status's description when the message is empty)."""
    msg = b""
    if err is not None:
        msg = bytes(err.msg).split(b"\0", 1)[0]
    if not msg:
        msg = _lib.rw_status_str(status) or b"unknown error"
    cls = _BY_STATUS.get(status, Error)
    return cls(msg.decode("utf-8", "replace"), status)


def check(status, err):
    """Raises the matching Error unless status is RW_OK."""
    if status != _lib.OK:
        raise from_status(status, err)


def new_error():
    return _lib.Error_t()


def ref(err):
    return ctypes.byref(err)
