#!/usr/bin/python3
"""Writes tests/fixtures/reference_bf16.txt: float32 bit patterns and what
PyTorch rounds them to in bfloat16 (Tensor.to(torch.bfloat16), round to
nearest, ties to even), for test_kernels' check of rw_bf16_bits and every
path's to_bf16. Run with Debian's python3-torch:

    /usr/bin/python3 tools/make_bf16_reference.py

Values: the edge cases (ties either way, the largest float, what rounds
to infinity, infinities, zeros, subnormals), then random bit patterns of
every exponent and random values in [-4, 4). NaNs are left out: PyTorch
gives them its own canonical pattern, rewire keeps the sign and the top
of the payload (both are NaNs); test_kernels checks that separately.
"""
import numpy as np
import torch

edge = [0x3F800000, 0x3F808000, 0x3F818000, 0x3F808001, 0x3F807FFF,
        0xBF808000, 0xBF818000, 0x7F7FFFFF, 0x7F7F8000, 0x7F7F7FFF,
        0xFF7FFFFF, 0x7F800000, 0xFF800000, 0x00000000, 0x80000000,
        0x00000001, 0x00008000, 0x00018000, 0x007FFFFF, 0x00800000,
        0x807FFFFF, 0x3F7FFFFF, 0x3EAAAAAB, 0x40490FDB]
rng = np.random.default_rng(20261203)
bits = rng.integers(0, 2**32, size=1500, dtype=np.uint64).astype(np.uint32)
bits = bits[(bits & 0x7F800000) != 0x7F800000]  # no NaNs or infinities
vals = rng.uniform(-4, 4, size=500).astype(np.float32).view(np.uint32)
ties = (rng.integers(0, 2**16, size=200, dtype=np.uint64).astype(np.uint32)
        << 16 | 0x8000) & 0xBFFFFFFF  # exact ties, finite
allb = np.concatenate([np.array(edge, dtype=np.uint32), bits, vals,
                       ties.astype(np.uint32)])
f = allb.view(np.float32)
r = torch.from_numpy(f.copy()).to(torch.bfloat16).view(torch.int16)
r = r.numpy().view(np.uint16)
with open("tests/fixtures/reference_bf16.txt", "w") as out:
    out.write("# float32 bits, bfloat16 bits (PyTorch %s), hex; made by "
              "tools/make_bf16_reference.py\n" % torch.__version__)
    out.write("%d\n" % len(allb))
    for b, h in zip(allb, r):
        out.write("%08x %04x\n" % (b, h))
