"""What the homeserver asks besides transactions, and what an operator
looks at: the user query (200 for warroom's bots, registered first; 404
for anyone else), the alias query, the third-party lookups, the ping, the
legacy unprefixed paths; /_warroom/live, /_warroom/ready and /metrics, on
the appservice port or a port of their own; JSON log lines; and no token
ever in the log.
"""

import json
import http.client

import harness
from harness import BOT, count, metric

tap = harness.Tap()
tmp = harness.tmpdir()
metrics_port = harness.free_port()
hs, wr = harness.start_pair(tmp, retry_scale=0.05, config_extra={
    "metrics": {"listen": f"127.0.0.1:{metrics_port}"}, "logging": {"format": "json", "level": "debug"}})
hs.wait_idle(10)

# User queries, as Synapse sends them (percent-encoded @ and :).
tap.is_(hs.user_query(BOT), (200, {}), "user query for the main bot: 200 {}")
status, body = hs.user_query("@soc_nosuchtool:localhost")
tap.is_((status, body.get("errcode")), (404, "M_NOT_FOUND"), "user query for a bot that does not exist: 404")
status, body = hs.user_query("@alice:localhost")
tap.is_((status, body.get("errcode")), (404, "M_NOT_FOUND"), "user query for a person: 404")

# Alias queries: warroom owns no room aliases.
status, body = hs.alias_query("#soc_incident_45:localhost")
tap.is_((status, body.get("errcode")), (404, "M_NOT_FOUND"), "alias query: 404 M_NOT_FOUND")

# Third-party lookups (thirdparty-*.json).
status, body = hs.thirdparty("protocol", "warroom")
tap.is_(status, 200, "thirdparty protocol warroom: 200")
tap.is_(body.get("user_fields"), ["tool"], "users are looked up by tool")
status, body = hs.thirdparty("protocol", "irc")
tap.is_(status, 404, "an unknown protocol: 404")
status, body = hs.thirdparty("user", "warroom", {"tool": "warroom"})
tap.ok(status == 200 and body and body[0]["userid"] == BOT, f"thirdparty user tool=warroom finds the bot: {body!r}")
status, body = hs.thirdparty("location", "warroom", {"incident": "42"})
tap.is_(status, 404, "thirdparty location: 404 (warroom bridges no rooms)")

# The ping the homeserver sends (ping.json, ping-without-transaction-id.json).
for label, ping in (("with", {"transaction_id": "fixture-ping-0001"}), ("without", {"transaction_id": None})):
    tap.is_(wr.request("POST", "/_matrix/app/v1/ping", body=ping), (200, {}), f"POST /ping {label} a transaction_id")
tap.is_(wr.request("POST", "/_matrix/app/v1/ping", body={"transaction_id": 5})[0], 400,
        "a ping with a transaction_id of the wrong type: 400")

# The legacy unprefixed paths.
legacy = {"events": [], "ephemeral": []}
tap.is_(wr.request("PUT", "/transactions/legacy-1", body=legacy), (200, {}), "legacy PUT /transactions/{txnId}")
tap.is_(wr.request("GET", "/users/%40warroom%3Alocalhost")[0], 200, "legacy GET /users/{userId}")
tap.is_(wr.request("GET", "/rooms/%23x%3Alocalhost")[0], 404, "legacy GET /rooms/{alias}")

# Health and metrics: here without a token, metrics on their own port.
tap.is_(wr.request("GET", "/_warroom/live", token=None), (200, {"live": True}), "live")
tap.is_(wr.request("GET", "/_warroom/ready", token=None), (200, {"ready": True}), "ready")
tap.is_(wr.request("GET", "/metrics", token=None)[0], 404, "/metrics is not on the appservice port when metrics.listen is set")
conn = http.client.HTTPConnection("127.0.0.1", metrics_port, timeout=5)
conn.request("GET", "/metrics")
resp = conn.getresponse()
text = resp.read().decode()
conn.close()
tap.is_(resp.status, 200, "/metrics on metrics.listen")
for name in ("warroom_transactions_total", "warroom_events_total", 'warroom_errors_total{kind="bad_json"}',
             "warroom_outbox_depth", "warroom_homeserver_request_duration_seconds_bucket",
             "warroom_homeserver_request_duration_seconds_count"):
    tap.ok(name in text, f"/metrics has {name}")
tap.ok(resp.getheader("Content-Type", "").startswith("text/plain; version=0.0.4"), "in the Prometheus text format")

tap.is_(wr.stop(), 0, "warroom exits 0")

# The log: JSON lines, and no token anywhere.
log = wr.log()
lines = [line for line in log.splitlines() if line.strip()]
parsed = 0
for line in lines:
    try:
        entry = json.loads(line)
        parsed += 1 if {"ts", "level", "msg"} <= set(entry) else 0
    except ValueError:
        pass
tap.is_(parsed, len(lines), f"every log line is a JSON object with ts, level and msg ({len(lines)} lines)")
tap.ok(wr.as_token not in log and wr.hs_token not in log, "neither token appears in the log")
tap.is_(wr.sanitizer_report(), [], "no sanitizer report")
hs.stop()
tap.done()
