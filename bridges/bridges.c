/*
 * The table of every bridge (tmux's cmd_table): adding a bridge is one
 * file in bridges/, one line here and one in Makefile.am.
 */
#include "autoconfig.h"

#include <stddef.h>

#include "bridges/bridge.h"

extern const struct bridge bridge_ioc;
extern const struct bridge bridge_abuseipdb;
extern const struct bridge bridge_dns_tool;
extern const struct bridge bridge_file;
extern const struct bridge bridge_rdap;
extern const struct bridge bridge_virustotal;

const struct bridge *const bridges_all[] = {
    &bridge_ioc,
    &bridge_abuseipdb,
    &bridge_dns_tool,
    &bridge_file,
    &bridge_rdap,
    &bridge_virustotal,
    NULL,
};
