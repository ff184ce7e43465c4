/*
 * Building and releasing warroom's core; see core.h.
 */
#include "autoconfig.h"

#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "bots.h"
#include "bridge_host.h"
#include "config.h"
#include "core.h"
#include "curl_uv.h"
#include "hs_client.h"
#include "log.h"
#include "metrics.h"
#include "outbox.h"
#include "router.h"
#include "store/store.h"

static int64_t
core_outbox_depth(void *arg)
{
    struct core *c = arg;

    return c->outbox != NULL ? outbox_depth(c->outbox) : 0;
}

int
core_open(struct core *c, uv_loop_t *loop, const struct config *cfg, int local, struct config_errors *errs)
{
    struct store_options sopt = {.path = cfg->appservice.database, .sync_normal = cfg->appservice.database_sync};
    struct hs_client_options hopt = {
        .base_url = cfg->homeserver.address,
        .as_token = cfg->appservice.as_token,
        .verify_tls = cfg->homeserver.verify_tls,
    };
    struct bridge_host_options bopt = {0};
    struct router_options ropt = {0};
    char *cause = NULL;

    memset(c, 0, sizeof(*c));
    c->loop = loop;
    c->cfg = cfg;
    if (store_open(&sopt, &c->store, &cause) != 0) {
        log_error("%s", cause);
        free(cause);
        return -1;
    }
    log_info("database %s at schema version %d", cfg->appservice.database, store_schema_version(c->store));
    c->cu = curl_uv_new(loop);
    c->hc = hs_client_new(loop, c->cu, &hopt);
    c->bots = bots_new(loop, cfg, c->hc);
    if (local)
        bots_local(c->bots);
    bopt.loop = loop;
    bopt.cfg = cfg;
    bopt.cu = c->cu;
    bopt.store = c->store;
    bopt.bots = c->bots;
    bopt.hc = c->hc;
    if (bridge_host_new(&bopt, &c->bridges, errs) != 0)
        return -1;
    c->outbox = outbox_new(loop, c->store, c->hc, c->bots);
    ropt.loop = loop;
    ropt.cfg = cfg;
    ropt.store = c->store;
    ropt.bots = c->bots;
    ropt.outbox = c->outbox;
    ropt.hc = c->hc;
    ropt.bridges = c->bridges;
    c->router = router_new(&ropt);
    if ((c->audit = audit_start(loop, c->store, cfg)) == NULL)
        return -1;
    metrics_set_outbox_depth_fn(core_outbox_depth, c);
    return 0;
}

void
core_close(struct core *c)
{
    metrics_set_outbox_depth_fn(NULL, NULL);
    router_free(c->router);
    bridge_host_free(c->bridges);
    outbox_free(c->outbox);
    bots_free(c->bots);
    hs_client_free(c->hc);
    curl_uv_close(c->cu);
    audit_stop(c->audit);
    store_close(c->store);
    memset(c, 0, sizeof(*c));
}
