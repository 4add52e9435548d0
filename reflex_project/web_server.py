"""The web process: ``python -m reflex_project.web_server`` takes daphne's command line, and stops gracefully.

Daphne's own SIGTERM and SIGINT stop the reactor at once, cancelling every request in flight. Here either
signal instead: stops listening (new connections are refused, so a load balancer moves on); tells open
event streams to end with a ``retry:`` hint (reflex_project/draining.py); waits for the requests in
flight to finish, at most ``REFLEX_WEB_STOP_SECONDS``; then stops the reactor (whatever is still running
is cancelled, as daphne would). A second signal stops at once.
"""

import logging
import os
import signal
import sys
import time
from typing import Any

from daphne.cli import CommandLineInterface
from daphne.server import Server
from twisted.internet import reactor as twisted_reactor

# Twisted types the reactor with zope interfaces, whose methods mypy reads without ``self`` (short of
# the mypy-zope plugin): untyped here.
reactor: Any = twisted_reactor

logger = logging.getLogger(__name__)
CHECK_SECONDS = 0.05


class GracefulServer(Server):
    def __init__(self, *args, **kwargs) -> None:
        kwargs["signal_handlers"] = False  # ours, below
        super().__init__(*args, **kwargs)
        self.ports: list[Any] = []  # Twisted's listening ports
        self.draining_since: float | None = None

    def run(self) -> None:
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        super().run()

    def listen_success(self, port) -> None:
        self.ports.append(port)
        super().listen_success(port)

    def _on_signal(self, signum: int, frame: object) -> None:
        reactor.callFromThread(self.drain)

    def in_flight(self) -> int:
        return sum(1 for details in self.connections.values() if details.get("application_instance") is not None and not details["application_instance"].done())

    def drain(self) -> None:
        if self.draining_since is not None:
            reactor.stop()
            return
        from reflex_project.draining import start_draining

        self.draining_since = time.monotonic()
        for port in self.ports:
            port.stopListening()
        start_draining()
        logger.warning("web: stopping; %d requests in flight", self.in_flight())
        self._stop_when_drained()

    def _stop_when_drained(self) -> None:
        from django.conf import settings

        busy = self.in_flight()
        assert self.draining_since is not None  # drain set it
        waited = time.monotonic() - self.draining_since
        if busy and waited < settings.REFLEX_WEB_STOP_SECONDS:
            reactor.callLater(CHECK_SECONDS, self._stop_when_drained)
            return
        if busy:
            logger.warning("web: %d requests still running after %.1f s are cancelled", busy, waited)
        reactor.callLater(CHECK_SECONDS, reactor.stop)  # the last responses' bytes leave first


class GracefulCommandLine(CommandLineInterface):
    server_class = GracefulServer


if __name__ == "__main__":
    GracefulCommandLine.entrypoint()
    # Leave without the interpreter's teardown: a cancelled prediction may still hold torch's threads, and
    # tearing torch down under them aborts the process ("terminate called without an active exception").
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
