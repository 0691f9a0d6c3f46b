"""Checks and conversions at the public edge: every array handed to the
library passes through here, so a wrong shape fails with a clear message
and a wrong dtype or layout is converted once (a float32 C-contiguous
array passes through untouched, without a copy)."""
import ctypes
import os
import weakref

import numpy as np


def _dense(x):
    # scipy.sparse input is accepted and densified; scipy is not imported
    # unless the caller already uses it.
    if hasattr(x, "toarray") and type(x).__module__.startswith("scipy.sparse"):
        return x.toarray()
    return x


def _first_bad(a):
    bad = np.argwhere(~np.isfinite(a))[0]
    return tuple(int(i) for i in bad)


def features(x, n_features=None, what="x"):
    """x as a float32 C-contiguous (samples, features) array."""
    a = np.asarray(_dense(x))
    if a.dtype.kind == "c":
        raise ValueError("%s: complex values are not supported" % what)
    if a.dtype.kind not in "biuf":
        try:
            a = a.astype(np.float64)
        except (TypeError, ValueError) as e:
            raise ValueError("%s must hold numbers, got dtype %s (%s)"
                             % (what, a.dtype, e)) from None
    if a.ndim != 2:
        raise ValueError("%s must be a 2-D array (samples x features), got "
                         "shape %s%s" % (what, a.shape,
                                         "; use x.reshape(1, -1) for one sample"
                                         if a.ndim == 1 else ""))
    if n_features is not None and a.shape[1] != n_features:
        raise ValueError("%s has %d features per sample but the network takes "
                         "%d" % (what, a.shape[1], n_features))
    with np.errstate(over="ignore", invalid="ignore"):
        a = np.ascontiguousarray(a, dtype=np.float32)
    if a.size and not np.isfinite(a).all():
        i, j = _first_bad(a)
        raise ValueError("%s holds NaN or infinity (or a value too large for "
                         "float32) at sample %d, feature %d" % (what, i, j))
    return a


def labels(y, n, n_classes=None, what="y", xwhat="x"):
    """y as int32 class indices (n,) in 0..n_classes-1."""
    a = np.asarray(_dense(y))
    if a.ndim == 2 and a.shape[1] == 1:
        a = a.ravel()
    if a.ndim != 1:
        raise ValueError("%s must be a 1-D array of class indices, got shape %s"
                         % (what, a.shape))
    if a.shape[0] != n:
        raise ValueError("%s has %d labels but %s has %d samples"
                         % (what, a.shape[0], xwhat, n))
    if a.dtype.kind == "b":
        a = a.astype(np.int32)
    if a.dtype.kind == "f":
        if not np.isfinite(a).all() or (a != np.round(a)).any():
            raise ValueError("%s must hold whole class indices (0, 1, ...); "
                             "for other labels use rewire.MLPClassifier" % what)
    elif a.dtype.kind not in "iu":
        raise ValueError("%s must hold integer class indices, got dtype %s; "
                         "for other labels use rewire.MLPClassifier"
                         % (what, a.dtype))
    if a.size:
        lo, hi = a.min(), a.max()
        top = n_classes - 1 if n_classes else 2**31 - 1
        if lo < 0 or hi > top:
            raise ValueError("%s holds class %d, outside 0..%d" % (
                what, int(lo if lo < 0 else hi), top))
    return np.ascontiguousarray(a, dtype=np.int32)


def targets(y, n, n_targets=None, what="y", xwhat="x"):
    """y as float32 (n, targets) regression targets."""
    a = np.asarray(_dense(y))
    if a.ndim == 1:
        a = a.reshape(-1, 1)
    if a.ndim != 2:
        raise ValueError("%s must be a 1-D or 2-D array of targets, got shape "
                         "%s" % (what, a.shape))
    if a.shape[0] != n:
        raise ValueError("%s has %d rows but %s has %d samples"
                         % (what, a.shape[0], xwhat, n))
    if n_targets is not None and a.shape[1] != n_targets:
        raise ValueError("%s has %d targets per sample but the network has %d "
                         "outputs" % (what, a.shape[1], n_targets))
    if a.dtype.kind not in "biuf":
        raise ValueError("%s must hold numbers, got dtype %s" % (what, a.dtype))
    with np.errstate(over="ignore", invalid="ignore"):
        a = np.ascontiguousarray(a, dtype=np.float32)
    if not np.isfinite(a).all():
        i, j = _first_bad(a)
        raise ValueError("%s holds NaN or infinity at sample %d, target %d"
                         % (what, i, j))
    return a


def path(p, what="path"):
    """A file path as bytes for the C library."""
    b = os.fsencode(os.fspath(p))
    if b"\0" in b:
        raise ValueError("%s contains a NUL byte" % what)
    if not b:
        raise ValueError("%s is empty" % what)
    return b


def text(s, what):
    if not isinstance(s, str):
        raise TypeError("%s must be a string, got %s" % (what, type(s).__name__))
    if "\0" in s:
        raise ValueError("%s contains a NUL byte" % what)
    return s.encode("utf-8")


def f32_ptr(a):
    return a.ctypes.data_as(ctypes.POINTER(ctypes.c_float))


def i32_ptr(a):
    return a.ctypes.data_as(ctypes.POINTER(ctypes.c_int32))


def number(v, name, lo, hi, integer=False):
    """A checked scalar option (the CLI's ranges)."""
    if isinstance(v, (bool, np.bool_)) or v is None:
        raise TypeError("%s must be a number, got %r" % (name, v))
    if integer:
        if isinstance(v, (float, np.floating)) and float(v).is_integer():
            v = int(v)
        if not isinstance(v, (int, np.integer)):
            raise TypeError("%s must be a whole number, got %r" % (name, v))
        v = int(v)
    else:
        try:
            v = float(v)
        except (TypeError, ValueError):
            raise TypeError("%s must be a number, got %r" % (name, v)) from None
        if not np.isfinite(v):
            raise ValueError("%s must be finite, got %r" % (name, v))
    if v < lo or v > hi:
        # Whole-number limits in full ("1048576", not "1.04858e+06").
        shown = "%d and %d" % (lo, hi) if integer else "%g and %g" % (lo, hi)
        raise ValueError("%s must be between %s, got %r" % (name, shown, v))
    return v


def flag(v, name):
    """A checked switch: True or False (numpy's too, and 0 or 1), never a
    string or another object that Python would take as true."""
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)) and v in (0, 1):
        return bool(v)
    raise TypeError("%s must be True or False, got %r" % (name, v))


def choice(v, name, table):
    if not isinstance(v, str) or v not in table:
        raise ValueError("%s must be one of %s, got %r"
                         % (name, ", ".join(table), v))
    return table[v]


# Image shapes of the arrays load_dataset returned, by id while they live:
# training on them then standardises as the CLI does for image data.
_IMAGE_SHAPES = {}


def remember_image_shape(a, shape):
    if shape:
        key = id(a)
        _IMAGE_SHAPES[key] = tuple(shape)
        weakref.finalize(a, _IMAGE_SHAPES.pop, key, None)


def image_shape(x, given="auto"):
    """The (h, w) to give a dataset built from x: `given`, or with "auto"
    the shape load_dataset recorded for this very array (None if none)."""
    if isinstance(given, str) and given == "auto":
        return _IMAGE_SHAPES.get(id(x))
    if given is None:
        return None
    h, w = given
    return (number(h, "image_shape", 1, 1 << 31, True),
            number(w, "image_shape", 1, 1 << 31, True))
