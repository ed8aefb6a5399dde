"""A serving process's heap, once it has started: what the garbage collector need not walk.

Apart from `schemas.serving`, which the command line imports before it becomes the service.
"""

from __future__ import annotations

import gc

from sqlalchemy.orm import configure_mappers


def settle_heap() -> None:
    """Once a service has started: set what starting built aside from the garbage collector.

    A started service tracks 120,000-140,000 objects, nearly all of them its libraries'
    modules, classes and functions, which live as long as the process. The collector's full
    pass walks every one of them (70-150 ms on the development machine), and everything the
    process carries waits meanwhile; in `lienthong bench` each process made one or two every
    1,500 documents, so at 50 documents/s a pause somewhere every 5-10 s, the documents in
    flight making the latency's tail. Frozen, they are never walked again: a full pass sees
    only what serving made since (6,000-11,000 objects). ORM mappers are configured first, so
    that the objects the first query would build are set aside too. The price: a frozen object
    that later becomes part of a garbage cycle (the broker's first connection, replaced after
    an outage, say) stays; a few such, once, not a leak that grows.
    """
    configure_mappers()
    gc.collect()  # what starting left as garbage is freed, not kept for good
    gc.freeze()
