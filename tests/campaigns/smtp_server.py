"""A real SMTP server on localhost for the tests: Python 3.11's smtpd (aiosmtpd is not
installed), on asyncore, in a thread. Every envelope it accepts is kept, as received."""

from __future__ import annotations

import threading
import warnings
from dataclasses import dataclass, field

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import asyncore
    import smtpd


@dataclass
class Envelope:
    peer: tuple
    mail_from: str
    rcpt_tos: list[str]
    data: bytes


@dataclass
class LocalSmtp:
    host: str = "127.0.0.1"
    port: int = 0
    received: list[Envelope] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)  # addresses answered with 550

    def start(self) -> LocalSmtp:
        owner = self

        class Server(smtpd.SMTPServer):
            def process_message(self, peer, mailfrom, rcpttos, data, **kwargs):
                if set(rcpttos) & owner.refuse:
                    return "550 No such user here"
                owner.received.append(Envelope(peer, mailfrom, list(rcpttos), data))
                return None

        self._map: dict = {}
        self._server = Server((self.host, self.port), None, decode_data=False)
        self.port = self._server.socket.getsockname()[1]
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._running = True
        self._thread.start()
        return self

    def _loop(self):
        while self._running:
            asyncore.loop(timeout=0.05, count=1)

    def stop(self) -> None:
        self._running = False
        self._thread.join(timeout=5)
        self._server.close()
        asyncore.close_all()
