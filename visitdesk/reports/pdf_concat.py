"""Concatenating many small PDFs into one file, streaming: memory stays flat for any count.

The statements are written by reportlab, whose files are simple: a cross-reference table giving
every object's offset, no object streams, one page tree. Each input's objects are copied with new
numbers (references in their dictionaries rewritten, stream data copied byte for byte); its page
tree node is replaced by the combined one, and its catalog and document info are dropped. Only the
new page numbers and object offsets stay in memory, a few bytes per object.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import BinaryIO

_REF = re.compile(rb"\b(\d+) 0 R\b")
_XREF_AT = re.compile(rb"startxref\s+(\d+)\s+%%EOF\s*$")
_ROOT = re.compile(rb"/Root (\d+) 0 R")
_INFO = re.compile(rb"/Info (\d+) 0 R")
_PAGES = re.compile(rb"/Pages (\d+) 0 R")
_KIDS = re.compile(rb"/Kids \[([^\]]*)\]")


class UnsupportedPdf(ValueError):
    """The input is not laid out the way reportlab writes PDFs."""


def _objects(data: bytes) -> tuple[dict[int, bytes], int, int | None]:
    match = _XREF_AT.search(data[-64:])
    if match is None:
        raise UnsupportedPdf("no startxref")
    xref_at = int(match[1])
    lines = data[xref_at:].split(b"\n")
    if lines[0].strip() != b"xref":
        raise UnsupportedPdf("no classic cross-reference table")
    first, count = (int(v) for v in lines[1].split())
    offsets = {}
    for number, line in enumerate(lines[2 : 2 + count], start=first):
        parts = line.split()
        if len(parts) >= 3 and parts[2] == b"n":
            offsets[number] = int(parts[0])
    trailer = data[xref_at:]
    root = _ROOT.search(trailer)
    if root is None:
        raise UnsupportedPdf("no catalog")
    info = _INFO.search(trailer)
    ordered = sorted(offsets.items(), key=lambda item: item[1])
    bodies: dict[int, bytes] = {}
    for index, (number, start) in enumerate(ordered):
        end = ordered[index + 1][1] if index + 1 < len(ordered) else xref_at
        chunk = data[start:end]
        header_end = chunk.index(b"obj") + 3
        bodies[number] = chunk[header_end:]
    return bodies, int(root[1]), int(info[1]) if info else None


class PdfConcatenator:
    """Append whole PDFs one after another; `close()` writes the page tree and the xref."""

    _CATALOG, _PAGES_NODE, _INFO_NODE = 1, 2, 3

    def __init__(self, target: Path | BinaryIO, title: str = "") -> None:
        self._own = isinstance(target, Path)
        self._out: BinaryIO = target.open("wb") if isinstance(target, Path) else target
        self._title = title
        self._offsets: list[int] = [0, 0, 0, 0]
        self._pages: list[int] = []
        self._position = 0
        self._write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")

    @property
    def page_count(self) -> int:
        return len(self._pages)

    def _write(self, data: bytes) -> None:
        self._out.write(data)
        self._position += len(data)

    def _next_number(self) -> int:
        self._offsets.append(0)
        return len(self._offsets) - 1

    def add(self, data: bytes) -> None:
        bodies, root, info = _objects(data)
        pages_match = _PAGES.search(bodies[root])
        if pages_match is None:
            raise UnsupportedPdf("catalog without pages")
        pages_node = int(pages_match[1])
        kids_match = _KIDS.search(bodies[pages_node])
        if kids_match is None or b"/Kids" in kids_match[1]:
            raise UnsupportedPdf("nested page tree")
        skip = {root, pages_node} | ({info} if info is not None else set())
        numbers = {pages_node: self._PAGES_NODE}
        for number in sorted(bodies):
            if number not in skip:
                numbers[number] = self._next_number()

        def renumber(match: re.Match[bytes]) -> bytes:
            old = int(match[1])
            if old not in numbers:
                raise UnsupportedPdf(f"reference to a dropped object {old}")
            return b"%d 0 R" % numbers[old]

        for old in sorted(bodies):
            if old in skip:
                continue
            body = bodies[old]
            split = body.find(b"stream")
            head, tail = (body, b"") if split < 0 else (body[:split], body[split:])
            self._offsets[numbers[old]] = self._position
            self._write(b"%d 0 obj" % numbers[old] + _REF.sub(renumber, head) + tail)
        self._pages += [numbers[int(kid)] for kid in _REF.findall(kids_match[1])]

    def discard(self) -> None:
        """Stop without finishing the file (the caller deletes it)."""
        if self._own and not self._out.closed:
            self._out.close()

    def close(self) -> None:
        self._offsets[self._CATALOG] = self._position
        self._write(
            b"%d 0 obj\n<< /Type /Catalog /Pages %d 0 R >>\nendobj\n"
            % (self._CATALOG, self._PAGES_NODE)
        )
        self._offsets[self._PAGES_NODE] = self._position
        kids = b" ".join(b"%d 0 R" % number for number in self._pages)
        self._write(
            b"%d 0 obj\n<< /Type /Pages /Count %d /Kids [ %s ] >>\nendobj\n"
            % (self._PAGES_NODE, len(self._pages), kids)
        )
        self._offsets[self._INFO_NODE] = self._position
        title = (
            self._title.encode("ascii", "replace")
            .replace(b"\\", b"")
            .replace(b"(", b"")
            .replace(b")", b"")
        )
        self._write(
            b"%d 0 obj\n<< /Producer (VisitDesk) /Title (%s) >>\nendobj\n"
            % (self._INFO_NODE, title)
        )
        xref_at = self._position
        lines = [b"xref\n0 %d\n" % len(self._offsets), b"0000000000 65535 f \n"]
        lines += [b"%010d 00000 n \n" % offset for offset in self._offsets[1:]]
        self._write(b"".join(lines))
        self._write(
            b"trailer\n<< /Size %d /Root %d 0 R /Info %d 0 R >>\nstartxref\n%d\n%%%%EOF\n"
            % (len(self._offsets), self._CATALOG, self._INFO_NODE, xref_at)
        )
        if self._own:
            self._out.close()
