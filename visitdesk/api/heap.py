"""Python's cyclic garbage collector, set up for a long-running process with a large heap.

Both the desk and the portal build a large set of objects once (modules, schemas, mapped
classes: about 180,000 tracked objects in a portal worker) that live until the process ends.
Each full collection walks all of them while holding the interpreter lock. A bulk request
allocates enough (a 5,000-line batch validates into some 10,000 tracked objects) to set off a
full collection every few batches, so with the default set-up a portal spent half of a batch's
validation time walking its own start-up objects. Freezing them takes them out of every walk.

This module imports nothing of ours: the desk and the portal both use it.
"""

from __future__ import annotations

import gc

#: Young-generation threshold once settled: fewer, larger young collections during a bulk load.
YOUNG_THRESHOLD = 5000


def settle_garbage_collector() -> None:
    """Collect once, freeze what survives (the process's long-lived objects), and collect the
    young generation less often. Call it once the long-lived objects exist."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, 20, 20)
