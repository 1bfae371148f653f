"""tcp_send_ref: the engine queues a reference to the application's memory
instead of copying it into the send ring, and builds every segment and
retransmission straight from it (runtime/net/tcp_sendq.c, runtime/TCP.md)."""

from __future__ import annotations

import ctypes

from tests.runtime.tcp_harness import (
    ACK,
    EAGAIN,
    EV_WRITABLE,
    FIN,
    PSH,
    RST,
    SEC,
    Engine,
    engine_lib,
    established,
)

MSS = 1460
EINVAL = -22
TSO_MAX = 65535 - 20 - 60


def pattern(n: int, salt: int = 0) -> bytes:
    """Bytes that show a misplaced or repeated block."""
    return bytes((k * 7 + salt + (k >> 8)) % 251 for k in range(n))


def memory(data: bytes) -> ctypes.Array[ctypes.c_char]:
    """Application memory the engine may reference (kept alive by the test)."""
    return ctypes.create_string_buffer(data, len(data))


def test_referenced_bytes_are_sent_and_take_no_ring_space() -> None:
    with Engine(engine_lib(), sndbuf=2000) as engine:
        conn, _peer, first = established(engine, MSS)
        body = pattern(100_000)
        mem = memory(body)
        assert engine.send_ref(conn, mem, 0, len(body)) == 100_000
        segs = engine.take()
        # RFC 5681 3.1 initial window: 3 segments, straight from the referenced bytes.
        assert [(s.seq, s.flags, s.payload) for s in segs] == [
            (first + k * MSS, ACK, body[k * MSS:(k + 1) * MSS]) for k in range(3)]
        assert engine.lib.tcp_send_queued(conn) == 100_000
        # The 2,000-byte ring is still free for copied bytes.
        assert engine.lib.tcp_send_space(conn) == 2000
        engine.abort(conn)
        engine.assert_no_leaks()


def test_partial_acks_consume_the_reference_and_the_rest_follows_in_order() -> None:
    with Engine(engine_lib(), sndbuf=2000) as engine:
        conn, peer, first = established(engine, MSS)
        body = pattern(20_000, salt=3)
        mem = memory(body)
        assert engine.send_ref(conn, mem, 0, len(body)) == len(body)
        got = {s.seq - first: s.payload for s in engine.take()}
        # 1,000 bytes acknowledged: mid-segment, so the queue's head moves
        # inside the referenced run.
        segs = peer.send(ACK, ack=first + 1000)
        assert engine.lib.tcp_send_queued(conn) == len(body) - 1000
        for s in segs:
            got[s.seq - first] = s.payload
        for _ in range(100):
            acked = max(off + len(p) for off, p in got.items())
            if acked == len(body):
                break
            for s in peer.send(ACK, ack=first + acked):
                got[s.seq - first] = s.payload
        stream = b"".join(got[off] for off in sorted(got))
        assert stream == body
        assert peer.send(ACK, ack=first + len(body)) == []
        assert engine.lib.tcp_send_queued(conn) == 0
        engine.abort(conn)


def test_retransmission_after_loss_comes_from_the_reference() -> None:
    with Engine(engine_lib()) as engine:
        conn, peer, first = established(engine, MSS)
        body = pattern(10_000, salt=5)
        mem = memory(body)
        engine.send_ref(conn, mem, 0, len(body))
        assert len(engine.take()) == 3
        # Every segment lost: the RTO (RFC 6298 2.1, 1 s) resends the first MSS.
        (again,) = engine.poll(1 * SEC)
        assert (again.seq, again.payload) == (first, body[:MSS])
        assert engine.stats().retransmits == 1
        # The resent segment acknowledged: go-back-N resends what follows
        # (RFC 5681 3.1: cwnd 2 MSS now), again from the reference.
        segs = peer.send(ACK, ack=first + MSS)
        assert [(s.seq, s.payload) for s in segs] == [
            (first + MSS, body[MSS:2 * MSS]), (first + 2 * MSS, body[2 * MSS:3 * MSS])]
        assert engine.stats().retransmits == 3
        engine.abort(conn)


def test_copied_and_referenced_bytes_leave_in_call_order_across_segments() -> None:
    with Engine(engine_lib(), tso_max=TSO_MAX) as engine:
        conn, peer, first = established(engine, MSS)
        filler = b"f" * (3 * MSS)
        assert engine.send(conn, filler) == len(filler)
        assert [len(s.payload) for s in engine.take()] == [3 * MSS]   # the initial window
        head1, head2, tail = b"HTTP/1.1 200 OK\r\n\r\n", b"second head\r\n\r\n", b"tail!"
        body1, body2 = pattern(1000, salt=1), pattern(3000, salt=2)
        mem = memory(body1 + body2)
        # Queued while the window is full: three ring runs and two references.
        assert engine.send(conn, head1) == len(head1)
        assert engine.send_ref(conn, mem, 0, len(body1)) == len(body1)
        assert engine.send(conn, head2) == len(head2)
        assert engine.send_ref(conn, mem, len(body1), len(body2)) == len(body2)
        assert engine.send(conn, tail) == len(tail)
        assert engine.take() == []
        expected = head1 + body1 + head2 + body2 + tail
        # The filler acknowledged (cwnd 4 MSS): one super-segment spans all five runs.
        (seg,) = peer.send(ACK, ack=first + len(filler))
        assert (seg.seq, seg.payload, seg.flags) == (first + len(filler), expected, ACK | PSH)
        engine.abort(conn)


def test_fin_follows_the_last_referenced_byte() -> None:
    with Engine(engine_lib(), tso_max=TSO_MAX) as engine:
        conn, peer, first = established(engine, MSS)
        body = pattern(6000)
        mem = memory(body)
        engine.send_ref(conn, mem, 0, len(body))
        (iw,) = engine.take()
        assert (len(iw.payload), iw.flags) == (3 * MSS, ACK)
        engine.close(conn)
        assert engine.take() == []                 # the window is full: the FIN waits
        (last,) = peer.send(ACK, ack=first + 3 * MSS)
        assert (last.seq, last.payload, last.flags) == (first + 3 * MSS, body[3 * MSS:],
                                                        ACK | PSH | FIN)
        assert engine.state(conn) == "FIN_WAIT_1"
        peer.send(ACK, ack=first + len(body) + 1)
        assert engine.state(conn) == "FIN_WAIT_2"
        assert engine.lib.tcp_send_queued(conn) == 0


def test_abort_with_references_queued_resets_and_frees_only_the_engines_memory() -> None:
    with Engine(engine_lib()) as engine:
        conn, _peer, _first = established(engine, MSS)
        mem = memory(pattern(50_000))
        engine.send(conn, b"head")
        engine.send_ref(conn, mem, 0, 50_000)
        engine.take()
        engine.abort(conn)
        (rst,) = engine.take()
        assert rst.flags & RST
        engine.assert_no_leaks()
        assert mem.raw == pattern(50_000)          # the application's bytes untouched


def test_the_reference_cap_refuses_more_until_acks_free_it() -> None:
    with Engine(engine_lib(), sndref_max=5000) as engine:
        conn, peer, first = established(engine, MSS)
        mem = memory(pattern(8000))
        assert engine.send_ref(conn, mem, 0, 8000) == 5000
        assert engine.send_ref(conn, mem, 5000, 3000) == EAGAIN
        # Copied bytes still go into the ring meanwhile.
        assert engine.send(conn, b"x") == 1
        engine.take()
        engine.take_events()
        peer.send(ACK, ack=first + 2000)
        assert [e.events & EV_WRITABLE for e in engine.take_events()] == [EV_WRITABLE]
        assert engine.lib.tcp_send_queued(conn) == 5000 - 2000 + 1
        # References after a copied byte start a new run.
        assert engine.send_ref(conn, mem, 5000, 3000) == 2000
        engine.abort(conn)


def test_runs_are_bounded_and_contiguous_references_share_one() -> None:
    with Engine(engine_lib()) as engine:
        conn, _peer, _first = established(engine, MSS)
        # No ACK comes: the queue only grows.
        mem = memory(pattern(1000))
        # Contiguous references extend one run however many calls make them.
        for k in range(20):
            assert engine.send_ref(conn, mem, k * 10, 10) == 10
        # Then alternating copies and references: 8 runs in all.
        for k in range(7):
            if k % 2 == 0:
                assert engine.send(conn, b"c") == 1
            else:
                assert engine.send_ref(conn, mem, 500 + k, 1) == 1
        assert engine.send_ref(conn, mem, 900, 1) == EAGAIN
        assert engine.send(conn, b"c") == 1         # the last run is copied bytes: extended
        assert engine.send_ref(conn, mem, 900, 1) == EAGAIN
        engine.abort(conn)



def test_a_zero_cap_refuses_references_outright() -> None:
    with Engine(engine_lib(), sndref_max=0) as engine:
        conn, _peer, _first = established(engine, MSS)
        mem = memory(b"body")
        assert engine.send_ref(conn, mem, 0, 4) == EINVAL  # not EAGAIN: no ACK would help
        assert engine.send(conn, b"copied") == 6
        engine.abort(conn)
