"""The database side of the predict path: a few threads that each keep one connection open.

The raw predict handler (``inference.asgi_predict``) runs on the event loop and reaches the ORM
through threads. Django's own sync thread is shared by every sync view and closes its connection
after each request (``CONN_MAX_AGE=0``), which would put a new Postgres connection on every
prediction. These threads keep theirs (reads and the once-a-minute key touch only) and reconnect
when a connection has gone bad.
"""

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, TypeVar

from django.db import InterfaceError, OperationalError, connection

DB_THREADS = 2

T = TypeVar("T")

_executor = ThreadPoolExecutor(max_workers=DB_THREADS, thread_name_prefix="reflex-predict-db")


def _call(fn: Callable[..., T], args: tuple, kwargs: dict) -> T:
    try:
        return fn(*args, **kwargs)
    except (OperationalError, InterfaceError):
        if connection.connection is None or connection.is_usable():
            raise
        connection.close()  # the server went away or restarted: reconnect once
        return fn(*args, **kwargs)


async def in_db_thread(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    return await asyncio.get_running_loop().run_in_executor(_executor, _call, fn, args, kwargs)
