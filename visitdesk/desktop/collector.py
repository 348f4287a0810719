"""Python's cyclic garbage collector, run on the GUI thread only.

By default the collector runs on whichever thread happens to allocate when a threshold is crossed:
a sync worker, a background task, the demo's portal thread. If the garbage it finds includes the
Python side of a Qt object that Python owns (a closed dialog, a widget kept alive only by a cycle
through a lambda), the C++ object is destroyed on that thread, which Qt does not allow and which
can abort the process much later, somewhere unrelated. So the desktop turns automatic collection
off and collects from a timer on the GUI thread instead, with the interpreter's own thresholds.
Reference counting still frees everything that is not in a cycle at once, on any thread.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

#: How often the GUI thread looks whether a collection is due.
INTERVAL_MS = 100


class _LongLived:
    """The interpreter's guard against quadratic full collections, kept by hand.

    Automatic collection runs a full (generation 2) collection only once the objects promoted
    into the oldest generation since the last one exceed a quarter of those that survived it;
    an explicit `gc.collect(2)` has no such guard. Without it a large sync, which promotes many
    objects, would walk the whole heap again and again.
    """

    total = 0  # objects in the oldest generation after the last full collection
    pending = 0  # objects promoted into it since (at most)


def collect_if_due() -> int:
    """Collect the generation the interpreter would have collected by now, if any.

    Returns the generation collected, or -1 when no threshold has been crossed. Call it on the
    GUI thread (or the main thread of a program without one).
    """
    counts = gc.get_count()
    thresholds = gc.get_threshold()
    if counts[0] <= thresholds[0]:
        return -1
    generation = 0
    if counts[1] > thresholds[1]:
        generation = 1
        if counts[2] > thresholds[2] and _LongLived.pending > _LongLived.total // 4:
            generation = 2
    if generation == 1:
        # What survives this collection moves to the oldest generation.
        _LongLived.pending += len(gc.get_objects(0)) + len(gc.get_objects(1))
    gc.collect(generation)
    if generation == 2:
        _LongLived.total = len(gc.get_objects(2))
        _LongLived.pending = 0
    return generation


class GuiThreadCollector(QObject):
    """Turns automatic collection off and collects on a GUI-thread timer while it runs."""

    def __init__(self, interval_ms: int = INTERVAL_MS, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(collect_if_due)
        self._was_enabled = gc.isenabled()

    def start(self) -> None:
        gc.disable()
        self._timer.start()

    def stop(self) -> None:
        """Collect once more here, then give collection back to the interpreter."""
        self._timer.stop()
        gc.collect()
        if self._was_enabled:
            gc.enable()
