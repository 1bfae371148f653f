"""Drives the TCP engine (runtime/net/tcp_*.c) in-process through ctypes.

The engine is compiled into a shared library with UBSan. Each `Engine`
owns one tcp_engine with a virtual clock; segments it emits are collected
and parsed, segments fed in are built here (checksums included, so the
engine's checksum check stays on).
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import os
import struct
import subprocess
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from solo5.recipe import C_COMMON_FLAGS

RUNTIME = Path(__file__).resolve().parents[2] / "runtime"
ENGINE_SOURCES = ["tcp_engine.c", "tcp_input.c", "tcp_output.c", "tcp_timer.c", "tcp_ring.c",
                  "tcp_sendq.c",
                  "tcp_isn.c", "tcp_wire.c", "checksum.c"]
CFLAGS = [*C_COMMON_FLAGS, "-g", "-O1", "-fPIC", "-shared", "-fno-sanitize-recover=all"]

FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10
MS = 1_000_000
SEC = 1_000_000_000
NEVER = 2**64 - 1

LOCAL_IP = 0x0A000002   # 10.0.0.2, the engine
PEER_IP = 0x0A000001    # 10.0.0.1, the test

STATES = ["CLOSED", "LISTEN", "SYN_SENT", "SYN_RECEIVED", "ESTABLISHED", "FIN_WAIT_1",
          "FIN_WAIT_2", "CLOSE_WAIT", "CLOSING", "LAST_ACK", "TIME_WAIT"]
EV_CONNECTED, EV_READABLE, EV_WRITABLE, EV_CLOSED = 1, 2, 4, 8
EAGAIN, EPIPE, ECONNRESET, ECONNREFUSED, ETIMEDOUT, ENOTCONN = -11, -32, -104, -111, -110, -107


def build_library(build_dir: Path, sanitizers: str = "undefined") -> Path:
    """The engine as a shared library; with "address" in sanitizers the
    process must preload libasan (see asan_environment)."""
    sources = [RUNTIME / "net" / name for name in ENGINE_SOURCES]
    digest = hashlib.sha256(sanitizers.encode())
    for path in [*sources, *sorted((RUNTIME / "include" / "net").glob("*.h")),
                 RUNTIME / "net" / "tcp_internal.h"]:
        digest.update(path.read_bytes())
    out = build_dir / f"libtcp-{digest.hexdigest()[:16]}.so"
    if not out.exists():
        build_dir.mkdir(parents=True, exist_ok=True)
        tmp = out.with_suffix(f".{os.getpid()}.tmp")
        subprocess.run(["gcc", *CFLAGS, f"-fsanitize={sanitizers}",
                        f"-I{RUNTIME / 'include'}", "-o", str(tmp),
                        *map(str, sources)], check=True, capture_output=True, text=True)
        os.replace(tmp, out)
    return out


OUTPUT_FN = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_uint64, ctypes.c_uint32,
                             ctypes.c_uint32,
                             ctypes.POINTER(ctypes.c_uint8), ctypes.c_size_t)
EVENT_FN = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_uint)
ACCEPT_FN = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p)


class Config(ctypes.Structure):
    _fields_ = [("output", OUTPUT_FN), ("output_ctx", ctypes.c_void_p),
                ("secret", ctypes.c_uint8 * 16), ("mss", ctypes.c_uint16),
                ("rcvbuf", ctypes.c_uint32), ("sndbuf", ctypes.c_uint32),
                ("max_conns", ctypes.c_uint), ("delack", ctypes.c_uint64),
                ("time_wait", ctypes.c_uint64), ("fin_wait_2", ctypes.c_uint64),
                ("syn_retries", ctypes.c_uint), ("data_retries", ctypes.c_uint),
                ("verify_checksum", ctypes.c_int), ("ack_batch", ctypes.c_int),
                ("tso_max", ctypes.c_uint32), ("sndref_max", ctypes.c_uint32),
                ("tx_headroom", ctypes.c_uint16)]


class Stats(ctypes.Structure):
    _fields_ = [("live_conns", ctypes.c_uint), ("live_listeners", ctypes.c_uint),
                ("live_bytes", ctypes.c_uint64), ("segs_in", ctypes.c_uint64),
                ("segs_out", ctypes.c_uint64), ("retransmits", ctypes.c_uint64),
                ("bad_segments", ctypes.c_uint64), ("rst_out", ctypes.c_uint64),
                ("challenge_acks", ctypes.c_uint64), ("backlog_drops", ctypes.c_uint64)]


class ConnInfo(ctypes.Structure):
    _fields_ = [("snd_una", ctypes.c_uint32), ("snd_nxt", ctypes.c_uint32),
                ("snd_wnd", ctypes.c_uint32), ("cwnd", ctypes.c_uint32),
                ("ssthresh", ctypes.c_uint32), ("rcv_nxt", ctypes.c_uint32),
                ("rcv_wnd", ctypes.c_uint32), ("rto", ctypes.c_uint64),
                ("srtt", ctypes.c_uint64), ("rttvar", ctypes.c_uint64),
                ("snd_mss", ctypes.c_uint16), ("snd_wscale", ctypes.c_uint8),
                ("rcv_wscale", ctypes.c_uint8), ("in_recovery", ctypes.c_int)]


def load(path: Path) -> ctypes.CDLL:
    lib = ctypes.CDLL(str(path))
    p, u32, u16, u64, sz = (ctypes.c_void_p, ctypes.c_uint32, ctypes.c_uint16, ctypes.c_uint64,
                            ctypes.c_size_t)
    sigs: dict[str, tuple[object, list[object]]] = {
        "tcp_config_default": (None, [ctypes.POINTER(Config)]),
        "tcp_engine_create": (p, [ctypes.POINTER(Config)]),
        "tcp_engine_destroy": (None, [p]),
        "tcp_input": (None, [p, u64, u32, u32, ctypes.c_char_p, sz]),
        "tcp_poll": (None, [p, u64]),
        "tcp_next_deadline": (u64, [p]),
        "tcp_listen": (p, [p, u32, u16, ctypes.c_uint, ACCEPT_FN, p]),
        "tcp_accept": (p, [p, EVENT_FN, p]),
        "tcp_unlisten": (None, [p]),
        "tcp_connect": (p, [p, u64, u32, u16, u32, u16, EVENT_FN, p]),
        "tcp_recv": (ctypes.c_long, [p, u64, ctypes.c_char_p, sz]),
        "tcp_send": (ctypes.c_long, [p, u64, ctypes.c_char_p, sz]),
        "tcp_send_ref": (ctypes.c_long, [p, u64, p, sz]),
        "tcp_close": (None, [p, u64]),
        "tcp_abort": (None, [p, u64]),
        "tcp_readable": (sz, [p]),
        "tcp_send_queued": (sz, [p]),
        "tcp_send_space": (sz, [p]),
        "tcp_state": (ctypes.c_int, [p]),
        "tcp_error": (ctypes.c_int, [p]),
        "tcp_set_nodelay": (None, [p, ctypes.c_int]),
        "tcp_set_keepalive": (None, [p, u64, u64, u64, ctypes.c_uint]),
        "tcp_engine_stats": (ctypes.POINTER(Stats), [p]),
        "tcp_conn_info": (None, [p, ctypes.POINTER(ConnInfo)]),
        "tcp_output_tso_mss": (u16, [p]),
    }
    for name, (restype, argtypes) in sigs.items():
        fn = getattr(lib, name)
        fn.restype = restype
        fn.argtypes = argtypes
    return lib


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return int(~total & 0xFFFF)


def tcp_checksum(src: int, dst: int, segment: bytes) -> int:
    pseudo = struct.pack("!IIBBH", src, dst, 0, 6, len(segment))
    return checksum(pseudo + segment)


def pseudo_header_sum(src: int, dst: int, length: int) -> int:
    """The folded, uncomplemented pseudo-header sum a checksum-offloading
    device expects in a TSO segment's checksum field."""
    return ~checksum(struct.pack("!IIBBH", src, dst, 0, 6, length)) & 0xFFFF


@dataclass
class Seg:
    sport: int
    dport: int
    seq: int
    ack: int
    flags: int
    window: int
    payload: bytes = b""
    mss: int | None = None
    ws: int | None = None
    options_raw: bytes = b""

    def build(self, src: int = PEER_IP, dst: int = LOCAL_IP) -> bytes:
        opts = b""
        if self.mss is not None:
            opts += struct.pack("!BBH", 2, 4, self.mss)
        if self.ws is not None:
            opts += struct.pack("!BBBB", 1, 3, 3, self.ws)
        opts += self.options_raw
        opts += b"\0" * (-len(opts) % 4)
        hdr_len = 20 + len(opts)
        raw = struct.pack("!HHIIBBHHH", self.sport, self.dport, self.seq & 0xFFFFFFFF,
                          self.ack & 0xFFFFFFFF, (hdr_len // 4) << 4, self.flags, self.window,
                          0, 0) + opts + self.payload
        csum = tcp_checksum(src, dst, raw)
        return raw[:16] + struct.pack("!H", csum) + raw[18:]

    @classmethod
    def parse(cls, raw: bytes, src: int = LOCAL_IP, dst: int = PEER_IP) -> Seg:
        assert tcp_checksum(src, dst, raw) == 0, "bad checksum on emitted segment"
        sport, dport, seq, ack, off, flags, window, _csum, urg = struct.unpack(
            "!HHIIBBHHH", raw[:20])
        assert urg == 0
        hdr_len = (off >> 4) * 4
        seg = cls(sport, dport, seq, ack, flags, window, raw[hdr_len:])
        opts = raw[20:hdr_len]
        i = 0
        while i < len(opts):
            kind = opts[i]
            if kind == 0:
                break
            if kind == 1:
                i += 1
                continue
            length = opts[i + 1]
            if kind == 2:
                seg.mss = struct.unpack("!H", opts[i + 2:i + 4])[0]
            elif kind == 3:
                seg.ws = opts[i + 2]
            i += length
        return seg

    def flag_names(self) -> str:
        names = [n for bit, n in ((SYN, "S"), (FIN, "F"), (RST, "R"), (PSH, "P"), (ACK, "."))
                 if self.flags & bit]
        return "".join(names)


@dataclass
class Event:
    conn: int
    events: int


@dataclass
class Engine:
    lib: ctypes.CDLL
    mss: int = 1460
    rcvbuf: int = 256 * 1024
    sndbuf: int = 256 * 1024
    max_conns: int = 1024
    time_wait: int = 10 * SEC
    verify_checksum: bool = True
    ack_batch: bool = False
    tso_max: int = 0
    sndref_max: int = 1 << 20
    local_ip: int = LOCAL_IP
    secret: bytes = bytes(range(16))
    out: list[tuple[int, int, bytes]] = field(default_factory=list)
    # tcp_output_tso_mss of each emitted segment, in order (0: ordinary).
    tso_log: list[int] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    accepts: int = 0
    now: int = 0

    def __post_init__(self) -> None:
        cfg = Config()
        self.lib.tcp_config_default(ctypes.byref(cfg))

        def on_output(_ctx: int, now: int, src: int, dst: int,
                      data: ctypes.Array[ctypes.c_uint8], length: int) -> None:
            assert now == self.now, "segment stamped with the wrong time"
            raw = ctypes.string_at(data, length)
            tso = int(self.lib.tcp_output_tso_mss(self.handle))
            if tso:
                # The field holds the pseudo-header sum; complete it as the device does.
                assert struct.unpack("!H", raw[16:18])[0] == pseudo_header_sum(src, dst, length)
                full = tcp_checksum(src, dst, raw[:16] + b"\0\0" + raw[18:])
                raw = raw[:16] + struct.pack("!H", full) + raw[18:]
            self.tso_log.append(tso)
            self.out.append((src, dst, raw))

        def on_event(_user: int, conn: int, events: int) -> None:
            self.events.append(Event(conn, events))

        def on_accept(_user: int, _listener: int) -> None:
            self.accepts += 1

        self._output_cb = OUTPUT_FN(on_output)
        self._event_cb = EVENT_FN(on_event)
        self._accept_cb = ACCEPT_FN(on_accept)
        cfg.output = self._output_cb
        cfg.secret[:] = list(self.secret)
        cfg.mss = self.mss
        cfg.rcvbuf = self.rcvbuf
        cfg.sndbuf = self.sndbuf
        cfg.max_conns = self.max_conns
        cfg.time_wait = self.time_wait
        cfg.verify_checksum = 1 if self.verify_checksum else 0
        cfg.ack_batch = 1 if self.ack_batch else 0
        cfg.tso_max = self.tso_max
        cfg.sndref_max = self.sndref_max
        self.handle = self.lib.tcp_engine_create(ctypes.byref(cfg))
        assert self.handle, "tcp_engine_create failed"
        self.base_bytes = self.stats().live_bytes

    # -- driving ---------------------------------------------------------
    def at(self, t: int) -> Engine:
        assert t >= self.now, "the virtual clock never goes back"
        self.now = t
        return self

    def feed(self, seg: Seg | bytes, src: int = PEER_IP, dst: int = LOCAL_IP) -> list[Seg]:
        raw = seg.build(src, dst) if isinstance(seg, Seg) else seg
        self.lib.tcp_input(self.handle, self.now, src, dst, raw, len(raw))
        return self.take()

    def poll(self, t: int | None = None) -> list[Seg]:
        if t is not None:
            self.at(t)
        self.lib.tcp_poll(self.handle, self.now)
        return self.take()

    def deadline(self) -> int:
        return int(self.lib.tcp_next_deadline(self.handle))

    def take(self) -> list[Seg]:
        segs = [Seg.parse(raw, src, dst) for src, dst, raw in self.out]
        self.out.clear()
        return segs

    def take_events(self) -> list[Event]:
        ev = list(self.events)
        self.events.clear()
        return ev

    # -- API ---------------------------------------------------------------
    def listen(self, port: int = 7, backlog: int = 16, ip: int = 0) -> int:
        listener = self.lib.tcp_listen(self.handle, ip, port, backlog, self._accept_cb, None)
        assert listener
        return int(listener)

    def accept(self, listener: int) -> int | None:
        conn = self.lib.tcp_accept(listener, self._event_cb, None)
        return int(conn) if conn else None

    def connect(self, rport: int, lport: int = 0, rip: int = PEER_IP) -> int:
        conn = self.lib.tcp_connect(self.handle, self.now, self.local_ip, lport, rip, rport,
                                    self._event_cb, None)
        assert conn
        return int(conn)

    def send(self, conn: int, data: bytes) -> int:
        return int(self.lib.tcp_send(conn, self.now, data, len(data)))

    def send_ref(self, conn: int, data: ctypes.Array[ctypes.c_char], offset: int,
                 length: int) -> int:
        """tcp_send_ref of data[offset:offset + length]; the caller keeps data
        alive and unchanged while the engine may read it."""
        return int(self.lib.tcp_send_ref(conn, self.now, ctypes.addressof(data) + offset, length))

    def recv(self, conn: int, n: int = 1 << 20) -> bytes | int:
        buf = ctypes.create_string_buffer(n)
        got = int(self.lib.tcp_recv(conn, self.now, buf, n))
        return buf.raw[:got] if got >= 0 else got

    def nodelay(self, conn: int) -> None:
        self.lib.tcp_set_nodelay(conn, 1)

    def keepalive(self, conn: int, idle: int, interval: int, count: int) -> None:
        self.lib.tcp_set_keepalive(conn, self.now, idle, interval, count)

    def close(self, conn: int) -> None:
        self.lib.tcp_close(conn, self.now)

    def abort(self, conn: int) -> None:
        self.lib.tcp_abort(conn, self.now)

    def state(self, conn: int) -> str:
        return STATES[int(self.lib.tcp_state(conn))]

    def error(self, conn: int) -> int:
        return int(self.lib.tcp_error(conn))

    def info(self, conn: int) -> ConnInfo:
        info = ConnInfo()
        self.lib.tcp_conn_info(conn, ctypes.byref(info))
        return info

    def stats(self) -> Stats:
        return Stats.from_buffer_copy(self.lib.tcp_engine_stats(self.handle).contents)

    def assert_no_leaks(self) -> None:
        st = self.stats()
        assert st.live_conns == 0, f"{st.live_conns} connections still allocated"
        if st.live_listeners == 0:
            assert st.live_bytes == self.base_bytes, \
                f"{st.live_bytes - self.base_bytes} bytes still allocated"

    def destroy(self) -> None:
        self.lib.tcp_engine_destroy(self.handle)
        self.handle = None

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.destroy()


@dataclass
class Peer:
    """The remote end of one connection, tracking its own sequence numbers."""

    engine: Engine
    sport: int = 40000
    dport: int = 7
    seq: int = 1000
    ack: int = 0
    window: int = 65535
    ws: int | None = None

    def seg(self, flags: int, payload: bytes = b"", seq: int | None = None,
            ack: int | None = None, window: int | None = None, mss: int | None = None,
            ws: int | None = None) -> Seg:
        return Seg(self.sport, self.dport, self.seq if seq is None else seq,
                   self.ack if ack is None else ack, flags,
                   self.window if window is None else window, payload, mss=mss, ws=ws)

    def send(self, flags: int, payload: bytes = b"", ack: int | None = None,
             window: int | None = None, mss: int | None = None,
             ws: int | None = None) -> list[Seg]:
        """Sends the next segment in sequence and advances our sequence number."""
        s = self.seg(flags, payload, ack=ack, window=window, mss=mss, ws=ws)
        self.seq += len(payload) + (1 if flags & SYN else 0) + (1 if flags & FIN else 0)
        return self.engine.feed(s)


def handshake(engine: Engine, listener: int, peer: Peer, mss: int = 1460,
              ws: int | None = 7) -> tuple[int, Seg]:
    """Passive open driven to ESTABLISHED and accepted; returns (conn, SYN-ACK)."""
    (synack,) = peer.send(SYN, mss=mss, ws=ws)
    assert synack.flags == SYN | ACK
    peer.ws = ws
    peer.ack = synack.seq + 1
    assert peer.send(ACK) == []
    conn = engine.accept(listener)
    assert conn is not None
    return conn, synack


def established(engine: Engine, mss: int = 1460, ws: int | None = 7) -> tuple[int, Peer, int]:
    """A connection a new Peer opened and the engine accepted; returns (conn, peer, the
    engine's next sequence number)."""
    listener = engine.listen()
    peer = Peer(engine)
    conn, synack = handshake(engine, listener, peer, mss=mss, ws=ws)
    return conn, peer, synack.seq + 1


def payload_of(segs: Iterable[Seg]) -> bytes:
    return b"".join(s.payload for s in segs)


BUILD_DIR = Path(tempfile.gettempdir()) / f"tcp-harness-{os.getuid()}"


@functools.cache
def engine_lib() -> ctypes.CDLL:
    """The engine library, built once per process (cached by source hash).
    TCP_HARNESS_SANITIZERS=address,undefined selects an ASan build (the
    process must then preload libasan)."""
    sanitizers = os.environ.get("TCP_HARNESS_SANITIZERS", "undefined")
    return load(build_library(BUILD_DIR, sanitizers))


def asan_environment() -> dict[str, str]:
    """Environment for a Python child process that loads the ASan build."""
    libasan = subprocess.run(["gcc", "-print-file-name=libasan.so"], capture_output=True,
                             text=True, check=True).stdout.strip()
    return {**os.environ, "LD_PRELOAD": libasan, "ASAN_OPTIONS": "detect_leaks=0",
            "TCP_HARNESS_SANITIZERS": "address,undefined"}
