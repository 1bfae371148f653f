#include "dhcp_wire.h"

#include <string.h>

#include "bytes.h"

int dhcp_parse_reply(const uint8_t *p, size_t len, struct dhcp_reply *out)
{
    memset(out, 0, sizeof(*out));
    if (len < DHCP_OPTIONS_OFFSET)
        return -1;
    if (p[0] != DHCP_OP_REPLY || p[1] != 1 || p[2] != 6 || get_be32(p + 236) != DHCP_MAGIC)
        return -1;
    out->xid = get_be32(p + 4);
    out->yiaddr = get_be32(p + 16);
    memcpy(out->chaddr, p + 28, 6);
    size_t i = DHCP_OPTIONS_OFFSET;
    while (i < len) {
        uint8_t code = p[i];
        if (code == DHCP_OPT_PAD) {
            i++;
            continue;
        }
        if (code == DHCP_OPT_END)
            break;
        if (i + 2 > len)
            return -1;
        size_t olen = p[i + 1];
        const uint8_t *v = p + i + 2;
        if (olen > len - i - 2)
            return -1;
        switch (code) {
        case DHCP_OPT_MSG_TYPE:
            if (olen != 1)
                return -1;
            out->msg_type = v[0];
            break;
        case DHCP_OPT_SERVER_ID:
            if (olen != 4)
                return -1;
            out->server_id = get_be32(v);
            break;
        case DHCP_OPT_SUBNET_MASK:
            if (olen != 4)
                return -1;
            out->subnet_mask = get_be32(v);
            out->has_subnet_mask = 1;
            break;
        case DHCP_OPT_ROUTER:
        case DHCP_OPT_DNS:
            if (olen < 4 || olen % 4 != 0)
                return -1;
            if (code == DHCP_OPT_ROUTER)
                out->router = get_be32(v);
            else
                out->dns = get_be32(v);
            break;
        case DHCP_OPT_LEASE_TIME:
        case DHCP_OPT_T1:
        case DHCP_OPT_T2:
            if (olen != 4)
                return -1;
            if (code == DHCP_OPT_LEASE_TIME) {
                out->lease_time = get_be32(v);
                out->has_lease_time = 1;
            } else if (code == DHCP_OPT_T1) {
                out->t1 = get_be32(v);
                out->has_t1 = 1;
            } else {
                out->t2 = get_be32(v);
                out->has_t2 = 1;
            }
            break;
        default:
            break; /* RFC 2131 section 4.1: unknown options are ignored */
        }
        i += 2 + olen;
    }
    return out->msg_type ? 0 : -1;
}
