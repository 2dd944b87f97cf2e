"""A tiny PNG reader (8-bit RGB/RGBA, not interlaced: what Chromium's screenshots are).

Enough to tell a rendered page from a blank one without Pillow. Rows filtered
with None/Sub/Up are undone with numpy; Average and Paeth byte by byte.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np


def read_png(data: bytes) -> np.ndarray:
    """The image as a (height, width, channels) uint8 array."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, header = 8, [], None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
    assert header is not None
    width, height, depth, color, _, _, interlace = header
    assert depth == 8 and color in (2, 6) and interlace == 0, f"unsupported PNG {header}"
    bpp = 3 if color == 2 else 4
    raw = np.frombuffer(zlib.decompress(b"".join(idat)), dtype=np.uint8)
    stride = width * bpp
    raw = raw.reshape(height, stride + 1)
    out = np.zeros((height, stride), dtype=np.uint8)
    prior = np.zeros(stride, dtype=np.uint8)
    for y in range(height):
        kind, line = raw[y, 0], raw[y, 1:]
        if kind == 0:
            row = line.copy()
        elif kind == 2:
            row = line + prior
        elif kind == 1:
            row = line.copy()
            for c in range(bpp):  # a running sum per channel, mod 256
                row[c::bpp] = np.cumsum(line[c::bpp], dtype=np.uint64).astype(np.uint8)
        else:
            row = _sequential(kind, line.tolist(), prior.tolist(), bpp)
        out[y] = row
        prior = out[y]
    return out.reshape(height, width, bpp)


def _sequential(kind: int, line: list[int], prior: list[int], bpp: int) -> np.ndarray:
    row = [0] * len(line)
    for i, x in enumerate(line):
        a = row[i - bpp] if i >= bpp else 0
        b = prior[i]
        if kind == 3:
            row[i] = (x + ((a + b) >> 1)) & 0xFF
        else:  # 4: Paeth
            c = prior[i - bpp] if i >= bpp else 0
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
            row[i] = (x + pred) & 0xFF
    return np.array(row, dtype=np.uint8)
