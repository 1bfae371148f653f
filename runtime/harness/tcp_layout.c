/*
 * Prints the layout of the TCP engine's public structs as this compiler
 * lays them out, one "struct.field offset size" line per field and one
 * "struct size" line per struct. tests/runtime/test_tcp_layout.py compares
 * it with the ctypes mirror in tests/runtime/tcp_harness.py, so a field
 * added, moved or resized in net/tcp.h cannot silently shift the mirror.
 */
#include <stddef.h>
#include <stdio.h>

#include "net/tcp.h"

#define FIELD(type, field)                                                  \
    printf("%s.%s %zu %zu\n", #type, #field, offsetof(struct type, field), \
           sizeof(((struct type *)NULL)->field))
#define SIZE(type) printf("%s %zu\n", #type, sizeof(struct type))

int main(void)
{
    SIZE(tcp_config);
    FIELD(tcp_config, output);
    FIELD(tcp_config, output_ctx);
    FIELD(tcp_config, secret);
    FIELD(tcp_config, mss);
    FIELD(tcp_config, rcvbuf);
    FIELD(tcp_config, sndbuf);
    FIELD(tcp_config, max_conns);
    FIELD(tcp_config, delack);
    FIELD(tcp_config, time_wait);
    FIELD(tcp_config, fin_wait_2);
    FIELD(tcp_config, syn_retries);
    FIELD(tcp_config, data_retries);
    FIELD(tcp_config, verify_checksum);
    FIELD(tcp_config, ack_batch);
    FIELD(tcp_config, tso_max);
    FIELD(tcp_config, sndref_max);
    FIELD(tcp_config, tx_headroom);

    SIZE(tcp_stats);
    FIELD(tcp_stats, live_conns);
    FIELD(tcp_stats, live_listeners);
    FIELD(tcp_stats, live_bytes);
    FIELD(tcp_stats, segs_in);
    FIELD(tcp_stats, segs_out);
    FIELD(tcp_stats, retransmits);
    FIELD(tcp_stats, bad_segments);
    FIELD(tcp_stats, rst_out);
    FIELD(tcp_stats, challenge_acks);
    FIELD(tcp_stats, backlog_drops);

    SIZE(tcp_conn_info);
    FIELD(tcp_conn_info, snd_una);
    FIELD(tcp_conn_info, snd_nxt);
    FIELD(tcp_conn_info, snd_wnd);
    FIELD(tcp_conn_info, cwnd);
    FIELD(tcp_conn_info, ssthresh);
    FIELD(tcp_conn_info, rcv_nxt);
    FIELD(tcp_conn_info, rcv_wnd);
    FIELD(tcp_conn_info, rto);
    FIELD(tcp_conn_info, srtt);
    FIELD(tcp_conn_info, rttvar);
    FIELD(tcp_conn_info, snd_mss);
    FIELD(tcp_conn_info, snd_wscale);
    FIELD(tcp_conn_info, rcv_wscale);
    FIELD(tcp_conn_info, in_recovery);
    return 0;
}
