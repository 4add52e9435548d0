"""The web process has begun to stop (reflex_project/web_server.py): open event streams end with a
``retry:`` hint, so clients reconnect, to another web process, after that many milliseconds, and
resume from their ``Last-Event-ID``.

A flag and one future per waiter, not an ``asyncio.Event``: an Event binds to the first event loop
that waits on it, and tests run streams on loops of their own.
"""

import asyncio

RETRY_MILLISECONDS = 1000
RETRY_FRAME = f"retry: {RETRY_MILLISECONDS}\n\n".encode()

_draining = False
_waiters: set[asyncio.Future] = set()


def _wake(future: asyncio.Future) -> None:
    if not future.done():
        future.set_result(None)


def start_draining() -> None:
    global _draining
    _draining = True
    for future in list(_waiters):
        future.get_loop().call_soon_threadsafe(_wake, future)


def is_draining() -> bool:
    return _draining


async def wait_draining() -> None:
    if _draining:
        return
    future = asyncio.get_running_loop().create_future()
    _waiters.add(future)
    try:
        await future
    finally:
        _waiters.discard(future)
