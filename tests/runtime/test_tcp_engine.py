"""TCP engine on the host: handshakes, data, ACK policy, timers and
congestion control, with exact segments asserted at a virtual clock."""

from __future__ import annotations

import ctypes
import random

from tests.runtime.tcp_harness import (
    ACK,
    EAGAIN,
    ETIMEDOUT,
    EV_CLOSED,
    EV_CONNECTED,
    EV_WRITABLE,
    LOCAL_IP,
    MS,
    NEVER,
    PEER_IP,
    PSH,
    RST,
    SEC,
    SYN,
    Engine,
    Peer,
    Seg,
    checksum,
    engine_lib,
    established,
)


def test_passive_handshake_options_and_accept(engine: Engine) -> None:
    listener = engine.listen(port=7)
    peer = Peer(engine)
    (synack,) = peer.send(SYN, mss=1400, ws=7)
    assert (synack.sport, synack.dport) == (7, 40000)
    assert synack.flags == SYN | ACK and synack.ack == 1001
    assert synack.mss == 1460 and synack.ws == 3       # 256 KiB needs shift 3
    assert synack.window == 65535                        # never scaled in a SYN
    assert engine.accepts == 0 and engine.accept(listener) is None
    peer.ack = synack.seq + 1
    assert peer.send(ACK, window=1000) == []
    assert engine.accepts == 1
    conn = engine.accept(listener)
    assert conn is not None and engine.state(conn) == "ESTABLISHED"
    info = engine.info(conn)
    assert info.snd_mss == 1400 and info.snd_wscale == 7 and info.rcv_wscale == 3
    assert info.snd_wnd == 1000 << 7
    assert info.cwnd == 3 * 1400                         # RFC 5681 IW for 1095 < SMSS <= 2190
    engine.abort(conn)
    assert engine.stats().live_conns == 0


def test_handshake_without_window_scale_or_mss(engine: Engine) -> None:
    listener = engine.listen()
    peer = Peer(engine)
    (synack,) = peer.send(SYN)
    assert synack.ws is None and synack.mss == 1460    # no WS answer without the offer
    peer.ack = synack.seq + 1
    peer.send(ACK, window=50000)
    conn = engine.accept(listener)
    assert conn is not None
    info = engine.info(conn)
    assert info.snd_mss == 536                           # RFC 9293 3.7.1 default
    assert info.rcv_wscale == 0 and info.snd_wnd == 50000
    peer.send(ACK | PSH, b"x" * 10)
    (ack,) = engine.poll(engine.deadline())
    assert ack.window == 65535 - 10                      # unscaled, capped at 64 KiB
    engine.abort(conn)


def test_closed_port_answers_rst(engine: Engine) -> None:
    syn = Seg(40000, 9, 5000, 0, SYN, 65535)
    (rst,) = engine.feed(syn)
    assert (rst.flags, rst.seq, rst.ack) == (RST | ACK, 0, 5001)
    (rst,) = engine.feed(Seg(40000, 9, 5000, 777, ACK, 65535, b"xy"))
    assert (rst.flags, rst.seq) == (RST, 777)
    assert engine.feed(Seg(40000, 9, 5000, 0, RST, 0)) == []


def test_listen_state_rules(engine: Engine) -> None:
    engine.listen()
    assert engine.feed(Seg(40000, 7, 1, 0, RST, 0)) == []
    (rst,) = engine.feed(Seg(40000, 7, 1, 4242, ACK, 100))
    assert (rst.flags, rst.seq) == (RST, 4242)
    assert engine.feed(Seg(40000, 7, 1, 0, 0, 100, b"data")) == []
    assert engine.stats().live_conns == 0


def test_bad_checksum_and_malformed_options_dropped(engine: Engine) -> None:
    engine.listen()
    raw = bytearray(Seg(40000, 7, 1, 0, SYN, 100).build())
    raw[16] ^= 0xFF
    assert engine.feed(bytes(raw)) == []
    bad_opt = Seg(40000, 7, 1, 0, SYN, 100, options_raw=bytes([2, 0, 0, 0]))
    assert engine.feed(bad_opt) == []
    assert engine.feed(b"\x00" * 19) == []
    assert engine.stats().bad_segments == 3
    assert engine.stats().live_conns == 0


def test_syn_ack_retransmission_backoff_then_gives_up(engine: Engine) -> None:
    engine.listen()
    peer = Peer(engine)
    (synack,) = peer.send(SYN, mss=1460)
    times = []
    while engine.stats().live_conns:
        t = engine.deadline()
        segs = engine.poll(t)
        times.append((t // SEC, [s.flag_names() for s in segs]))
        assert all(s.seq == synack.seq + (1 if s.flags & RST else 0) for s in segs)
    # RFC 6298 (5.5) doubling, capped at 60 s; six retransmissions (R2).
    assert times == [(1, ["S."]), (3, ["S."]), (7, ["S."]), (15, ["S."]), (31, ["S."]),
                     (63, ["S."]), (123, ["R."])]
    engine.assert_no_leaks()


def test_repeated_syn_gets_synack_again(engine: Engine) -> None:
    engine.listen()
    peer = Peer(engine)
    (first,) = peer.send(SYN, mss=1460)
    (again,) = engine.at(100 * MS).feed(peer.seg(SYN, seq=1000, mss=1460))
    assert (again.flags, again.seq, again.ack) == (SYN | ACK, first.seq, 1001)
    assert engine.stats().live_conns == 1


def test_delayed_ack_timing(engine: Engine) -> None:
    conn, peer, _ = established(engine)
    assert peer.send(ACK | PSH, b"x" * 100) == []
    assert engine.deadline() == 40 * MS
    assert engine.poll(39 * MS) == []
    (ack,) = engine.poll(40 * MS)
    assert (ack.flags, ack.ack, ack.payload) == (ACK, 1101, b"")
    assert ack.window == (256 * 1024 - 100) >> 3
    assert engine.recv(conn) == b"x" * 100
    engine.abort(conn)


def test_every_second_full_segment_acked_at_once(engine: Engine) -> None:
    conn, peer, _ = established(engine)
    assert peer.send(ACK, b"a" * 1460) == []
    (ack,) = peer.send(ACK, b"b" * 1460)
    assert ack.ack == 1001 + 2920
    assert engine.deadline() == NEVER                   # the delayed ACK was cancelled
    engine.abort(conn)


def test_ack_batch_defers_the_second_segment_ack_to_the_next_poll() -> None:
    # ack_batch: the ACK owed at the second full segment waits for the next
    # tcp_poll (the event loop's, after its batch of frames), so one ACK
    # covers the batch; a quarter of the buffer unacknowledged ACKs at once.
    with Engine(engine_lib(), rcvbuf=64 * 1024, ack_batch=True) as batched:
        conn, peer, _ = established(batched)
        for _ in range(6):
            assert peer.send(ACK, b"b" * 1460) == []
        assert batched.deadline() == 0                   # due in this very poll
        (ack,) = batched.poll(0)
        assert (ack.flags, ack.ack) == (ACK, 1001 + 6 * 1460)
        assert batched.deadline() == NEVER
        acks = []
        for _ in range(12):                              # 17,520 bytes >= 64 KiB / 4
            acks += peer.send(ACK, b"c" * 1460)
        assert [a.ack for a in acks] == [1001 + 18 * 1460]
        assert peer.send(ACK, b"d" * 100) == []          # a lone small segment: delayed
        assert batched.deadline() == 40 * MS
        batched.abort(conn)
        batched.assert_no_leaks()


def test_reader_that_keeps_up_sends_one_ack_per_two_segments(engine: Engine) -> None:
    # Reading after every segment opens the window by 1 MSS each time; with
    # the window above half the buffer that is no reason for an extra ACK:
    # the ACK of every second segment carries the window. Only the first
    # read announces the scaled window (a SYN offers at most 64 KiB).
    conn, peer, _ = established(engine)
    acks = []
    for k in range(10):
        acks += peer.send(ACK, bytes([65 + k]) * 1460)
        assert engine.recv(conn) == bytes([65 + k]) * 1460
        acks += engine.take()
    assert [a.ack for a in acks] == [2461 + 2920 * n for n in range(5)]
    assert acks[0].window == 32768
    # receiver SWS avoidance moves the edge in steps of at least 1 MSS
    assert all((256 * 1024 - 2 * 1460) >> 3 <= a.window < 32768 for a in acks[1:])
    assert engine.deadline() == 40 * MS                 # the tenth segment waits
    engine.abort(conn)


def test_window_update_when_a_slow_reader_catches_up(engine: Engine) -> None:
    # Below half the buffer advertised, a read that moves the edge by 2 MSS
    # is announced at once.
    conn, peer, _ = established(engine)
    for _ in range(100):                                 # 146,000 bytes unread
        peer.send(ACK, b"s" * 1460)
    engine.take()
    assert engine.info(conn).rcv_wnd <= 128 * 1024
    assert len(engine.recv(conn, 2000)) == 2000         # type: ignore[arg-type]
    assert engine.take() == []                           # the edge moved < 2 MSS
    assert len(engine.recv(conn, 1000)) == 1000         # type: ignore[arg-type]
    (update,) = engine.take()
    assert (update.ack, update.window) == (peer.seq, (256 * 1024 - 143000) >> 3)
    engine.abort(conn)


def test_out_of_order_duplicate_and_overlap(engine: Engine) -> None:
    conn, peer, _ = established(engine)
    base = peer.seq
    (dup,) = engine.feed(peer.seg(ACK, b"B" * 100, seq=base + 100))
    assert dup.ack == base                      # RFC 5681 4.2: immediate duplicate ACK
    (dup2,) = engine.feed(peer.seg(ACK, b"D" * 100, seq=base + 300))
    assert dup2.ack == base
    (fill,) = engine.feed(peer.seg(ACK, b"A" * 100, seq=base))
    assert fill.ack == base + 200               # gap filled: immediate ACK
    (again,) = engine.feed(peer.seg(ACK, b"A" * 100, seq=base))
    assert again.ack == base + 200              # pure duplicate: re-ACK
    # overlapping: 50 old bytes and 100 new ones closing the second gap
    (fill2,) = engine.feed(peer.seg(ACK, b"B" * 50 + b"C" * 100, seq=base + 150))
    assert fill2.ack == base + 400
    assert engine.recv(conn) == b"A" * 100 + b"B" * 100 + b"C" * 100 + b"D" * 100
    engine.abort(conn)


def test_nagle_holds_small_segment_until_ack(engine: Engine) -> None:
    conn, peer, s = established(engine)
    assert engine.send(conn, b"1" * 10) == 10
    (first,) = engine.take()                              # nothing in flight: goes
    assert (first.seq, first.payload) == (s, b"1" * 10)
    assert engine.send(conn, b"2" * 10) == 10
    assert engine.take() == []                            # RFC 896: held
    (second,) = engine.feed(peer.seg(ACK, ack=s + 10))
    assert (second.seq, second.payload) == (s + 10, b"2" * 10)
    engine.feed(peer.seg(ACK, ack=s + 20))
    # a write of 2 MSS + 80: full segments go, the tail waits for the ACK
    engine.send(conn, b"3" * 3000)
    assert [len(x.payload) for x in engine.take()] == [1460, 1460]
    (tail,) = engine.feed(peer.seg(ACK, ack=s + 20 + 2920))
    assert (tail.seq, len(tail.payload), tail.flags) == (s + 2940, 80, ACK | PSH)
    engine.abort(conn)


def test_nodelay_sends_small_segments_at_once(engine: Engine) -> None:
    conn, _peer, _s = established(engine)
    engine.nodelay(conn)
    engine.send(conn, b"a")
    engine.send(conn, b"b")
    assert [x.payload for x in engine.take()] == [b"a", b"b"]
    engine.abort(conn)


def test_rto_backoff_and_karn(engine: Engine) -> None:
    conn, peer, s = established(engine)
    engine.nodelay(conn)
    engine.send(conn, b"q" * 100)
    (seg,) = engine.take()
    assert (seg.seq, seg.payload, seg.flags) == (s, b"q" * 100, ACK | PSH)
    assert engine.deadline() == 1 * SEC           # RFC 6298 (2.1)
    (r1,) = engine.poll(1 * SEC)
    assert (r1.seq, r1.payload) == (s, b"q" * 100)
    assert engine.deadline() == 3 * SEC           # (5.5) doubled
    (r2,) = engine.poll(3 * SEC)
    assert r2.seq == s and engine.deadline() == 7 * SEC
    info = engine.info(conn)
    assert info.cwnd == 1460 and info.ssthresh == 2 * 1460   # RFC 5681 eq. (4)
    engine.at(int(3.5 * SEC)).feed(peer.seg(ACK, ack=s + 100))
    info = engine.info(conn)
    assert info.srtt == 0 and info.rto == 4 * SEC  # Karn: no sample, backoff kept
    engine.send(conn, b"r" * 10)
    (fresh,) = engine.take()
    assert fresh.seq == s + 100
    engine.at(int(3.6 * SEC)).feed(peer.seg(ACK, ack=s + 110))
    info = engine.info(conn)
    assert (info.srtt, info.rttvar, info.rto) == rfc6298([0, 100 * MS])
    engine.abort(conn)


def rfc6298(samples: list[int]) -> tuple[int, int, int]:
    """The estimator of RFC 6298 section 2 in integer nanoseconds."""
    srtt, rttvar = samples[0], samples[0] // 2
    for r in samples[1:]:
        rttvar = (3 * rttvar + abs(srtt - r)) // 4
        srtt = (7 * srtt + r) // 8
    rto = min(max(srtt + max(MS, 4 * rttvar), SEC), 60 * SEC)
    return srtt, rttvar, rto


def test_rtt_estimator_formula(engine: Engine) -> None:
    conn, peer, s = established(engine)           # handshake sample: 0 ns
    engine.nodelay(conn)
    samples = [0]
    t = 0
    for i, rtt in enumerate([900 * MS, 1000 * MS]):
        engine.at(t).send(conn, b"a")
        engine.take()
        t += rtt
        engine.at(t).feed(peer.seg(ACK, ack=s + i + 1))
        samples.append(rtt)
    info = engine.info(conn)
    assert (info.srtt, info.rttvar, info.rto) == rfc6298(samples)
    assert info.rto == 1_785_937_500                   # above the 1 s floor
    engine.abort(conn)


def test_data_retransmissions_exhausted_reset(engine: Engine) -> None:
    conn, _peer, _s = established(engine)
    engine.send(conn, b"z" * 10)
    engine.take()
    kinds: list[str] = []
    for _ in range(40):
        t = engine.deadline()
        if t == 2**64 - 1:
            break
        kinds.extend(s.flag_names() for s in engine.poll(t))
    assert kinds == ["P."] * 15 + ["R."]
    assert engine.state(conn) == "CLOSED" and engine.error(conn) == ETIMEDOUT
    assert any(ev.events & EV_CLOSED for ev in engine.take_events())
    engine.close(conn)
    engine.assert_no_leaks()


def test_active_open_and_connected_event(engine: Engine) -> None:
    conn = engine.connect(rport=80, lport=5555)
    (syn,) = engine.take()
    assert (syn.flags, syn.mss, syn.ws, syn.window) == (SYN, 1460, 3, 65535)
    peer = Peer(engine, sport=80, dport=5555, seq=9000, ack=syn.seq + 1)
    (ack,) = peer.send(SYN | ACK, mss=1200, ws=1)
    assert (ack.flags, ack.seq, ack.ack) == (ACK, syn.seq + 1, 9001)
    assert engine.state(conn) == "ESTABLISHED"
    assert [e.events for e in engine.take_events()] == [EV_CONNECTED]
    assert engine.info(conn).snd_mss == 1200
    engine.abort(conn)
    engine.assert_no_leaks()


def test_full_send_buffer_then_writable_event() -> None:
    with Engine(engine_lib(), sndbuf=2000, mss=1000) as small:
        conn, peer, s = established(small, mss=1000)
        assert small.send(conn, b"x" * 5000) == 2000          # takes what fits
        assert small.lib.tcp_send_space(conn) == 0
        assert small.send(conn, b"y") == EAGAIN
        segs = small.take()
        assert [len(x.payload) for x in segs] == [1000, 1000]
        assert small.take_events() == []
        small.feed(peer.seg(ACK, ack=s + 1000))
        assert [e.events for e in small.take_events()] == [EV_WRITABLE]
        assert small.lib.tcp_send_space(conn) == 1000
        small.abort(conn)
        small.assert_no_leaks()


def test_sequence_numbers_wrap_both_ways(engine: Engine) -> None:
    # RFC 6528: ISN = 4 us clock + F(tuple). Learn F at t=0, then pick the
    # time at which our ISN sits 500 bytes below 2^32.
    probe = engine.connect(rport=80, lport=5555)
    (syn0,) = engine.take()
    engine.abort(probe)
    t = ((2**32 - 500 - syn0.seq) % 2**32) * 4000
    conn = engine.at(t).connect(rport=80, lport=5555)
    (syn,) = engine.take()
    assert syn.seq == 2**32 - 500
    peer = Peer(engine, sport=80, dport=5555, seq=2**32 - 100, ack=syn.seq + 1)
    peer.send(SYN | ACK, mss=1000, ws=0)
    engine.nodelay(conn)
    data = bytes(range(256)) * 8                        # 2048 bytes across 2^32
    engine.send(conn, data)
    segs = engine.take()
    assert [s.seq for s in segs] == [2**32 - 499, (2**32 - 499 + 1000) % 2**32,
                                     (2**32 - 499 + 2000) % 2**32]
    assert b"".join(s.payload for s in segs) == data
    assert peer.send(ACK | PSH, b"w" * 300, ack=(syn.seq + 1 + 2048) % 2**32) == []
    (ack,) = engine.poll(engine.deadline())             # the delayed ACK
    assert ack.ack == 201                               # 2^32 - 99 + 300, wrapped
    assert engine.recv(conn) == b"w" * 300
    assert engine.info(conn).snd_una == (2**32 - 499 + 2048) % 2**32
    engine.abort(conn)
    engine.assert_no_leaks()


def test_clock_never_goes_back_for_rtt(engine: Engine) -> None:
    # An application callback reads a fresh clock (100 ms) for tcp_send; the
    # event loop then delivers the ACK stamped with its older batch time.
    conn, peer, s = established(engine)
    engine.nodelay(conn)
    engine.at(100 * MS).send(conn, b"t")
    engine.take()
    raw = peer.seg(ACK, ack=s + 1).build()
    engine.lib.tcp_input(engine.handle, 60 * MS, PEER_IP, LOCAL_IP, raw, len(raw))
    info = engine.info(conn)
    assert info.snd_una == s + 1
    assert info.rto == 1 * SEC and info.srtt < 1 * MS   # a 0 sample, not 2^64 - 40 ms
    engine.abort(conn)


def test_checksum_word_loop_matches_rfc1071_at_every_alignment() -> None:
    # The checksum adds 8 bytes at a time in native order and swaps once
    # (RFC 1071 2(B)); every start offset and length, including odd ones and
    # words of 0xffff, must give what the 16-bit big-endian sum gives.
    lib = engine_lib()
    lib.net_checksum_add.restype = ctypes.c_uint32
    lib.net_checksum_add.argtypes = [ctypes.c_uint32, ctypes.c_char_p, ctypes.c_size_t]
    lib.net_checksum_finish.restype = ctypes.c_uint16
    lib.net_checksum_finish.argtypes = [ctypes.c_uint32]
    rng = random.Random(14)
    blobs = [rng.randbytes(160), b"\xff" * 160, bytes(160)]
    for blob in blobs:
        for offset in range(9):
            for length in range(0, 150, 7):
                data = blob[offset:offset + length]
                buf = ctypes.create_string_buffer(blob, len(blob))
                start = ctypes.cast(ctypes.addressof(buf) + offset, ctypes.c_char_p)
                for initial in (0, 0x1234, 0xFFFFFFFF):
                    got = lib.net_checksum_finish(lib.net_checksum_add(initial, start, length))
                    folded = initial
                    while folded >> 16:
                        folded = (folded & 0xFFFF) + (folded >> 16)
                    want = checksum(data + b"\0" * (length % 2) + folded.to_bytes(2, "big"))
                    assert got == want, (offset, length, initial)
