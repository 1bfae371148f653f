"""The zones the dns tests serve (from the unikernel and from NSD)."""

from __future__ import annotations

EXAMPLE_ORG = """$TTL 3600
@ IN SOA ns1 hostmaster ( 2026120201 7200 3600 1209600 300 )
@ NS ns1
@ NS ns2
@ MX 10 mail
@ A 192.0.2.1
@ AAAA 2001:db8::1
@ TXT "v=spf1 -all"
@ CAA 0 issue "ca.example.net"
ns1 A 192.0.2.53
ns2 A 192.0.2.54
ns2 AAAA 2001:db8::54
mail A 192.0.2.25
mail AAAA 2001:db8::25
www CNAME web
web CNAME @
alias CNAME www
out CNAME www.example.net.
dangling CNAME missing
*.wild A 192.0.2.99
*.wild TXT "wildcard"
*.cnwild CNAME www
exists.wild A 192.0.2.98
a.b.c A 192.0.2.5
_sip._tcp SRV 10 60 5060 sip
sip A 192.0.2.60
1.2 PTR host
sub NS ns.sub
sub NS ns1
ns.sub A 192.0.2.77
ns.sub AAAA 2001:db8::77
deleg NS ns.other.net.
Mixed.Case A 192.0.2.33
short 60 A 192.0.2.34
""" + "".join(f"many A 192.0.2.{i}\n" for i in range(100, 140)) + "".join(
    f'big TXT "{chr(97 + i) * 250}"\n' for i in range(6))

REVERSE = """$TTL 600
@ SOA ns1.example.org. hostmaster.example.org. 7 3600 600 86400 30
@ NS ns1.example.org.
1 PTR example.org.
53 PTR ns1.example.org.
"""

ZONES = {"example.org.zone": EXAMPLE_ORG, "2.0.192.in-addr.arpa.zone": REVERSE}
