"""Jobs that follow events (memory suggestions, implicit feedback): started on the
running event loop, their failures logged, and waited for when the Workspace closes."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

from chatapp.core.errors import ChatappError

log = logging.getLogger(__name__)

Job = Coroutine[Any, Any, object]


class BackgroundJobs:
    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()

    def start(self, job: Job, what: str) -> None:
        """Run job on the running loop (none: it is dropped); a ChatappError it raises
        is logged as "no <what>: ..."."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            job.close()
            return
        task = loop.create_task(_logging_failure(job, what))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def running(self) -> bool:
        return bool(self._tasks)

    async def done(self) -> None:
        """Wait until every job (and any it started meanwhile) has ended."""
        while self._tasks:
            await asyncio.wait(set(self._tasks))


async def _logging_failure(job: Job, what: str) -> None:
    try:
        await job
    except ChatappError as error:
        log.warning("no %s: %s", what, error)
