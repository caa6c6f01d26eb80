"""The latency proxy of benchmarks/backfill.py (its postgres-latency instance): it forwards bytes
both ways unchanged, delays what the client sends by the configured delay without serialising
the chunks behind it, counts what it forwarded, and stops by itself. Loopback sockets only."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from benchmarks.latency_proxy import LatencyProxy


@pytest.fixture
def echo_server():
    """A TCP server on 127.0.0.1 that echoes everything back; yields its port."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve():
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                con, _ = listener.accept()
            except TimeoutError:
                continue
            with con:
                while data := con.recv(65536):
                    con.sendall(data)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join(timeout=5)
    listener.close()


def recv_exactly(con: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = con.recv(n - len(data))
        assert chunk, "connection closed early"
        data += chunk
    return data


def test_the_proxy_echoes_bytes_unchanged_and_adds_its_delay_to_a_round_trip(echo_server):
    with LatencyProxy("127.0.0.1", echo_server, delay=0.1) as proxy:
        with socket.create_connection(("127.0.0.1", proxy.port), timeout=5) as con:
            t0 = time.perf_counter()
            con.sendall(b"ping")
            assert recv_exactly(con, 4) == b"ping"
            elapsed = time.perf_counter() - t0
        assert 0.1 <= elapsed < 1.0
        time.sleep(0.05)  # the proxy counts a chunk once it has forwarded it
        stats = proxy.stats()
    assert (stats.connections, stats.chunks_to_server, stats.bytes_to_server, stats.bytes_to_client) == (1, 1, 4, 4)
    assert stats.mean_delay >= 0.1
    assert stats.errors == []


def test_chunks_sent_together_arrive_in_order_after_one_delay_not_one_each(echo_server):
    with LatencyProxy("127.0.0.1", echo_server, delay=0.2) as proxy:
        with socket.create_connection(("127.0.0.1", proxy.port), timeout=5) as con:
            t0 = time.perf_counter()
            for part in (b"one,", b"two,", b"three"):
                con.sendall(part)
                time.sleep(0.01)
            assert recv_exactly(con, 13) == b"one,two,three"
            elapsed = time.perf_counter() - t0
    assert 0.2 <= elapsed < 0.45  # three delays in series would be 0.6 s


def test_the_proxy_stops_by_itself_after_its_lifetime(echo_server):
    proxy = LatencyProxy("127.0.0.1", echo_server, delay=0.0, lifetime=0.2).start()
    proxy._thread.join(timeout=5)
    assert not proxy._thread.is_alive()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", proxy.port), timeout=1).close()
