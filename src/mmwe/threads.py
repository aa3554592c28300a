"""One way to cap the threads a block of work uses: torch's intra-op pool and the BLAS behind numpy, together."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from threadpoolctl import threadpool_limits


@contextlib.contextmanager
def thread_limit(n: int | None) -> Iterator[None]:
    """Let torch and the BLAS behind numpy use ``n`` threads inside the block (process-wide; restored after).

    ``None`` changes nothing.
    """
    if n is None:
        yield
        return
    import torch  # heavy optional dependency: loaded only when a limit is set

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        with threadpool_limits(n):
            yield
    finally:
        torch.set_num_threads(before)
