"""One BLAS thread for the command line, set before numpy is first imported (this module is imported first).

numpy's OpenBLAS starts a pool of threads when numpy is imported, and its threads spin after each call: about
0.1 CPU-second of a run, beside the run's own processes (on 2 cores, with ``--workers 2``, that is time taken
from them). The command line does no linear algebra that a thread pool would speed up. A value already in the
environment is kept; a program that imports the library (not the command line) is not affected.
"""

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
