"""A TCP proxy on 127.0.0.1 that adds latency to every round trip, for benchmarks/backfill.py.

Each chunk the client sends is delivered to the server `delay` seconds after it arrived (in
order, without holding back the chunks behind it: a pipe with latency, not a queue of sleeps);
the server's answers go back at once. A client that waits for each answer before it sends the
next request (psycopg2 does) so pays `delay` once per round trip. The proxy counts connections,
chunks and bytes each way, and the delay it really applied (asyncio's timers wake up to ~1 ms
late), so a benchmark can say how many round trips a run made and what each one cost.

It runs its own event loop in a daemon thread, keeps at most QUEUE_CHUNKS chunks in flight per
connection, and stops by itself after `lifetime` seconds if nobody stops it.

    with LatencyProxy("127.0.0.1", 5432, delay=0.001) as proxy:
        connect to ("127.0.0.1", proxy.port) ...
        print(proxy.stats())
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field

QUEUE_CHUNKS = 256
READ_SIZE = 1 << 16


@dataclass
class ProxyStats:
    connections: int = 0
    chunks_to_server: int = 0
    chunks_to_client: int = 0
    bytes_to_server: int = 0
    bytes_to_client: int = 0
    delayed_seconds: float = 0.0  # sum over chunks to the server of (delivered - arrived)
    errors: list[str] = field(default_factory=list)

    @property
    def mean_delay(self) -> float:
        return self.delayed_seconds / self.chunks_to_server if self.chunks_to_server else 0.0


class LatencyProxy:
    def __init__(self, target_host: str, target_port: int, delay: float, lifetime: float = 3600.0):
        self.target = (target_host, target_port)
        self.delay, self.lifetime = delay, lifetime
        self.port: int | None = None
        self._stats = ProxyStats()
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="latency-proxy", daemon=True)
        self._server: asyncio.AbstractServer | None = None
        self._tasks: set[asyncio.Task] = set()

    # lifecycle -------------------------------------------------------------------------------
    def start(self) -> LatencyProxy:
        self._thread.start()
        self._server = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._handle, "127.0.0.1", 0), self._loop).result(timeout=10)
        self.port = self._server.sockets[0].getsockname()[1]
        self._loop.call_soon_threadsafe(self._loop.call_later, self.lifetime, self._shutdown)
        return self

    def stop(self) -> None:
        if self._loop.is_running():
            self._loop.call_soon_threadsafe(self._shutdown)
        self._thread.join(timeout=10)

    def __enter__(self) -> LatencyProxy:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        self._loop.call_later(0.05, self._loop.stop)

    def stats(self) -> ProxyStats:
        """A copy of the counters so far."""
        with self._lock:
            return ProxyStats(**{**self._stats.__dict__, "errors": list(self._stats.errors)})

    def reset(self) -> None:
        with self._lock:
            self._stats = ProxyStats()

    # forwarding ------------------------------------------------------------------------------
    async def _handle(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        self._tasks.add(task)
        with self._lock:
            self._stats.connections += 1
        try:
            server_reader, server_writer = await asyncio.open_connection(*self.target)
        except OSError as e:
            self._error(f"connect {self.target}: {e}")
            client_writer.close()
            self._tasks.discard(task)
            return
        try:
            up = asyncio.ensure_future(self._delayed(client_reader, server_writer))
            down = asyncio.ensure_future(self._direct(server_reader, client_writer))
            # either side closing ends the connection
            done, pending = await asyncio.wait({up, down}, return_when=asyncio.FIRST_COMPLETED)
            for t in pending:
                t.cancel()
        except asyncio.CancelledError:
            pass
        finally:
            for w in (server_writer, client_writer):
                w.close()
            self._tasks.discard(task)

    async def _delayed(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue = asyncio.Queue(maxsize=QUEUE_CHUNKS)

        async def receive() -> None:
            while True:
                data = await reader.read(READ_SIZE)
                await queue.put((loop.time(), data))
                if not data:
                    return

        receiver = asyncio.ensure_future(receive())
        try:
            while True:
                arrived, data = await queue.get()
                if not data:
                    return
                wait = arrived + self.delay - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                writer.write(data)
                with self._lock:
                    self._stats.chunks_to_server += 1
                    self._stats.bytes_to_server += len(data)
                    self._stats.delayed_seconds += loop.time() - arrived
                await writer.drain()
        except (ConnectionError, OSError) as e:
            self._error(f"to server: {e}")
        finally:
            receiver.cancel()

    async def _direct(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(READ_SIZE):
                writer.write(data)
                with self._lock:
                    self._stats.chunks_to_client += 1
                    self._stats.bytes_to_client += len(data)
                await writer.drain()
        except (ConnectionError, OSError) as e:
            self._error(f"to client: {e}")

    def _error(self, message: str) -> None:
        with self._lock:
            if len(self._stats.errors) < 20:
                self._stats.errors.append(message)
