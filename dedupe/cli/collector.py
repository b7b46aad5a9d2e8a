"""The garbage collector for a command-line run: what start-up made is frozen, and collections are rarer.

A run builds a few small container objects per record (the record, its decision), nearly all freed at once by
reference counting; only their number triggers the cyclic collector. With the default thresholds it ran about
430 times on 100,000 documents, scanning every object start-up made each time it reached the older
generations: 0.10 s of the main process's CPU (3-4%). With the objects of start-up frozen (never scanned) and a
first generation of 10,000 objects it took 0.01 s. A program that imports the library is not affected.
"""

from __future__ import annotations

import gc

# Allocations (less deallocations) of container objects between two collections of the youngest generation
# (the interpreter's default is 700); the older generations keep their default ratios.
FIRST_GENERATION = 10_000


def settle() -> None:
    """Freeze every object alive now (the modules imported so far and what they made), then collect less often.

    No collection first: start-up leaves next to no garbage, and a full collection would cost more than it frees.
    """
    gc.freeze()
    _, second, third = gc.get_threshold()
    gc.set_threshold(FIRST_GENERATION, second, third)
