// The admin interface on the HTTP endpoint (--metrics-listen), what ordergatectl talks to. JSON in
// and out; every body is one JSON object and a newline.
//
//   GET  /admin/status                 {"ready","serving","bridge","bridge_last_reply_age_seconds",
//                                       "in_flight","unknown","reserved","counters":{...}}
//   GET  /admin/orders?state=unknown   the store's UNKNOWN records (state=reserved: RESERVED;
//                                       state=in_flight or none: both)
//        -> {"state":"UNKNOWN","count":N,"orders":[{"uuid","state","created_at","updated_at",
//            "age_seconds"}, ...]}   oldest first. Only these in-flight states can be listed: the
//            store indexes them (Store::ListInFlight); a FILLED or REJECTED order is read one at
//            a time with:
//   GET  /admin/orders/UUID {"uuid","state","created_at","updated_at","reply":{...}|null} POST
//   /admin/orders/UUID/resolve    {"outcome":"FILLED","ticket":T[,"price":P][,"operator":N]}
//                                   or {"outcome":"REJECTED","reason":R[,"operator":N]}
//        -> 200 {"applied":true,"uuid","from":"UNKNOWN","to":"FILLED"|"REJECTED",
//                "resolved_at","reply":{...}}   (Gateway::ResolveUnknown: durable, applied by
//                the order loop through the transition table)
//        -> otherwise {"applied":false,"error":MESSAGE} with 400 (a bad body or field), 403 (not
//           admitted: gateway/admin_access.h), 404 (no such order), 409 (not UNKNOWN), 503 (store
//           or loop unavailable, gateway stopping), 504 (outcome not known yet: look it up).
//
// Times are ISO 8601 UTC. Read-only calls are open to whoever reaches the endpoint (as /metrics
// is); the resolve call is admitted by DecideAdminAccess (loopback, or the admin token as
// "Authorization: Bearer TOKEN"). Handlers run on the HTTP endpoint's threads and read the store
// there (never the loop's state); a resolve waits for the loop at most 2 x 2 s, within the
// endpoint's 5 s connection budget.
#ifndef ORDERGATE_GATEWAY_ADMIN_API_H_
#define ORDERGATE_GATEWAY_ADMIN_API_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "gateway/gateway.h"
#include "gateway/operator_resolution.h"
#include "idempotency/record.h"

namespace httplib {
class Server;
struct Response;
}  // namespace httplib

namespace ordergate::gateway {

// Runs `render` with the gateway, or answers 503 itself once the endpoint was detached from it
// (HttpEndpoint's guard, so that no admin call touches a gateway being destroyed).
using WithGateway =
    std::function<void(httplib::Response&, const std::function<void(const Gateway&)>& render)>;

// Adds the routes above to `server`. Start-up call, before the server listens.
void RegisterAdminRoutes(httplib::Server& server, const WithGateway& with_gateway);

// The records of `in_flight` in `state` (kUnknown, kReserved, or kAbsent for both), oldest first,
// as the /admin/orders body. Pure.
std::string RenderOrdersJson(const std::vector<idempotency::Record>& in_flight,
                             idempotency::RecordState state, int64_t now_unix_ms);

// Reads a resolve body for `uuid` (the fields above; unknown members are refused, so that a typo
// such as "tiket" cannot pass silently). kInvalidArgument naming the member. Pure.
absl::StatusOr<Resolution> ParseResolutionBody(absl::string_view uuid, absl::string_view body);

// The HTTP status for a ResolveUnknown status code (the table above). Pure.
int HttpStatusFor(absl::StatusCode code);

}  // namespace ordergate::gateway

#endif  // ORDERGATE_GATEWAY_ADMIN_API_H_
