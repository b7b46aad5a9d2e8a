"""datasketch's ``MinHashLSH`` behind the query/insert interface of :class:`~dedupe.core.lsh.BandIndex`: the
reference the tests compare the band index against (same candidates for the same signatures and bands/rows).
datasketch (and scipy with it) is imported only when one is built.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from datasketch import LeanMinHash


class DatasketchIndex:
    """datasketch's ``MinHashLSH`` behind a query/insert interface (the reference index).

    Args:
        num_perm: Signature length.
        bands: Number of bands.
        rows: Rows per band.
        seed: MinHash seed (stored in the wrapped ``LeanMinHash`` objects).

    Example:
        >>> import numpy as np
        >>> index = DatasketchIndex(num_perm=8, bands=4, rows=2, seed=1)
        >>> sig = np.arange(8, dtype=np.uint32)
        >>> index.insert(0, sig)
        >>> index.query(sig)
        [0]
    """

    def __init__(self, num_perm: int, bands: int, rows: int, seed: int) -> None:
        self.num_perm = num_perm
        self.bands = bands
        self.rows = rows
        self.seed = seed
        from datasketch import MinHashLSH  # the reference only: not imported on the fast path

        self._lsh = MinHashLSH(num_perm=num_perm, params=(bands, rows))
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def _wrap(self, signature: np.ndarray) -> LeanMinHash:
        from datasketch import LeanMinHash

        return LeanMinHash(seed=self.seed, hashvalues=signature, scheme="affine32")

    def query(self, signature: np.ndarray) -> list[int]:
        """Keys that share at least one band with ``signature``, in ascending order."""
        return sorted(self._lsh.query(self._wrap(signature)))

    def insert(self, key: int, signature: np.ndarray) -> None:
        """Add ``signature`` under ``key`` (keys must be unique)."""
        self._lsh.insert(key, self._wrap(signature), check_duplication=False)
        self._size += 1
