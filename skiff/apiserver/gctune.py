"""Garbage-collector pacing for the API server.

The watch cache holds every object as a decoded JSON tree: tens of objects per pod, millions for a
large cluster. CPython's full collections traverse all of them again each time the heap grows by a
quarter (while a cluster fills up: 70-570 ms pauses at 10,000 pods, seconds of CPU per minute).
Those trees hold no reference cycles, so scanning them finds nothing. Every FREEZE_EVERY seconds
the objects that survived are moved to the permanent generation (gc.freeze), so collections only
scan what is new. Cyclic garbage frozen while still alive would never be freed: once every
THAW_EVERY seconds everything is thawed and collected in one full pass, then frozen again.
"""

from __future__ import annotations

import asyncio
import gc
import logging

log = logging.getLogger("skiff.apiserver.gctune")

FREEZE_EVERY = 1.0
THAW_EVERY = 3600.0
# Fewer young collections: each costs a fixed overhead; what survives is frozen soon anyway.
THRESHOLDS = (20000, 20, 20)


async def run() -> None:
    """Paces the collector until cancelled (started once per server process)."""
    gc.set_threshold(*THRESHOLDS)
    gc.collect()
    gc.freeze()
    loop = asyncio.get_running_loop()
    next_thaw = loop.time() + THAW_EVERY
    while True:
        await asyncio.sleep(FREEZE_EVERY)
        if loop.time() >= next_thaw:
            next_thaw = loop.time() + THAW_EVERY
            gc.unfreeze()
            freed = gc.collect()
            log.debug("full collection", extra={"kv": {"freed": freed}})
        gc.freeze()
