"""PDQ lookups that arrive together are searched together, beside the event loop.

Under load, many requests are parsed in one turn of the event loop. Each hands its
hash to :class:`PdqBatcher` and waits; the batcher searches all that are waiting in one
call on its own thread (the index's kernels release the GIL), while the loop goes on
parsing the next requests. One call per batch rather than per request saves the fixed
cost of a search and of a thread hand-off, and the search runs on a second core. Where
each core has a process of its own (several workers), the batch is searched in the
loop instead (``thread=False``), after one turn that lets waiting requests join it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import numpy.typing as npt

from clearsight.match.live_index import PdqFound

MAX_BATCH = 256

Search = Callable[[npt.NDArray[np.uint64]], list[PdqFound]]


class PdqBatcher:
    def __init__(self, search: Search, max_batch: int = MAX_BATCH, *, thread: bool = True) -> None:
        self._search = search
        self._max_batch = max_batch
        self._thread = thread
        self._waiting: list[tuple[npt.NDArray[np.uint64], asyncio.Future[list[PdqFound]]]] = []
        self._draining = False
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="clearsight-pdq-search")

    async def search(self, code: npt.NDArray[np.uint64]) -> list[PdqFound]:
        """The hits of one packed code (4 words), each with ``query`` 0."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[list[PdqFound]] = loop.create_future()
        self._waiting.append((code, future))
        if not self._draining:
            self._draining = True
            loop.create_task(self._drain())
        return await future

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._waiting:
                batch = self._waiting[: self._max_batch]
                del self._waiting[: self._max_batch]
                codes = np.stack([code for code, _ in batch])
                try:
                    if self._thread:
                        found = await loop.run_in_executor(self._executor, self._search, codes)
                    else:
                        await asyncio.sleep(0)  # let the requests parsed meanwhile join
                        found = self._search(codes)
                except Exception as exc:  # noqa: BLE001 - each waiting request gets it
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                per_query: list[list[PdqFound]] = [[] for _ in batch]
                for hit in found:
                    per_query[hit.query].append(PdqFound(0, hit.bank, hit.entry_id, hit.distance))
                for (_, future), hits in zip(batch, per_query, strict=True):
                    if not future.done():
                        future.set_result(hits)
        finally:
            self._draining = False
