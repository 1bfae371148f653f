"""TCP segmentation offload in the engine (tcp_config.tso_max,
docs/net-offload.md): new data leaves in super-segments of whole MSSs for
the device to split, their checksum field holding the pseudo-header sum;
retransmissions stay one MSS with a full checksum."""

from __future__ import annotations

from tests.runtime.tcp_harness import ACK, PSH, Engine, engine_lib, established

TSO_MAX = 65535 - 20 - 60


def test_initial_window_leaves_as_one_super_segment() -> None:
    with Engine(engine_lib(), tso_max=TSO_MAX) as tso:
        conn, _peer, first = established(tso)
        tso.tso_log.clear()
        assert tso.send(conn, b"t" * 100_000) == 100_000
        segs = tso.take()
        # RFC 5681 3.1: IW = 3 * 1460 bytes for this MSS, as one segment of 3 MSSs.
        assert [(s.seq, len(s.payload), s.flags) for s in segs] == [(first, 4380, ACK)]
        assert tso.tso_log == [1460]
        tso.abort(conn)


def test_without_tso_the_same_window_is_three_segments(engine: Engine) -> None:
    conn, _peer, first = established(engine)
    engine.tso_log.clear()
    engine.send(conn, b"t" * 100_000)
    segs = engine.take()
    assert [(s.seq, len(s.payload)) for s in segs] == [(first + k * 1460, 1460) for k in range(3)]
    assert engine.tso_log == [0, 0, 0]
    engine.abort(conn)


def test_super_segments_end_on_whole_mss_and_the_tail_is_sent_as_is() -> None:
    with Engine(engine_lib(), tso_max=TSO_MAX) as tso:
        conn, peer, first = established(tso)
        tso.send(conn, b"a" * 10_000)
        (iw,) = tso.take()
        assert len(iw.payload) == 4380
        tso.tso_log.clear()
        # Acknowledging the window opens cwnd to 4 MSS (RFC 5681 eq. 2): 5,840 bytes
        # fit, but only 5,620 are queued; the tail goes whole, PSH set.
        segs = peer.send(ACK, ack=first + 4380)
        assert [(s.seq, len(s.payload), s.flags) for s in segs] == [(first + 4380, 5620,
                                                                    ACK | PSH)]
        assert tso.tso_log == [1460]
        tso.abort(conn)


def test_retransmission_is_one_mss_with_a_full_checksum() -> None:
    with Engine(engine_lib(), tso_max=TSO_MAX) as tso:
        conn, _peer, first = established(tso)
        tso.send(conn, b"r" * 20_000)
        tso.take()
        tso.tso_log.clear()
        (again,) = tso.poll(1_000_000_000)                 # RTO (RFC 6298 2.1): 1 s
        assert (again.seq, len(again.payload)) == (first, 1460)
        assert tso.tso_log == [0]                         # Seg.parse checked the checksum
        tso.abort(conn)
