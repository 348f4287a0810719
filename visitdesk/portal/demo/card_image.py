"""Made-up insurance card pictures for the demo's myInfo changes: a PNG drawn without any image
library (a coloured card with a darker band and a few stripes standing in for printed lines)."""

from __future__ import annotations

import struct
import zlib


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data))
        + kind
        + data
        + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


def card_png(
    width: int = 340, height: int = 214, colour: tuple[int, int, int] = (46, 111, 178)
) -> bytes:
    """An RGB PNG of a card-shaped picture (default: the 85.6 x 54 mm ID-1 shape)."""
    light = bytes(colour)
    dark = bytes(max(0, c - 40) for c in colour)
    white = b"\xf4\xf6\xf8"
    rows = []
    for y in range(height):
        if y < height // 5:
            line = dark * width
        elif y % 24 in (0, 1, 2) and y > height // 3:
            stripe = width * 3 // 5
            line = white * stripe + light * (width - stripe)
        else:
            line = light * width
        rows.append(b"\x00" + line)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(b"".join(rows), 9))
        + _chunk(b"IEND", b"")
    )
