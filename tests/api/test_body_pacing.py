"""A large request body reaches the application one piece per ``receive()``, not all at once
(reflex_project/daphne_requests.py): at most one piece waits in the queue."""

import asyncio
import os
import tempfile

from reflex_project.daphne_requests import PIECE_BYTES, BodyPacer


def test_a_large_body_is_handed_over_a_piece_at_a_time_and_whole():
    body = os.urandom(3 * PIECE_BYTES + 123)

    async def receive_all() -> tuple[bytes, list[int], str]:
        queue: asyncio.Queue = asyncio.Queue()
        with tempfile.TemporaryFile() as spooled:
            spooled.write(body)
            spooled.seek(0)
            BodyPacer(spooled, queue).start()
            queue.put_nowait({"type": "http.request", "body": b"", "more_body": False})  # daphne's own copy: dropped
            received, waiting = [], []
            while True:
                waiting.append(queue.qsize())
                message = await queue.get()
                received.append(message["body"])
                if not message["more_body"]:
                    break
            queue.put_nowait({"type": "http.disconnect"})  # what daphne sends later still arrives
            return b"".join(received), waiting, (await queue.get())["type"]

    received, waiting, last = asyncio.run(receive_all())
    assert received == body
    assert waiting == [1, 1, 1, 1]  # never more than the next piece
    assert last == "http.disconnect"


def test_a_consumer_waiting_before_the_body_is_woken():
    async def scenario() -> bytes:
        queue: asyncio.Queue = asyncio.Queue()
        getter = asyncio.ensure_future(queue.get())
        await asyncio.sleep(0)
        with tempfile.TemporaryFile() as spooled:
            spooled.write(b"x" * 10)
            spooled.seek(0)
            BodyPacer(spooled, queue).start()
            message = await asyncio.wait_for(getter, 5)
        return message["body"]

    assert asyncio.run(scenario()) == b"x" * 10
