"""The glue between TCP and the stack (runtime/net/tcp_stack.c), through
the stack harness built with ASan and LeakSanitizer: an attached engine
answers segments, a detached one is gone with nothing leaked, and a failed
attach leaves no handler behind."""

from __future__ import annotations

from pathlib import Path

from tests.runtime.frames import (
    BROADCAST_MAC,
    IP_PEER,
    IP_US,
    MAC_PEER,
    MAC_US,
    PROTO_TCP,
    arp_frame,
    ip_frame,
    ipv4,
    parse_ipv4,
)
from tests.runtime.stack_harness import StepOutput, run_script
from tests.runtime.tcp_harness import ACK, RST, SYN, Seg

PEER, US = 0x0A00000A, 0x0A000002
SETUP = ["create 020000000002 1500 1", "ipv4 10.0.0.2/24 10.0.0.1",
         "in " + arp_frame(1, BROADCAST_MAC, MAC_PEER, IP_PEER, b"\0" * 6, IP_US).hex()]
# A SYN to a port nobody listens on: an engine answers RST,ACK (RFC 9293 3.10.7.1).
SYN_TO_CLOSED_PORT = "in " + ip_frame(MAC_US, MAC_PEER, ipv4(
    IP_PEER, IP_US, PROTO_TCP, Seg(40000, 81, 1000, 0, SYN, 65535).build(PEER, US))).hex()


def run(harness: Path, commands: list[str]) -> list[StepOutput]:
    return run_script(harness, SETUP + commands)[len(SETUP):]


def tcp_replies(step: StepOutput) -> list[Seg]:
    replies = []
    for frame in step.frames():
        if frame[12:14] != b"\x08\x00":
            continue  # ARP
        header, payload = parse_ipv4(frame)
        if header.proto == PROTO_TCP:
            replies.append(Seg.parse(payload, US, PEER))
    return replies


def test_attached_engine_answers_segments(stack_harness: Path) -> None:
    steps = run(stack_harness, ["tcp_attach", SYN_TO_CLOSED_PORT])
    assert steps[0].ret() == 0
    (reset,) = tcp_replies(steps[1])
    assert (reset.flags, reset.ack, reset.dport) == (RST | ACK, 1001, 40000)


def test_detach_unregisters_and_frees_the_engine(stack_harness: Path) -> None:
    # The harness exits 0 only if LeakSanitizer finds nothing left.
    steps = run(stack_harness, ["tcp_attach", "tcp_detach", SYN_TO_CLOSED_PORT, "tcp_attach",
                                SYN_TO_CLOSED_PORT])
    assert tcp_replies(steps[2]) == []
    assert steps[3].ret() == 0  # protocol 6 and the timer slot are free again
    assert len(tcp_replies(steps[4])) == 1


def test_failed_attach_leaves_no_input_handler(stack_harness: Path) -> None:
    # Every timer slot taken: attaching fails after registering the input
    # handler, which used to stay behind pointing at the freed binding, so
    # the next segment was a use after free.
    steps = run(stack_harness, ["timer_fill", "tcp_attach", SYN_TO_CLOSED_PORT])
    assert steps[0].ret() == 8
    assert steps[1].ret() == -1
    assert tcp_replies(steps[2]) == []
