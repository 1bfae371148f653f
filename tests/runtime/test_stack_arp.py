"""ARP (RFC 826): replies, the cache, resolution, its queue and limits."""

from __future__ import annotations

from pathlib import Path

from tests.runtime.frames import (
    BROADCAST_MAC,
    IP_GW,
    IP_PEER,
    IP_US,
    MAC_GW,
    MAC_PEER,
    MAC_US,
    PROTO_UDP,
    arp_frame,
    parse_ipv4,
)
from tests.runtime.stack_harness import StepOutput, run_script

SEC = 1_000_000_000
SETUP = ["create 020000000002 1500 1", "ipv4 10.0.0.2/24 10.0.0.1"]
ZERO_MAC = b"\0" * 6


def run(harness: Path, commands: list[str]) -> list[StepOutput]:
    return run_script(harness, SETUP + commands)[len(SETUP):]


def request_for(ip_addr: str) -> bytes:
    return arp_frame(1, BROADCAST_MAC, MAC_US, IP_US, ZERO_MAC, ip_addr)


def test_gratuitous_arp_on_configuration(stack_harness: Path) -> None:
    steps = run_script(stack_harness, SETUP)
    assert steps[1].frames() == [request_for(IP_US)]
    assert steps[1].ret() == 0


def test_request_for_us_is_answered_and_sender_learnt(stack_harness: Path) -> None:
    request = arp_frame(1, BROADCAST_MAC, MAC_PEER, IP_PEER, ZERO_MAC, IP_US)
    steps = run(stack_harness, [f"in {request.hex()}", f"ip_out {IP_PEER} 17 00"])
    assert steps[0].frames() == [arp_frame(2, MAC_PEER, MAC_US, IP_US, MAC_PEER, IP_PEER)]
    (sent,) = steps[1].frames()  # straight to the learnt MAC, no ARP request
    assert sent[:6] == MAC_PEER
    assert parse_ipv4(sent)[0].dst == IP_PEER


def test_request_for_another_host_is_ignored_and_not_cached(stack_harness: Path) -> None:
    request = arp_frame(1, BROADCAST_MAC, MAC_PEER, IP_PEER, ZERO_MAC, "10.0.0.99")
    steps = run(stack_harness, [f"in {request.hex()}", f"ip_out {IP_PEER} 17 00"])
    assert steps[0].frames() == []
    assert steps[1].frames() == [request_for(IP_PEER)]


def test_queued_datagrams_flush_in_order_on_reply(stack_harness: Path) -> None:
    reply = arp_frame(2, MAC_US, MAC_PEER, IP_PEER, MAC_US, IP_US)
    steps = run(stack_harness, [f"ip_out {IP_PEER} 17 01", f"ip_out {IP_PEER} 17 02",
                                f"in {reply.hex()}", "deadline"])
    assert steps[0].frames() == [request_for(IP_PEER)]
    assert steps[1].frames() == []  # one request per neighbour per second
    flushed = steps[2].frames()
    assert [f[:6] for f in flushed] == [MAC_PEER, MAC_PEER]
    assert [parse_ipv4(f)[1] for f in flushed] == [b"\x01", b"\x02"]
    # The learnt entry now expires in 60 s.
    assert steps[3].values("deadline") == [[str(60 * SEC)]]


def test_unanswered_requests_retry_each_second_then_drop_the_queue(stack_harness: Path) -> None:
    steps = run(stack_harness, [
        f"ip_out {IP_PEER} 17 01", "deadline",
        f"time {SEC}", "poll", f"time {2 * SEC}", "poll", f"time {3 * SEC}", "poll",
        "deadline", "stats",
        # A late reply finds nothing to flush.
        f"in {arp_frame(2, MAC_US, MAC_PEER, IP_PEER, MAC_US, IP_US).hex()}",
    ])
    assert steps[1].values("deadline") == [[str(SEC)]]
    assert steps[3].frames() == [request_for(IP_PEER)]
    assert steps[5].frames() == [request_for(IP_PEER)]
    assert steps[7].frames() == []  # three requests sent: give up
    assert steps[8].values("deadline") == [["never"]]
    assert "arp_queue_dropped=1" in steps[9].lines[0]
    assert steps[10].frames() == []


def test_queue_per_neighbour_is_bounded(stack_harness: Path) -> None:
    steps = run(stack_harness, [f"ip_out {IP_PEER} 17 {i:02x}" for i in range(17)] + ["stats"])
    assert [s.ret() for s in steps[:16]] == [0] * 16
    assert steps[16].ret() == -5  # NET_ENOBUFS
    assert "arp_queue_dropped=1" in steps[17].lines[0]


def test_entries_expire_after_sixty_seconds(stack_harness: Path) -> None:
    reply = arp_frame(2, MAC_US, MAC_PEER, IP_PEER, MAC_US, IP_US)
    steps = run(stack_harness, [
        f"ip_out {IP_PEER} 17 01", f"in {reply.hex()}",
        f"time {60 * SEC - 1}", "poll", f"ip_out {IP_PEER} 17 02",
        f"time {61 * SEC}", "poll", f"ip_out {IP_PEER} 17 03",
    ])
    assert steps[4].frames()[0][:6] == MAC_PEER
    assert steps[7].frames() == [request_for(IP_PEER)]


def test_off_subnet_destinations_resolve_the_gateway(stack_harness: Path) -> None:
    reply = arp_frame(2, MAC_US, MAC_GW, IP_GW, MAC_US, IP_US)
    steps = run(stack_harness, [f"ip_out 192.0.2.7 {PROTO_UDP} 01", f"in {reply.hex()}"])
    assert steps[0].frames() == [request_for(IP_GW)]
    (sent,) = steps[1].frames()
    assert sent[:6] == MAC_GW
    assert parse_ipv4(sent)[0].dst == "192.0.2.7"


def test_no_gateway_means_off_subnet_is_unreachable(stack_harness: Path) -> None:
    steps = run_script(stack_harness, ["create 020000000002 1500 1",
                                       "ipv4 10.0.0.2/24 0.0.0.0", "ip_out 192.0.2.7 17 01"])
    assert steps[2].ret() == -3
    assert steps[2].frames() == []


def test_cache_is_bounded_and_replaces_the_oldest_entry(stack_harness: Path) -> None:
    # 17 neighbours announce themselves to us; the cache holds 16.
    commands = []
    for i in range(17):
        mac = bytes.fromhex(f"0200000001{i:02x}")
        announce = arp_frame(1, BROADCAST_MAC, mac, f"10.0.0.{100 + i}", ZERO_MAC, IP_US)
        commands += [f"time {i * SEC}", f"in {announce.hex()}"]
    commands += ["ip_out 10.0.0.100 17 01", "ip_out 10.0.0.116 17 01"]
    steps = run(stack_harness, commands)
    assert steps[-2].frames() == [request_for("10.0.0.100")]  # the oldest was evicted
    assert steps[-1].frames()[0][:6] == bytes.fromhex("020000000110")


def test_spoofed_and_malformed_arp_is_ignored(stack_harness: Path) -> None:
    claims_our_ip = arp_frame(2, MAC_US, MAC_PEER, IP_US, MAC_US, IP_US)
    broadcast_sender = arp_frame(1, BROADCAST_MAC, BROADCAST_MAC, IP_PEER, ZERO_MAC, IP_US)
    truncated = arp_frame(1, BROADCAST_MAC, MAC_PEER, IP_PEER, ZERO_MAC, IP_US)[:14 + 27]
    steps = run(stack_harness, [f"in {f.hex()}" for f in (claims_our_ip, broadcast_sender,
                                                           truncated)])
    assert all(step.frames() == [] for step in steps)
