"""The ctypes structures in rewire/_lib.py have the C layout of rewire.h.
conftest.py runs the same comparison before any other test, since a
structure that drifted makes every other test fail, hang or crash."""
import ctypes
import os
import shutil
import subprocess
import tempfile

import pytest

from rewire import _lib

HERE = os.path.dirname(os.path.abspath(__file__))


def c_sizes(tmpdir):
    """[[name, size] or ["offset", "Struct.field", offset]] from
    abi_sizes.c, or None without a tool or a compiler."""
    tool = os.environ.get("REWIRE_ABI_SIZES")
    if not tool:
        cc = shutil.which("cc") or shutil.which("gcc")
        if not cc:
            return None
        tool = os.path.join(tmpdir, "abi_sizes")
        subprocess.run([cc, "-std=c11", "-I", os.path.join(HERE, "..", "..",
                                                            "include"),
                        "-o", tool, os.path.join(HERE, "abi_sizes.c")],
                       check=True)
    out = subprocess.run([tool], check=True, capture_output=True, text=True)
    return [line.split() for line in out.stdout.splitlines()]


def mismatches(rows):
    bad = []
    for row in rows:
        try:
            if row[0] == "offset":
                struct, field = row[1].split(".")
                got = getattr(getattr(_lib, struct), field).offset
            else:
                got = ctypes.sizeof(getattr(_lib, row[0]))
        except AttributeError as e:
            bad.append("%s: %s" % (row[-2], e))
            continue
        if got != int(row[-1]):
            bad.append("%s: C %s, ctypes %d" % (row[-2], row[-1], got))
    return bad


def check_or_none():
    with tempfile.TemporaryDirectory() as d:
        rows = c_sizes(d)
    return None if rows is None else mismatches(rows)


def test_structure_sizes_match_the_header(tmp_path):
    rows = c_sizes(str(tmp_path))
    if rows is None:
        pytest.skip("no C compiler and no REWIRE_ABI_SIZES")
    assert len(rows) > 15
    assert mismatches(rows) == []
