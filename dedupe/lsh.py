"""The LSH index: datasketch's MinHashLSH behind a small query/insert interface.

Keys are the 0-based stream positions of the documents (ints), never user ids,
which may repeat. Bands and rows come from the configuration (see
:meth:`dedupe.config.LSHConfig.bands_rows`).
"""

from __future__ import annotations

import numpy as np
from datasketch import LeanMinHash, MinHashLSH


class LSHIndex:
    """In-memory MinHash LSH index over signatures.

    Args:
        num_perm: Signature length.
        bands: Number of bands.
        rows: Rows per band.
        seed: MinHash seed (stored in the wrapped ``LeanMinHash`` objects).

    Example:
        >>> import numpy as np
        >>> index = LSHIndex(num_perm=8, bands=4, rows=2, seed=1)
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
        self._lsh = MinHashLSH(num_perm=num_perm, params=(bands, rows))
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def _wrap(self, signature: np.ndarray) -> LeanMinHash:
        return LeanMinHash(seed=self.seed, hashvalues=signature, scheme="affine32")

    def query(self, signature: np.ndarray) -> list[int]:
        """Keys that share at least one band with ``signature``, in ascending order."""
        return sorted(self._lsh.query(self._wrap(signature)))

    def insert(self, key: int, signature: np.ndarray) -> None:
        """Add ``signature`` under ``key`` (keys must be unique)."""
        self._lsh.insert(key, self._wrap(signature), check_duplication=False)
        self._size += 1
