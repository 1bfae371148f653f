/* DHCP message format (RFC 2131 section 2) and options (RFC 2132). */
#ifndef NET_DHCP_WIRE_H
#define NET_DHCP_WIRE_H

#include <stddef.h>
#include <stdint.h>

#define DHCP_FIXED_LEN 236          /* RFC 2131 figure 1: op .. file */
#define DHCP_OPTIONS_OFFSET 240     /* after the magic cookie */
#define DHCP_MAGIC 0x63825363u      /* RFC 2131 section 3: 99.130.83.99 */
#define DHCP_OP_REQUEST 1           /* BOOTREQUEST */
#define DHCP_OP_REPLY 2             /* BOOTREPLY */
#define DHCP_FLAG_BROADCAST 0x8000  /* RFC 2131 section 2, figure 2 */
#define DHCP_SERVER_PORT 67         /* RFC 2131 section 4.1 */
#define DHCP_CLIENT_PORT 68

/* RFC 2132 option codes. */
#define DHCP_OPT_PAD 0              /* 3.1 */
#define DHCP_OPT_SUBNET_MASK 1      /* 3.3 */
#define DHCP_OPT_ROUTER 3           /* 3.5 */
#define DHCP_OPT_DNS 6              /* 3.8 */
#define DHCP_OPT_REQUESTED_IP 50    /* 9.1 */
#define DHCP_OPT_LEASE_TIME 51      /* 9.2 */
#define DHCP_OPT_MSG_TYPE 53        /* 9.6 */
#define DHCP_OPT_SERVER_ID 54       /* 9.7 */
#define DHCP_OPT_PARAM_LIST 55      /* 9.8 */
#define DHCP_OPT_T1 58              /* 9.11 */
#define DHCP_OPT_T2 59              /* 9.12 */
#define DHCP_OPT_CLIENT_ID 61       /* 9.14 */
#define DHCP_OPT_END 255            /* 3.2 */

/* RFC 2132 9.6 message types. */
#define DHCPDISCOVER 1
#define DHCPOFFER 2
#define DHCPREQUEST 3
#define DHCPDECLINE 4
#define DHCPACK 5
#define DHCPNAK 6
#define DHCPRELEASE 7

/* The fields of a server reply the client uses; absent options are 0. */
struct dhcp_reply {
    uint32_t xid;
    uint32_t yiaddr;
    uint8_t chaddr[6];
    uint8_t msg_type;
    uint32_t server_id;
    uint32_t subnet_mask;
    uint32_t router;       /* the first router listed */
    uint32_t dns;          /* the first DNS server listed */
    uint32_t lease_time, t1, t2;
    uint8_t has_lease_time, has_t1, has_t2, has_subnet_mask;
};

/* Parses a BOOTREPLY for Ethernet. The sname/file fields are not read as
 * options (option overload, RFC 2132 9.3, is not supported). Returns 0 on
 * success, -1 if the message is malformed. */
int dhcp_parse_reply(const uint8_t *p, size_t len, struct dhcp_reply *out);

#endif
