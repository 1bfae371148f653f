"""TCP engine on the host: closing, RST in every state, RFC 5961 challenge
ACKs, simultaneous open/close, backlog, windows, probes, keepalive and
NewReno — exact segments at a virtual clock, and no connection left over."""

from __future__ import annotations

import pytest

from tests.runtime.tcp_harness import (
    ACK,
    ECONNREFUSED,
    ECONNRESET,
    ETIMEDOUT,
    EV_CLOSED,
    EV_CONNECTED,
    EV_READABLE,
    FIN,
    MS,
    NEVER,
    PSH,
    RST,
    SEC,
    SYN,
    Engine,
    Peer,
    Seg,
    engine_lib,
    established,
    handshake,
)


def run_until_idle(engine: Engine, limit: int = 50) -> list[Seg]:
    out: list[Seg] = []
    for _ in range(limit):
        t = engine.deadline()
        if t == NEVER:
            return out
        out.extend(engine.poll(t))
    raise AssertionError("timers never went idle")


# -- orderly close -----------------------------------------------------------

def test_active_close_through_time_wait(engine: Engine) -> None:
    conn, peer, s = established(engine)
    engine.close(conn)
    (fin,) = engine.take()
    assert (fin.flags, fin.seq, fin.ack) == (FIN | ACK, s, peer.seq)
    peer.send(ACK, ack=s + 1)
    assert engine.state(conn) == "FIN_WAIT_2"
    engine.at(1 * SEC)
    (ack,) = peer.send(FIN | ACK, ack=s + 1)
    assert (ack.flags, ack.ack) == (ACK, peer.seq)
    assert engine.state(conn) == "TIME_WAIT"
    assert engine.deadline() == 11 * SEC            # TIME-WAIT 10 s
    # a retransmitted FIN is ACKed again and restarts TIME-WAIT
    (again,) = engine.at(5 * SEC).feed(peer.seg(FIN | ACK, seq=peer.seq - 1, ack=s + 1))
    assert again.ack == peer.seq
    assert engine.deadline() == 15 * SEC
    assert engine.poll(15 * SEC) == []
    engine.assert_no_leaks()


def test_passive_close_through_last_ack(engine: Engine) -> None:
    conn, peer, s = established(engine)
    peer.send(ACK | PSH, b"bye")
    (ack,) = peer.send(FIN | ACK)
    assert ack.ack == peer.seq                       # the FIN is ACKed at once
    assert engine.state(conn) == "CLOSE_WAIT"
    assert any(e.events & EV_READABLE for e in engine.take_events())
    assert engine.recv(conn) == b"bye"
    assert engine.recv(conn) == b""                  # end of stream
    engine.close(conn)
    (fin,) = engine.take()
    assert (fin.flags, fin.seq) == (FIN | ACK, s)
    assert engine.state(conn) == "LAST_ACK"
    (rfin,) = engine.poll(1 * SEC)                   # FIN retransmitted in LAST-ACK
    assert (rfin.flags, rfin.seq) == (FIN | ACK, s)
    peer.send(ACK, ack=s + 1)
    engine.assert_no_leaks()


def test_close_sends_queued_data_then_fin(engine: Engine) -> None:
    conn, peer, s = established(engine)
    engine.send(conn, b"a" * 10)
    engine.send(conn, b"b" * 10)                     # held by Nagle
    assert len(engine.take()) == 1
    engine.close(conn)                               # no more data will come: push it
    (tail,) = engine.take()
    assert (tail.seq, tail.payload, tail.flags) == (s + 10, b"b" * 10, ACK | PSH | FIN)
    assert engine.feed(peer.seg(ACK, ack=s + 10)) == []
    (rtx,) = engine.poll(1 * SEC)                    # only the tail is retransmitted
    assert (rtx.seq, rtx.payload, rtx.flags) == (s + 10, b"b" * 10, ACK | PSH | FIN)
    peer.send(FIN | ACK, ack=s + 21)
    assert engine.state(conn) == "TIME_WAIT"
    run_until_idle(engine)
    engine.assert_no_leaks()


def test_simultaneous_close(engine: Engine) -> None:
    conn, peer, s = established(engine)
    engine.close(conn)
    (fin,) = engine.take()
    assert fin.flags == FIN | ACK
    (ack,) = peer.send(FIN | ACK, ack=s)             # crosses ours, does not ACK it
    assert (ack.flags, ack.seq, ack.ack) == (ACK, s + 1, peer.seq)
    assert engine.state(conn) == "CLOSING"
    (rfin,) = engine.poll(1 * SEC)                   # FIN retransmitted in CLOSING
    assert (rfin.flags, rfin.seq) == (FIN | ACK, s)
    peer.send(ACK, ack=s + 1)
    assert engine.state(conn) == "TIME_WAIT"
    run_until_idle(engine)
    engine.assert_no_leaks()


def test_fin_wait_2_times_out_after_close(engine: Engine) -> None:
    conn, peer, s = established(engine)
    engine.close(conn)
    engine.take()
    peer.send(ACK, ack=s + 1)
    assert engine.deadline() == 60 * SEC
    (rst,) = engine.poll(60 * SEC)
    assert rst.flags & RST
    engine.assert_no_leaks()


def test_unread_data_at_close_resets(engine: Engine) -> None:
    conn, peer, s = established(engine)
    peer.send(ACK | PSH, b"unread")
    engine.close(conn)
    (rst,) = engine.take()
    assert (rst.flags, rst.seq, rst.ack) == (RST | ACK, s, peer.seq)
    engine.assert_no_leaks()


def test_data_after_close_is_acked_and_dropped(engine: Engine) -> None:
    conn, peer, s = established(engine)
    engine.close(conn)
    engine.take()
    (ack,) = peer.send(ACK | PSH, b"late", ack=s + 1)
    assert ack.ack == peer.seq
    assert engine.state(conn) == "FIN_WAIT_2"
    peer.send(FIN | ACK, ack=s + 1)
    run_until_idle(engine)
    engine.assert_no_leaks()


def test_fin_out_of_order_waits_for_the_gap(engine: Engine) -> None:
    conn, peer, s = established(engine)
    base = peer.seq
    (dup,) = engine.feed(peer.seg(FIN | ACK, b"yz", seq=base + 1, ack=s))
    assert dup.ack == base
    assert engine.state(conn) == "ESTABLISHED"
    (ack,) = engine.feed(peer.seg(ACK, b"x", seq=base, ack=s))
    assert ack.ack == base + 4                       # x, y, z and the FIN
    assert engine.state(conn) == "CLOSE_WAIT"
    assert engine.recv(conn) == b"xyz" and engine.recv(conn) == b""
    engine.close(conn)
    engine.take()
    engine.feed(peer.seg(ACK, seq=base + 4, ack=s + 1))
    engine.assert_no_leaks()


# -- simultaneous open ---------------------------------------------------------

@pytest.mark.parametrize("answer", ["synack", "ack"])
def test_simultaneous_open(engine: Engine, answer: str) -> None:
    conn = engine.connect(rport=5000, lport=6000)
    (syn,) = engine.take()
    peer = Peer(engine, sport=5000, dport=6000, seq=7000)
    (synack,) = peer.send(SYN, mss=1400, ws=2)       # crossing SYN
    assert (synack.flags, synack.seq, synack.ack) == (SYN | ACK, syn.seq, 7001)
    assert synack.ws == 3 and synack.mss == 1460
    assert engine.state(conn) == "SYN_RECEIVED"
    if answer == "synack":                           # RFC 9293 figure 7, line 6
        out = engine.feed(peer.seg(SYN | ACK, seq=7000, ack=syn.seq + 1))
    else:
        out = engine.feed(peer.seg(ACK, ack=syn.seq + 1))
    assert out == []
    assert engine.state(conn) == "ESTABLISHED"
    assert [e.events for e in engine.take_events()] == [EV_CONNECTED]
    assert engine.info(conn).snd_wscale == 2
    engine.abort(conn)
    engine.assert_no_leaks()


def test_syn_sent_rejects_bad_ack_and_refused_by_rst(engine: Engine) -> None:
    conn = engine.connect(rport=80, lport=5555)
    (syn,) = engine.take()
    peer = Peer(engine, sport=80, dport=5555, seq=100)
    (rst,) = engine.feed(peer.seg(SYN | ACK, ack=syn.seq + 7))
    assert (rst.flags, rst.seq) == (RST, syn.seq + 7)
    assert engine.feed(peer.seg(RST, ack=0)) == []   # RST without ACK: ignored
    assert engine.state(conn) == "SYN_SENT"
    engine.feed(peer.seg(RST | ACK, ack=syn.seq + 1))
    assert engine.state(conn) == "CLOSED" and engine.error(conn) == ECONNREFUSED
    assert [e.events for e in engine.take_events()] == [EV_CLOSED]
    engine.close(conn)
    engine.assert_no_leaks()


def test_syn_retransmission_and_rto_after_lost_syn(engine: Engine) -> None:
    conn = engine.connect(rport=80, lport=5555)
    (syn,) = engine.take()
    (again,) = engine.poll(1 * SEC)
    assert (again.flags, again.seq) == (SYN, syn.seq)
    peer = Peer(engine, sport=80, dport=5555, seq=100)
    engine.at(int(1.5 * SEC)).feed(peer.seg(SYN | ACK, ack=syn.seq + 1, mss=1460))
    info = engine.info(conn)
    assert info.rto == 3 * SEC                       # RFC 6298 (5.7)
    assert info.cwnd == 1460                         # RFC 5681 3.1: one segment
    assert info.srtt == 0                            # Karn: the SYN was retransmitted
    engine.abort(conn)


# -- RST in every state and RFC 5961 -------------------------------------------

def reach(engine: Engine, state: str) -> tuple[int | None, Peer, int]:
    """Drives a passive connection into `state`."""
    listener = engine.listen()
    peer = Peer(engine)
    if state == "SYN_RECEIVED":
        (synack,) = peer.send(SYN, mss=1460)
        peer.ack = synack.seq + 1
        return None, peer, synack.seq + 1
    conn, synack = handshake(engine, listener, peer)
    s = synack.seq + 1
    if state == "ESTABLISHED":
        return conn, peer, s
    if state == "CLOSE_WAIT":
        peer.send(FIN | ACK)
        return conn, peer, s
    if state == "LAST_ACK":
        peer.send(FIN | ACK)
        engine.close(conn)
        engine.take()
        return conn, peer, s
    engine.close(conn)
    engine.take()
    if state == "FIN_WAIT_1":
        return conn, peer, s
    if state == "CLOSING":
        peer.send(FIN | ACK, ack=s)
        return conn, peer, s
    peer.send(ACK, ack=s + 1)
    if state == "FIN_WAIT_2":
        return conn, peer, s
    peer.send(FIN | ACK, ack=s + 1)
    assert state == "TIME_WAIT"
    return conn, peer, s


RST_CASES = {
    # state: (app still owns the handle, error reported)
    "SYN_RECEIVED": (False, 0),
    "ESTABLISHED": (True, ECONNRESET),
    "CLOSE_WAIT": (True, ECONNRESET),
    "FIN_WAIT_1": (False, 0),
    "FIN_WAIT_2": (False, 0),
    "CLOSING": (False, 0),
    "LAST_ACK": (False, 0),
    "TIME_WAIT": (False, 0),
}


@pytest.mark.parametrize("state", list(RST_CASES))
def test_rst_in_each_state(engine: Engine, state: str) -> None:
    conn, peer, _s = reach(engine, state)
    if conn is not None:
        assert engine.state(conn) == state
    engine.take_events()
    assert engine.feed(peer.seg(RST, ack=0)) == []
    owned, err = RST_CASES[state]
    if owned:
        assert conn is not None
        assert engine.state(conn) == "CLOSED" and engine.error(conn) == err
        assert [e.events & EV_CLOSED for e in engine.take_events()] == [EV_CLOSED]
        assert engine.recv(conn) == err
        assert engine.stats().live_conns == 1        # until the application lets go
        engine.close(conn)
    engine.assert_no_leaks()
    assert engine.deadline() == NEVER


@pytest.mark.parametrize("state", ["ESTABLISHED", "FIN_WAIT_2", "CLOSE_WAIT"])
def test_inexact_rst_gets_challenge_ack(engine: Engine, state: str) -> None:
    conn, peer, _s = reach(engine, state)
    assert conn is not None
    (chal,) = engine.feed(peer.seg(RST, seq=peer.seq + 100, ack=0))
    assert (chal.flags, chal.ack) == (ACK, peer.seq)   # RFC 5961 3.2
    assert engine.state(conn) == state
    assert engine.feed(peer.seg(RST, seq=peer.seq + 10**7, ack=0)) == []  # outside: dropped
    assert engine.state(conn) == state
    assert engine.stats().challenge_acks == 1


def test_syn_in_established_gets_challenge_ack(engine: Engine) -> None:
    conn, peer, s = established(engine)
    (chal,) = engine.feed(peer.seg(SYN, seq=peer.seq + 5000, ack=0))
    assert (chal.flags, chal.seq, chal.ack) == (ACK, s, peer.seq)   # RFC 5961 4.2
    (chal2,) = engine.feed(peer.seg(SYN, seq=peer.seq, ack=0))
    assert chal2.flags == ACK
    assert engine.state(conn) == "ESTABLISHED"
    engine.abort(conn)


def test_challenge_acks_are_throttled(engine: Engine) -> None:
    conn, peer, _ = established(engine)
    out = []
    for i in range(15):
        out += engine.feed(peer.seg(RST, seq=peer.seq + 1 + i, ack=0))
    assert len(out) == 10                              # RFC 5961 section 7
    out = engine.at(1 * SEC).feed(peer.seg(RST, seq=peer.seq + 1, ack=0))
    assert len(out) == 1
    assert engine.state(conn) == "ESTABLISHED"
    engine.abort(conn)


def test_ack_checks_rfc5961(engine: Engine) -> None:
    conn, peer, s = established(engine, ws=None)
    engine.nodelay(conn)
    engine.send(conn, b"d" * 10)
    engine.take()
    (ack,) = engine.feed(peer.seg(ACK | PSH, b"nope", ack=s + 500))    # ACKs unsent data
    assert (ack.flags, ack.ack) == (ACK, peer.seq)
    assert engine.recv(conn) == -11                                     # and the data is dropped
    (chal,) = engine.feed(peer.seg(ACK | PSH, b"old", ack=s - 70000))  # below SND.UNA - MAX.SND.WND
    assert chal.flags == ACK and engine.stats().challenge_acks == 1
    assert engine.recv(conn) == -11
    engine.abort(conn)


def test_unacceptable_segment_is_acked(engine: Engine) -> None:
    conn, peer, s = established(engine)
    (ack,) = engine.feed(peer.seg(ACK | PSH, b"far", seq=peer.seq + 10**7))
    assert (ack.seq, ack.ack) == (s, peer.seq)
    engine.abort(conn)


# -- listener ------------------------------------------------------------------

def test_backlog_overflow_drops_syn(engine: Engine) -> None:
    listener = engine.listen(backlog=2)
    peers = [Peer(engine, sport=1000 + i) for i in range(5)]
    assert len(peers[0].send(SYN)) == 1
    assert len(peers[1].send(SYN)) == 1
    assert peers[2].send(SYN) == []                    # full: dropped, the peer retries
    assert engine.stats().backlog_drops == 1
    assert engine.stats().live_conns == 2
    peer0 = peers[0]
    # complete the first handshake: the connection waits in the accept queue
    engine.feed(peer0.seg(ACK, ack=_synack_seq(engine, peer0) + 1))
    assert engine.accepts == 1
    assert peers[3].send(SYN) == []                    # still 2 (1 ready + 1 half-open)
    conn = engine.accept(listener)
    assert conn is not None
    assert len(peers[4].send(SYN)) == 1                # room again
    engine.abort(conn)
    engine.lib.tcp_unlisten(listener)
    engine.assert_no_leaks()


def _synack_seq(engine: Engine, peer: Peer) -> int:
    """Our ISS towards peer, learned from a repeated SYN."""
    (synack,) = engine.feed(peer.seg(SYN, seq=peer.seq - 1))
    return synack.seq


def test_unlisten_resets_unaccepted(engine: Engine) -> None:
    listener = engine.listen()
    peer = Peer(engine)
    handshake_peer = Peer(engine, sport=2000)
    (synack,) = handshake_peer.send(SYN)
    handshake_peer.ack = synack.seq + 1
    handshake_peer.send(ACK)
    peer.send(SYN)
    engine.take()
    engine.lib.tcp_unlisten(listener)
    assert sorted(s.flags for s in engine.take()) == [RST | ACK, RST | ACK]
    engine.assert_no_leaks()


# -- windows ---------------------------------------------------------------------

def test_window_scaling_limits_sender(engine: Engine) -> None:
    conn, peer, s = established(engine, ws=2)
    peer.send(ACK, window=730)                          # 730 << 2 = 2920 bytes
    engine.send(conn, b"w" * 10000)
    assert [(x.seq, len(x.payload)) for x in engine.take()] == [(s, 1460), (s + 1460, 1460)]
    peer.send(ACK | PSH, b"r" * 1000)
    (ack,) = engine.poll(engine.deadline())
    assert ack.window == (256 * 1024 - 1000) >> 3       # our side, scaled by 3
    engine.abort(conn)


def test_receive_window_closes_and_reopens(engine: Engine) -> None:
    with Engine(engine_lib(), rcvbuf=4000, mss=1000) as small:
        listener = small.listen()
        peer = Peer(small)
        (synack,) = peer.send(SYN, mss=1000)
        assert synack.ws is None and synack.window == 4000
        peer.ack = synack.seq + 1
        peer.send(ACK)
        conn = small.accept(listener)
        assert conn is not None
        peer.send(ACK, b"a" * 1000)
        (a1,) = peer.send(ACK, b"b" * 1000)
        assert (a1.ack, a1.window) == (peer.seq, 2000)
        peer.send(ACK, b"c" * 1000)
        (a2,) = peer.send(ACK, b"d" * 1000)
        assert (a2.ack, a2.window) == (peer.seq, 0)
        (probe_ack,) = small.feed(peer.seg(ACK, b"e"))   # zero-window probe: re-ACK
        assert (probe_ack.ack, probe_ack.window) == (peer.seq, 0)
        assert small.recv(conn, 100) == b"a" * 100
        assert small.take() == []                        # receiver SWS: edge stays
        assert len(small.recv(conn, 900)) == 900         # type: ignore[arg-type]
        (reopen,) = small.take()                         # closed window opens by 1 MSS: tell
        assert (reopen.ack, reopen.window) == (peer.seq, 1000)
        assert len(small.recv(conn, 1000)) == 1000       # type: ignore[arg-type]
        assert small.take() == []                        # open, grew < 2 MSS: wait
        assert len(small.recv(conn, 2000)) == 2000       # type: ignore[arg-type]
        (update,) = small.take()
        assert (update.ack, update.window) == (peer.seq, 4000)   # immediate update
        small.abort(conn)
        small.assert_no_leaks()


def test_zero_window_probe_and_backoff(engine: Engine) -> None:
    conn, peer, s = established(engine)
    peer.send(ACK, window=0)
    engine.send(conn, b"p" * 100)
    assert engine.take() == []
    assert engine.deadline() == 1 * SEC
    (probe,) = engine.poll(1 * SEC)
    assert (probe.seq, probe.payload) == (s, b"p")      # one byte beyond the window
    assert engine.feed(peer.seg(ACK, ack=s, window=0)) == []
    assert engine.deadline() == 3 * SEC                 # backed off
    (probe2,) = engine.poll(3 * SEC)
    assert (probe2.seq, probe2.payload) == (s, b"p")
    engine.at(int(3.2 * SEC))
    (rest,) = engine.feed(peer.seg(ACK, ack=s + 1, window=1000))
    assert (rest.seq, rest.payload) == (s + 1, b"p" * 99)
    engine.feed(peer.seg(ACK, ack=s + 100, window=1000))
    assert engine.deadline() == NEVER
    engine.abort(conn)


# -- keepalive ---------------------------------------------------------------------

def test_keepalive_probes_then_reset(engine: Engine) -> None:
    conn, peer, s = established(engine)
    engine.keepalive(conn, idle=10 * SEC, interval=1 * SEC, count=3)
    peer.send(ACK)
    assert engine.deadline() == 10 * SEC
    (k1,) = engine.poll(10 * SEC)
    assert (k1.seq, k1.ack, k1.payload) == (s - 1, peer.seq, b"")
    engine.feed(peer.seg(ACK))                          # answered: idle again
    assert engine.deadline() == 20 * SEC
    probes = [engine.poll(t) for t in (20 * SEC, 21 * SEC, 22 * SEC, 23 * SEC)]
    assert [[x.flag_names() for x in p] for p in probes] == [["."], ["."], ["."], ["R."]]
    assert engine.state(conn) == "CLOSED" and engine.error(conn) == ETIMEDOUT
    engine.close(conn)
    engine.assert_no_leaks()


# -- NewReno -------------------------------------------------------------------------

def test_fast_retransmit_and_newreno_partial_acks(engine: Engine) -> None:
    conn, peer, s = established(engine, mss=1000)
    info = engine.info(conn)
    assert info.cwnd == 4000                            # 4 * SMSS for SMSS <= 1095
    engine.send(conn, bytes(range(256)) * 40)           # 10240 bytes
    assert [x.seq - s for x in engine.take()] == [0, 1000, 2000, 3000]
    out = engine.at(10 * MS).feed(peer.seg(ACK, ack=s + 2000))
    assert [x.seq - s for x in out] == [4000, 5000, 6000]   # slow start: cwnd 5000
    # the segment at 2000 was lost: duplicate ACKs
    (lt1,) = engine.feed(peer.seg(ACK, ack=s + 2000))     # RFC 3042 limited transmit:
    (lt2,) = engine.feed(peer.seg(ACK, ack=s + 2000))     # one new segment per dup ACK
    assert (lt1.seq - s, lt2.seq - s) == (7000, 8000)
    assert engine.info(conn).cwnd == 5000                 # cwnd itself unchanged
    (rtx,) = engine.feed(peer.seg(ACK, ack=s + 2000))
    assert (rtx.seq - s, len(rtx.payload)) == (2000, 1000)   # RFC 5681 3.2 fast retransmit
    info = engine.info(conn)
    # FlightSize 7000: ssthresh 3500, cwnd = ssthresh + 3 SMSS
    assert info.in_recovery and info.ssthresh == 3500 and info.cwnd == 3500 + 3000
    assert engine.feed(peer.seg(ACK, ack=s + 2000)) == []  # inflated to 7500: 500 usable
    (new,) = engine.feed(peer.seg(ACK, ack=s + 2000))      # 8500: one more segment
    assert (new.seq - s, len(new.payload)) == (9000, 1000)
    # partial ACK: 2000 arrived, 4000 was lost too
    out = engine.feed(peer.seg(ACK, ack=s + 4000))
    # RFC 6582 3.2 step 4: retransmit the next hole, deflate by the 2000
    # acknowledged bytes and add one SMSS back; the 240-byte tail waits (Nagle)
    assert [(x.seq - s, len(x.payload)) for x in out] == [(4000, 1000)]
    info = engine.info(conn)
    assert info.in_recovery and info.cwnd == 8500 - 2000 + 1000
    assert engine.deadline() == 10 * MS + 1 * SEC        # first partial ACK resets the timer
    # full ACK, at or beyond recover (10000): cwnd = min(ssthresh, FlightSize + SMSS)
    out = engine.feed(peer.seg(ACK, ack=s + 10000))
    info = engine.info(conn)
    assert not info.in_recovery and info.cwnd == 2000 and info.ssthresh == 3500
    assert [(x.seq - s, len(x.payload)) for x in out] == [(10000, 240)]
    engine.abort(conn)


def test_karn_keeps_timing_when_an_earlier_segment_is_resent(engine: Engine) -> None:
    conn, peer, s = established(engine, mss=1000)
    engine.send(conn, b"k" * 4000)                        # 4 segments, the first is timed
    assert len(engine.take()) == 4
    engine.at(50 * MS).feed(peer.seg(ACK, ack=s + 1000))  # sample: 50 ms
    engine.send(conn, b"n" * 1000)                        # new data, timed from 50 ms
    engine.take()
    for _ in range(3):
        engine.feed(peer.seg(ACK, ack=s + 1000))          # fast retransmit of 1000..2000
    assert engine.info(conn).in_recovery
    engine.at(80 * MS).feed(peer.seg(ACK, ack=s + 5000))
    info = engine.info(conn)
    # samples: handshake 0, 50 ms, then 30 ms for the segment sent at 50 ms
    # (resending an earlier segment did not cancel its timing)
    assert info.srtt == (7 * ((7 * 0 + 50 * MS) // 8) + 30 * MS) // 8
    engine.abort(conn)


def test_retransmission_timeout_goes_back_n(engine: Engine) -> None:
    conn, peer, s = established(engine)
    engine.send(conn, b"x" * 4380)
    assert len(engine.take()) == 3
    (r,) = engine.poll(1 * SEC)
    assert (r.seq, len(r.payload)) == (s, 1460)          # one segment: cwnd = 1 SMSS
    out = engine.at(int(1.1 * SEC)).feed(peer.seg(ACK, ack=s + 1460))
    assert [(x.seq - s, len(x.payload)) for x in out] == [(1460, 1460), (2920, 1460)]
    engine.abort(conn)


def test_new_syn_reopens_time_wait(engine: Engine) -> None:
    conn, peer, _s = reach(engine, "TIME_WAIT")
    assert conn is not None and engine.state(conn) == "TIME_WAIT"
    engine.at(2 * SEC)
    fresh = Peer(engine, sport=peer.sport, seq=peer.seq + 100_000)
    (synack,) = fresh.send(SYN, mss=1460)              # RFC 6191: above the old space
    assert (synack.flags, synack.ack) == (SYN | ACK, peer.seq + 100_001)
    assert engine.stats().live_conns == 1               # the old pair is gone
    old = engine.feed(peer.seg(SYN, seq=peer.seq - 10))  # below: not a reopen
    assert all(x.flags != SYN | ACK for x in old)


def test_connect_times_out(engine: Engine) -> None:
    conn = engine.connect(rport=80, lport=5555)
    assert [x.flag_names() for x in engine.take()] == ["S"]
    segs = run_until_idle(engine)
    assert [x.flag_names() for x in segs] == ["S"] * 6   # 6 retransmissions, no RST
    assert engine.state(conn) == "CLOSED" and engine.error(conn) == ETIMEDOUT
    assert engine.recv(conn) == ETIMEDOUT
    assert engine.send(conn, b"x") == -32               # EPIPE
    engine.close(conn)
    engine.assert_no_leaks()


def test_connection_limit() -> None:
    with Engine(engine_lib(), max_conns=2) as small:
        small.listen()
        assert len(Peer(small, sport=1).send(SYN)) == 1
        assert len(Peer(small, sport=2).send(SYN)) == 1
        assert Peer(small, sport=3).send(SYN) == []
        assert small.stats().live_conns == 2


def test_keepalive_armed_when_set_on_established(engine: Engine) -> None:
    conn, _peer, s = established(engine)
    engine.at(5 * SEC)
    engine.keepalive(conn, idle=30 * SEC, interval=5 * SEC, count=2)
    assert engine.deadline() == 35 * SEC
    (probe,) = engine.poll(35 * SEC)
    assert probe.seq == s - 1
    engine.abort(conn)


def test_half_open_connections_hold_no_buffers(engine: Engine) -> None:
    listener = engine.listen(backlog=200)
    for port in range(1, 101):
        assert len(Peer(engine, sport=port).send(SYN)) == 1
    st = engine.stats()
    assert st.live_conns == 100
    assert st.live_bytes - engine.base_bytes < 100 * 1024   # records only: a SYN flood is cheap
    peer = Peer(engine, sport=1, seq=1001)
    (again,) = engine.feed(peer.seg(SYN, seq=1000))      # learn our ISS for port 1
    peer.ack = again.seq + 1
    peer.send(ACK | PSH, b"first bytes")                  # handshake ACK carrying data
    conn = engine.accept(listener)
    assert conn is not None and engine.recv(conn) == b"first bytes"
    # rings now: 256 KiB to send, 64 KiB to receive (no window scaling offered)
    assert engine.stats().live_bytes - st.live_bytes >= 320 * 1024
    engine.lib.tcp_unlisten(listener)
    engine.abort(conn)
    engine.assert_no_leaks()
