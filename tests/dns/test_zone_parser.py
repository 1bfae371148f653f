"""The zone-file parser (RFC 1035 5.1 master files as NSD and BIND read
them) through the host tool: valid files give exactly the expected records
(owner, TTL, type, RDATA in wire form), invalid ones exactly the expected
"file:line: reason" and exit status 1."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.dns.zone_tool import check, dump

SOA = "@ 3600 IN SOA ns1 hostmaster 1 7200 3600 1209600 300\n"
SOA_RDATA = ("036e7331076578616d706c65036f7267000a686f73746d6173746572076578616d706c65036f726700"
             "000000010000"
             "1c2000000e10001275000000012c")


def test_master_file_syntax(dns_host: Path, tmp_path: Path) -> None:
    text = """$ORIGIN example.org.
$TTL 1h ; default TTL with a unit
@ IN SOA ns1.example.org. host\\.master.example.org. (
        2026120201 ; serial
        2h 1h 14d 5m )   ; the timers, on a continuation line
        IN NS ns1        ; blank owner: the previous one
        IN MX 10 mail
@ 300 IN A 192.0.2.1
@ IN 300 AAAA 2001:db8::1:0:0:1
@ TXT "v=spf1 \\"quoted\\" \\059 -all" plain \\065\\066C
@ CAA 128 issue "ca.example; account=1"
_sip._tcp SRV 10 60 5060 sip.example.org.
$ORIGIN sub.example.org.
www CNAME @
*.wild A 192.0.2.9
4.3.2.1 PTR host.example.org.
a\\.b\\032c A 192.0.2.10
"""
    assert dump(dns_host, tmp_path, "example.org.zone", text) == [
        "example.org. 300 1 c0000201",
        "example.org. 3600 2 036e7331076578616d706c65036f726700",
        "example.org. 3600 6 036e7331076578616d706c65036f7267000b686f73742e6d6173746572076578616d"
        "706c65036f72670078c4240900001c2000000e10001275000000012c",
        "example.org. 3600 15 000a046d61696c076578616d706c65036f726700",
        # "v=spf1 "quoted" ; -all", "plain", "ABC"
        "example.org. 3600 16 16763d73706631202271756f74656422203b202d616c6c05706c61696e03414243",
        "example.org. 300 28 20010db8000000000001000000000001",
        "example.org. 3600 257 8005697373756563612e6578616d706c653b206163636f756e743d31",
        "_sip._tcp.example.org. 3600 33 000a003c13c403736970076578616d706c65036f726700",
        "4.3.2.1.sub.example.org. 3600 12 04686f7374076578616d706c65036f726700",
        "a\\.b\\032c.sub.example.org. 3600 1 c000020a",
        "*.wild.sub.example.org. 3600 1 c0000209",
        "www.sub.example.org. 3600 5 03737562076578616d706c65036f726700",
    ]


def test_defaults_duplicates_and_address_forms(dns_host: Path, tmp_path: Path) -> None:
    # No $TTL: a record without TTL takes the last one stated. Duplicates
    # are dropped (RFC 2181 5); names and owners compare case-insensitively.
    text = SOA + """@ NS ns1
WWW.Example.ORG. A 192.0.2.1
www A 192.0.2.1
v6 AAAA ::
v6 AAAA ::1
v6 AAAA 1::
v6 AAAA ::ffff:192.0.2.1
v6 AAAA 2001:DB8:0:0:0:0:0:2
"""
    assert dump(dns_host, tmp_path, "example.org.zone", text) == [
        "example.org. 3600 2 036e7331076578616d706c65036f726700",
        f"example.org. 3600 6 {SOA_RDATA}",
        "v6.example.org. 3600 28 00000000000000000000000000000000",
        "v6.example.org. 3600 28 00000000000000000000000000000001",
        "v6.example.org. 3600 28 00000000000000000000ffffc0000201",
        "v6.example.org. 3600 28 00010000000000000000000000000000",
        "v6.example.org. 3600 28 20010db8000000000000000000000002",
        "www.example.org. 3600 1 c0000201",
    ]


def test_canonical_order_and_reverse_zone(dns_host: Path, tmp_path: Path) -> None:
    text = """$TTL 60
@ SOA ns1.example.org. hostmaster.example.org. 1 2 3 4 5
@ NS ns1.example.org.
2 PTR b.example.org.
10 PTR a.example.org.
z.1 PTR c.example.org.
"""
    lines = dump(dns_host, tmp_path, "2.0.192.in-addr.arpa.zone", text)
    owners = [line.split()[0] for line in lines]
    # RFC 4034 6.1: label by label from the right, "1" < "10" < "2"; a name
    # comes before its descendants.
    assert owners == ["2.0.192.in-addr.arpa."] * 2 + [
        "z.1.2.0.192.in-addr.arpa.", "10.2.0.192.in-addr.arpa.", "2.2.0.192.in-addr.arpa."]


INVALID = [
    ("$INCLUDE other.zone\n", 1,
     "$INCLUDE is not supported: put the records in the zone's own file"),
    ("$GENERATE 1-10 h$ A 192.0.2.$\n", 1, 'unknown directive "$GENERATE"'),
    ("$ORIGIN\n", 1, "$ORIGIN needs exactly one name"),
    ("$TTL 1x\n", 1, 'bad TTL: "1x"'),
    ("$TTL 2147483648\n", 1, 'TTL above 2147483647 (RFC 2181 8): "2147483648"'),
    (SOA + "a A 192.0.2.1 (\n\n", 2, "'(' is never closed"),
    (SOA + "a A ( ( 192.0.2.1 ) )\n", 2, "nested '('"),
    (SOA + "a A 192.0.2.1 )\n", 2, "')' without '('"),
    (SOA + 'a TXT "open\n', 2, "quoted string not closed on its line"),
    (SOA + "a A 192.0.2.256\n", 2, 'bad IPv4 address: "192.0.2.256"'),
    (SOA + "a A 192.0.2\n", 2, 'bad IPv4 address: "192.0.2"'),
    (SOA + "a AAAA 2001:db8:::1\n", 2, 'bad IPv6 address: "2001:db8:::1"'),
    (SOA + "a AAAA 1:2:3:4:5:6:7:8:9\n", 2, 'bad IPv6 address: "1:2:3:4:5:6:7:8:9"'),
    (SOA + "a AAAA 12345::\n", 2, 'bad IPv6 address: "12345::"'),
    (SOA + "a..b A 192.0.2.1\n", 2, 'empty label in name: "a..b"'),
    (SOA + ("x" * 64) + " A 192.0.2.1\n", 2, f'label longer than 63 octets: "{"x" * 60}"'),
    (SOA + ".".join(["abcdefghi"] * 26) + " A 192.0.2.1\n", 2,
     f'name longer than 255 octets: "{".".join(["abcdefghi"] * 26)[:60]}"'),
    (SOA + "a CH A 192.0.2.1\n", 2, "class CH is not supported (only IN)"),
    (SOA + "a HINFO cpu os\n", 2, 'unsupported record type "HINFO" (served: A AAAA NS SOA MX TXT '
     "CNAME PTR SRV CAA)"),
    (SOA + "a 300\n", 2, "missing record type"),
    (SOA + "a MX 10\n", 2, "MX needs a preference and an exchange name"),
    (SOA + "a MX 65536 mail\n", 2, 'bad MX preference: "65536"'),
    (SOA + "a A 192.0.2.1 192.0.2.2\n", 2, "trailing data after the record's fields"),
    (SOA + "a SRV 1 2 3\n", 2, "SRV needs priority, weight, port and target"),
    (SOA + "a TXT\n", 2, "TXT needs at least one string"),
    (SOA + 'a TXT "' + "x" * 256 + '"\n', 2,
     f'character string longer than 255 octets: "{"x" * 60}"'),
    (SOA + "a TXT \\256\n", 2, "\\DDD value above 255"),
    (SOA + "a TXT \\25\n", 2, "\\DDD needs three decimal digits"),
    (SOA + "a CAA 0 is-sue x\n", 2, 'bad CAA tag (1 to 15 letters and digits): "is-sue"'),
    (SOA + "a CAA 256 issue x\n", 2, 'bad CAA flags: "256"'),
    (SOA + "other.net. A 192.0.2.1\n", 2, "owner other.net. is outside the zone"),
    (" A 192.0.2.1\n" + SOA, 1, "no owner name: the first record must name one"),
    ("a A 192.0.2.1\n", 1, "no TTL: give one or set $TTL before the first record"),
    ("$TTL 60\na A 192.0.2.1\n", 0, "no SOA record at the zone apex example.org."),
    (SOA + SOA.replace(" 1 ", " 2 "), 2, "more than one SOA record"),
    (SOA + "a SOA ns1 h 1 2 3 4 5\n", 2, "SOA record at a.example.org., not at the zone apex"),
    (SOA + "a CNAME b\na A 192.0.2.1\n", 2,
     "CNAME and other data at a.example.org. (RFC 2181 10.1)"),
    (SOA + "a CNAME b\na CNAME c\n", 3, "more than one CNAME at a.example.org."),
    (SOA + "a 60 A 192.0.2.1\na 120 A 192.0.2.2\n", 3,
     "TTL 120 differs from TTL 60 of the same RRset on line 2 (RFC 2181 5.2)"),
]


@pytest.mark.parametrize(("text", "line", "reason"), INVALID,
                         ids=[reason[:40] for _, _, reason in INVALID])
def test_invalid_zone_is_refused_with_file_line_and_reason(
        dns_host: Path, tmp_path: Path, text: str, line: int, reason: str) -> None:
    result = check(dns_host, tmp_path, {"example.org.zone": text})
    where = f"example.org.zone:{line}" if line else "example.org.zone"
    assert result.returncode == 1
    assert result.stdout == f"{where}: {reason}\n"


@pytest.mark.parametrize(("name", "reason"), [
    ("example.org.txt", "a zone file's name must be <zone name>.zone"),
    ("example.org..zone", "a zone file's name must be <zone name>.zone"),
    ("..zone", "the root zone is not served"),
])
def test_zone_file_name_gives_the_origin(dns_host: Path, tmp_path: Path, name: str,
                                         reason: str) -> None:
    result = check(dns_host, tmp_path, {name: SOA})
    assert result.returncode == 1
    assert result.stdout == f"{name}: {reason}\n"


def test_valid_zone_reports_its_record_count(dns_host: Path, tmp_path: Path) -> None:
    result = check(dns_host, tmp_path, {"example.org.zone": SOA + "@ NS ns1\nns1 A 192.0.2.1\n"})
    assert result.returncode == 0
    assert result.stdout == "example.org.zone: 3 records\n"
