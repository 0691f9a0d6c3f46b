"""The ctypes structures in rewire/_lib.py have the C layout of rewire.h."""
import ctypes
import os
import shutil
import subprocess

import pytest

from rewire import _lib

HERE = os.path.dirname(os.path.abspath(__file__))


def _sizes(tmp_path):
    tool = os.environ.get("REWIRE_ABI_SIZES")
    if not tool:
        cc = shutil.which("cc") or shutil.which("gcc")
        if not cc:
            pytest.skip("no C compiler and no REWIRE_ABI_SIZES")
        tool = str(tmp_path / "abi_sizes")
        subprocess.run([cc, "-std=c11", "-I", os.path.join(HERE, "..", "..",
                                                            "include"),
                        "-o", tool, os.path.join(HERE, "abi_sizes.c")],
                       check=True)
    out = subprocess.run([tool], check=True, capture_output=True, text=True)
    return [line.split() for line in out.stdout.splitlines()]


def test_structure_sizes_match_the_header(tmp_path):
    rows = _sizes(tmp_path)
    assert len(rows) > 15
    for row in rows:
        if row[0] == "offset":
            struct, field = row[1].split(".")
            got = getattr(getattr(_lib, struct), field).offset
        else:
            got = ctypes.sizeof(getattr(_lib, row[0]))
        assert got == int(row[-1]), row
