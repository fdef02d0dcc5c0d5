"""uvicorn's HTTP/1.1 protocol with a deadline for each request head, which uvicorn lacks.

uvicorn closes idle keep-alive connections, but a client that connects and then sends nothing, or its headers a byte
at a time, holds a connection (and its memory) for as long as it likes. Here each request head must arrive within
`header_timeout` seconds of the connection or of its first byte; the body has its own deadline (rest.py).
"""

import asyncio

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol


class HeaderTimeoutProtocol(H11Protocol):
    def __init__(self, *args, header_timeout: float, **kwargs):
        super().__init__(*args, **kwargs)
        self.header_timeout = header_timeout
        self._header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:
        super().connection_made(transport)
        self._start_header_timer()

    def data_received(self, data: bytes) -> None:
        if self.conn.their_state is h11.IDLE:  # The first bytes of a request head (the timer runs from the first).
            self._start_header_timer()
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:  # The head has arrived.
            self._cancel_header_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_header_timer()
        super().connection_lost(exc)

    def _start_header_timer(self) -> None:
        if self._header_timer is None:
            self._header_timer = self.loop.call_later(self.header_timeout, self._header_timed_out)

    def _cancel_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _header_timed_out(self) -> None:
        self._header_timer = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.logger.info("Closing a connection whose request head took over %g s", self.header_timeout)
            self.transport.close()
