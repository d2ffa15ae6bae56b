#include "gateway/admin_api.h"

#include <httplib.h>
#include <simdjson.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "gateway/admin_access.h"
#include "gateway/http_endpoint.h"
#include "transport/codec.h"
#include "transport/order_scope.h"

namespace ordergate::gateway {

namespace {

using idempotency::Record;
using idempotency::RecordState;

constexpr char kJson[] = "application/json";
// The uuid charset of the contract (1..64 of [A-Za-z0-9._:-]); anything else is not a route.
constexpr char kUuidPattern[] = "([A-Za-z0-9._:-]{1,64})";

int64_t UnixMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void AppendIsoMs(int64_t unix_ms, std::string* out) {
  out->push_back('"');
  AppendIsoTimestamp(unix_ms * 1000, /*basic=*/false, out);
  out->push_back('"');
}

// A stored reply as a JSON value: the object itself, or null when none was stored.
void AppendReply(absl::string_view reply, std::string* out) {
  const absl::string_view trimmed = absl::StripAsciiWhitespace(reply);
  if (trimmed.empty() || trimmed.front() != '{' || trimmed.back() != '}') {
    out->append("null");
    return;
  }
  out->append(trimmed.data(), trimmed.size());
}

void AppendRecord(const Record& r, int64_t now_unix_ms, std::string* out) {
  // The store key is the uuid, or the client's CURVE name and the uuid (transport/order_scope.h).
  const ScopedUuid scope = SplitStoreKey(r.key);
  out->append("{\"uuid\":");
  AppendJsonString(scope.uuid, out);
  if (!scope.identity.empty()) {
    out->append(",\"client\":");
    AppendJsonString(scope.identity, out);
    out->append(",\"bridge_uuid\":");
    std::string bridge_uuid;
    AppendBridgeUuid(scope.identity, scope.uuid, &bridge_uuid);
    AppendJsonString(bridge_uuid, out);
  }
  out->append(",\"state\":");
  AppendJsonString(idempotency::StateName(r.state), out);
  out->append(",\"created_at\":");
  AppendIsoMs(r.created_unix_ms, out);
  out->append(",\"updated_at\":");
  AppendIsoMs(r.updated_unix_ms, out);
  absl::StrAppend(
      out, ",\"age_seconds\":", std::max<int64_t>(0, now_unix_ms - r.created_unix_ms) / 1000);
}

void Answer(httplib::Response& res, int status, std::string body) {
  body.push_back('\n');
  res.status = status;
  res.set_content(body, kJson);
}

void Refuse(httplib::Response& res, int status, absl::string_view message) {
  std::string body = "{\"applied\":false,\"error\":";
  AppendJsonString(message, &body);
  body.push_back('}');
  Answer(res, status, std::move(body));
}

// state=unknown|reserved|in_flight (or none): the state to list, kAbsent meaning both.
std::optional<RecordState> ParseStateFilter(const std::string& text) {
  const std::string s = absl::AsciiStrToLower(text);
  if (s == "unknown") return RecordState::kUnknown;
  if (s == "reserved") return RecordState::kReserved;
  if (s.empty() || s == "in_flight" || s == "in-flight") return RecordState::kAbsent;
  return std::nullopt;
}

std::string RenderStatus(const Gateway& g) {
  const ReadyState ready = ReadyStateOf(g);
  std::string out =
      absl::StrCat("{\"ready\":", ready.ready ? "true" : "false",
                   ",\"serving\":", ready.serving ? "true" : "false", ",\"bridge\":\"",
                   ready.bridge_up ? "up" : "down", "\",\"bridge_last_reply_age_seconds\":");
  if (ready.bridge_reply_age_ms < 0) {
    out.append("null");
  } else {
    AppendJsonNumber(static_cast<double>(ready.bridge_reply_age_ms) / 1000.0, &out);
  }
  absl::StrAppend(&out, ",\"in_flight\":", g.in_flight());
  // From the store's in-flight index, so that it counts what an operator may have to settle.
  auto listed = g.ListInFlightOrders();
  if (listed.ok()) {
    size_t unknown = 0;
    for (const Record& r : *listed) unknown += r.state == RecordState::kUnknown ? 1 : 0;
    absl::StrAppend(&out, ",\"unknown\":", unknown, ",\"reserved\":", listed->size() - unknown);
  } else {
    out.append(",\"unknown\":null,\"reserved\":null");
  }
  const GatewayCounters& c = g.counters();
  absl::StrAppend(&out, ",\"counters\":{\"requests\":", c.requests.load(),
                  ",\"orders_submitted\":", c.orders_submitted.load(),
                  ",\"orders_filled\":", c.orders_filled.load(),
                  ",\"orders_rejected\":", c.orders_rejected.load(),
                  ",\"orders_unknown\":", c.orders_unknown.load(),
                  ",\"unknown_resolved\":", c.unknown_resolved.load(),
                  ",\"duplicates\":", c.duplicates.load(), ",\"conflicts\":", c.conflicts.load(),
                  ",\"denied\":", c.denied.load(), "}}");
  return out;
}

void HandleResolve(const httplib::Request& req, httplib::Response& res, const Gateway& g) {
  const std::string uuid = req.matches[1];
  const AdminAccessDecision access = DecideAdminAccess(
      req.remote_addr, req.remote_port, req.get_header_value("Authorization"), g.admin_token());
  if (!access.allowed) {
    Refuse(res, 403, access.who_or_why);
    return;
  }
  absl::StatusOr<Resolution> parsed = ParseResolutionBody(uuid, req.body);
  if (!parsed.ok()) {
    Refuse(res, 400, parsed.status().message());
    return;
  }
  parsed->admitted_as = access.who_or_why;
  absl::StatusOr<ResolutionResult> done = g.ResolveUnknown(*parsed);
  if (!done.ok()) {
    Refuse(res, HttpStatusFor(done.status().code()), done.status().message());
    return;
  }
  std::string out = "{\"applied\":true,\"uuid\":";
  AppendJsonString(done->uuid, &out);
  out.append(",\"from\":");
  AppendJsonString(idempotency::StateName(done->from), &out);
  out.append(",\"to\":");
  AppendJsonString(idempotency::StateName(done->to), &out);
  out.append(",\"resolved_at\":");
  AppendIsoMs(done->resolved_unix_ms, &out);
  out.append(",\"reply\":");
  AppendReply(done->reply, &out);
  out.push_back('}');
  Answer(res, 200, std::move(out));
}

}  // namespace

std::string RenderOrdersJson(const std::vector<Record>& in_flight, RecordState state,
                             int64_t now_unix_ms) {
  std::vector<const Record*> chosen;
  for (const Record& r : in_flight) {
    if (state == RecordState::kAbsent || r.state == state) chosen.push_back(&r);
  }
  std::stable_sort(chosen.begin(), chosen.end(), [](const Record* a, const Record* b) {
    return a->created_unix_ms < b->created_unix_ms;
  });
  std::string out = "{\"state\":";
  AppendJsonString(state == RecordState::kAbsent ? "IN_FLIGHT" : idempotency::StateName(state),
                   &out);
  absl::StrAppend(&out, ",\"count\":", chosen.size(), ",\"orders\":[");
  for (size_t i = 0; i < chosen.size(); ++i) {
    if (i > 0) out.push_back(',');
    AppendRecord(*chosen[i], now_unix_ms, &out);
    out.push_back('}');
  }
  out.append("]}");
  return out;
}

absl::StatusOr<Resolution> ParseResolutionBody(absl::string_view uuid, absl::string_view body) {
  simdjson::dom::parser parser;
  simdjson::dom::object obj;
  if (parser.parse(body.data(), body.size()).get(obj) != simdjson::SUCCESS) {
    return absl::InvalidArgumentError(
        "the body must be one JSON object: {\"outcome\":\"FILLED\",\"ticket\":T[,\"price\":P]} or "
        "{\"outcome\":\"REJECTED\",\"reason\":R}");
  }
  Resolution r;
  r.uuid = std::string(uuid);
  std::optional<std::string> outcome;
  for (auto field : obj) {
    const std::string_view key = field.key;
    const simdjson::dom::element v = field.value;
    std::string_view text;
    if (key == "outcome") {
      if (v.get(text) != simdjson::SUCCESS) {
        return absl::InvalidArgumentError("outcome must be \"FILLED\" or \"REJECTED\"");
      }
      outcome = absl::AsciiStrToUpper(absl::string_view(text.data(), text.size()));
    } else if (key == "ticket") {
      int64_t ticket = 0;
      if (v.get(ticket) != simdjson::SUCCESS) {
        return absl::InvalidArgumentError("ticket must be an integer (the MT5 ticket)");
      }
      r.ticket = ticket;
    } else if (key == "price") {
      double price = 0;
      if (v.get(price) != simdjson::SUCCESS) {
        return absl::InvalidArgumentError("price must be a number");
      }
      r.price = price;
    } else if (key == "reason") {
      if (v.get(text) != simdjson::SUCCESS) {
        return absl::InvalidArgumentError("reason must be a string");
      }
      r.reason = std::string(text);
    } else if (key == "operator") {
      if (v.get(text) != simdjson::SUCCESS) {
        return absl::InvalidArgumentError("operator must be a string");
      }
      r.operator_name = std::string(text);
    } else if (key == "client") {
      if (v.get(text) != simdjson::SUCCESS) {
        return absl::InvalidArgumentError("client must be a string (the order's CURVE name)");
      }
      r.client = std::string(text);
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown member \"", absl::string_view(key.data(), key.size()),
                       "\": a resolution has outcome, ticket, price, reason, operator and client"));
    }
  }
  if (!outcome || (*outcome != "FILLED" && *outcome != "REJECTED")) {
    return absl::InvalidArgumentError("outcome must be \"FILLED\" or \"REJECTED\"");
  }
  r.outcome = *outcome == "FILLED" ? ResolvedOutcome::kFilled : ResolvedOutcome::kRejected;
  if (absl::Status fields = CheckResolution(r); !fields.ok()) return fields;
  return r;
}

int HttpStatusFor(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kOk:
      return 200;
    case absl::StatusCode::kInvalidArgument:
      return 400;
    case absl::StatusCode::kPermissionDenied:
      return 403;
    case absl::StatusCode::kNotFound:
      return 404;
    case absl::StatusCode::kFailedPrecondition:
      return 409;
    case absl::StatusCode::kDeadlineExceeded:
      return 504;
    default:
      return 503;
  }
}

void RegisterAdminRoutes(httplib::Server& server, const WithGateway& with_gateway) {
  server.Get("/admin/status", [with_gateway](const httplib::Request&, httplib::Response& res) {
    with_gateway(res, [&res](const Gateway& g) { Answer(res, 200, RenderStatus(g)); });
  });
  server.Get("/admin/orders", [with_gateway](const httplib::Request& req, httplib::Response& res) {
    const std::optional<RecordState> state = ParseStateFilter(req.get_param_value("state"));
    if (!state) {
      Refuse(res, 400,
             "state must be unknown, reserved or in_flight: only in-flight records are indexed; "
             "look a settled order up with GET /admin/orders/UUID");
      return;
    }
    with_gateway(res, [&res, state](const Gateway& g) {
      auto listed = g.ListInFlightOrders();
      if (!listed.ok()) {
        Refuse(res, 503, absl::StrCat("the store cannot be listed: ", listed.status().message()));
        return;
      }
      Answer(res, 200, RenderOrdersJson(*listed, *state, UnixMs()));
    });
  });
  server.Get(absl::StrCat("/admin/orders/", kUuidPattern),
             [with_gateway](const httplib::Request& req, httplib::Response& res) {
               const std::string uuid = req.matches[1];
               // ?client=NAME: an order of that CURVE client (its uuids are its own).
               std::string key;
               AppendStoreKey(req.get_param_value("client"), uuid, &key);
               with_gateway(res, [&res, &uuid, &key](const Gateway& g) {
                 auto found = g.LookupOrder(key);
                 if (!found.ok()) {
                   Refuse(res, 503, "the store cannot be read");
                   return;
                 }
                 if (!found->has_value()) {
                   Refuse(res, 404, absl::StrCat("no order ", uuid, " in the store"));
                   return;
                 }
                 const Record& r = **found;
                 std::string out;
                 AppendRecord(r, UnixMs(), &out);
                 out.append(",\"reply\":");
                 AppendReply(r.reply, &out);
                 out.push_back('}');
                 Answer(res, 200, std::move(out));
               });
             });
  server.Post(absl::StrCat("/admin/orders/", kUuidPattern, "/resolve"),
              [with_gateway](const httplib::Request& req, httplib::Response& res) {
                with_gateway(res, [&](const Gateway& g) { HandleResolve(req, res, g); });
              });
}

}  // namespace ordergate::gateway
