// ordergatectl's order subcommands: `orders` (list by state) and `resolve` (settle an UNKNOWN).
#include <simdjson.h>

#include <cmath>
#include <cstdlib>
#include <iomanip>
#include <memory>
#include <optional>
#include <string>

#include "gateway/ordergatectl.h"
#include "transport/cli_style.h"
#include "transport/codec.h"

namespace ordergate::gateway::ctl {

namespace {

namespace cli = ordergate::transport::cli;

// The member `key` of `e` as T, or `fallback` when absent or of another type.
template <typename T>
T Member(simdjson::dom::element e, const char* key, T fallback) {
  T value{};
  return e[key].get(value) == simdjson::SUCCESS ? value : fallback;
}

struct OrdersOptions {
  std::string state = "unknown";
  bool json = false;
};

int RunOrders(Context& ctx, const OrdersOptions& o) {
  const HttpAnswer answer = ctx.Get("/admin/orders?state=" + o.state);
  if (answer.status != 200) return ctx.Fail("orders --state " + o.state, answer);
  if (o.json) {
    ctx.out() << answer.body;
    return 0;
  }
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  simdjson::dom::array orders;
  std::string_view state;
  if (parser.parse(answer.body).get(doc) != simdjson::SUCCESS ||
      doc["orders"].get(orders) != simdjson::SUCCESS ||
      doc["state"].get(state) != simdjson::SUCCESS) {
    HttpAnswer odd = answer;
    odd.status = 0;
    odd.error = "the gateway's answer is not the /admin/orders JSON: " + answer.body;
    return ctx.Fail("orders", odd);
  }
  if (orders.size() == 0) {
    ctx.out() << "no " << state << " orders\n";
    return 0;
  }
  ctx.out() << orders.size() << " " << state << " order(s), oldest first:\n"
            << std::left << std::setw(66) << "UUID" << std::setw(10) << "STATE" << std::setw(28)
            << "SINCE (UTC)"
            << "AGE\n";
  for (simdjson::dom::element e : orders) {
    // A CURVE client's order: NAME/UUID (resolve it with --client NAME).
    std::string label;
    if (const auto client = Member<std::string_view>(e, "client", ""); !client.empty()) {
      label.append(client).push_back('/');
    }
    label.append(Member<std::string_view>(e, "uuid", "?"));
    ctx.out() << std::left << std::setw(66) << label << std::setw(10)
              << Member<std::string_view>(e, "state", "?") << std::setw(28)
              << Member<std::string_view>(e, "created_at", "?")
              << Member<int64_t>(e, "age_seconds", 0) << "s\n";
  }
  if (state == "UNKNOWN") {
    ctx.out() << "Settle each one against MT5 (its comment or history), then: ordergatectl resolve "
                 "UUID [--client NAME] --filled TICKET [--price P] | --rejected REASON\n";
  }
  return 0;
}

struct ResolveOptions {
  std::string uuid;
  std::optional<int64_t> ticket;
  std::optional<double> price;
  std::optional<std::string> reason;
  std::string operator_name;
  std::string client;
};

int RunResolve(Context& ctx, const ResolveOptions& o) {
  std::string body = "{\"outcome\":";
  if (o.ticket) {
    body += "\"FILLED\",\"ticket\":" + std::to_string(*o.ticket);
    if (o.price) {
      body += ",\"price\":";
      AppendJsonNumber(*o.price, &body);
    }
  } else {
    body += "\"REJECTED\",\"reason\":";
    AppendJsonString(*o.reason, &body);
  }
  if (!o.operator_name.empty()) {
    body += ",\"operator\":";
    AppendJsonString(o.operator_name, &body);
  }
  if (!o.client.empty()) {
    body += ",\"client\":";
    AppendJsonString(o.client, &body);
  }
  body += "}";
  // The uuid is limited to [A-Za-z0-9._:-] by --help's check: safe in a path as it is.
  const HttpAnswer answer = ctx.Post("/admin/orders/" + o.uuid + "/resolve", body);
  const std::string what = "resolve " + o.uuid + " refused";
  if (answer.status != 200) return ctx.Fail(what, answer);
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  bool applied = false;
  if (parser.parse(answer.body).get(doc) != simdjson::SUCCESS ||
      doc["applied"].get(applied) != simdjson::SUCCESS || !applied) {
    HttpAnswer odd = answer;
    odd.status = 0;
    odd.error = "the gateway did not say it was applied: " + answer.body;
    return ctx.Fail(what, odd);
  }
  const std::string_view from = Member<std::string_view>(doc, "from", "?");
  const std::string_view to = Member<std::string_view>(doc, "to", "?");
  const std::string_view at = Member<std::string_view>(doc, "resolved_at", "?");
  std::string reply;
  simdjson::dom::element reply_doc;
  if (doc["reply"].get(reply_doc) == simdjson::SUCCESS) reply = simdjson::minify(reply_doc);
  ctx.out() << "resolved " << o.uuid << ": " << from << " -> " << to;
  if (o.ticket) ctx.out() << " (ticket " << *o.ticket << ")";
  ctx.out() << " at " << at << "; recorded, and replayed to every later submission of " << o.uuid
            << ":\n"
            << reply << "\n";
  return 0;
}

// The contract's uuid: 1..64 of [A-Za-z0-9._:-].
CLI::Validator UuidCheck() {
  return CLI::Validator(
      [](std::string& v) -> std::string {
        bool ok = !v.empty() && v.size() <= 64;
        for (char ch : v) {
          ok = ok && ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
                      (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == ':' || ch == '-');
        }
        return ok ? std::string() : v + " is not a uuid (1..64 of [A-Za-z0-9._:-])";
      },
      "");
}

}  // namespace

CtlCommand AddOrdersCommand(CLI::App& app) {
  auto o = std::make_shared<OrdersOptions>();
  CLI::App* sub =
      app.add_subcommand("orders",
                         "list the gateway's in-flight orders by state (the store indexes\n"
                         "RESERVED and UNKNOWN only)");
  sub->add_option("--state", o->state, "unknown, reserved or in_flight (both)")
      ->type_name("STATE")
      ->check(CLI::IsMember({"unknown", "reserved", "in_flight"}, CLI::ignore_case));
  sub->add_flag("--json", o->json, "print the gateway's JSON as it is");
  return {sub, [o](Context& ctx) { return RunOrders(ctx, *o); }};
}

CtlCommand AddResolveCommand(CLI::App& app) {
  auto o = std::make_shared<ResolveOptions>();
  if (const char* user = std::getenv("USER"); user != nullptr) o->operator_name = user;
  CLI::App* sub =
      app.add_subcommand("resolve",
                         "settle an UNKNOWN order: FILLED with its MT5 ticket, or REJECTED\n"
                         "with a reason; exit 0 only when applied");
  sub->add_option("uuid", o->uuid, "the order's uuid")
      ->type_name("UUID")
      ->required()
      ->check(UuidCheck());
  CLI::Option* filled = sub->add_option("--filled", o->ticket, "MT5 executed it: its ticket")
                            ->type_name("TICKET")
                            ->check(cli::AtLeast<int64_t>(1));
  sub->add_option("--price", o->price, "with --filled: the execution price")
      ->type_name("P")
      ->needs(filled)
      ->check(CLI::Validator(
          [](std::string& v) -> std::string {
            double p = 0;
            return cli::ReadNumber(v, &p) && std::isfinite(p) && p > 0
                       ? std::string()
                       : v + " is not a price above 0";
          },
          ""));
  CLI::Option* rejected =
      sub->add_option("--rejected", o->reason, "MT5 has no trace of it: why (recorded)")
          ->type_name("REASON");
  filled->excludes(rejected);
  sub->add_option("--operator", o->operator_name, "who resolves it, for the log and the record")
      ->type_name("NAME");
  sub->add_option("--client", o->client,
                  "with CURVE: the client whose uuid it is (its certificate's name, as `orders`\n"
                  "shows it before the '/')")
      ->type_name("NAME");
  sub->final_callback([filled, rejected] {
    if (filled->count() == 0 && rejected->count() == 0) {
      throw CLI::ValidationError("resolve", "give --filled TICKET or --rejected REASON");
    }
  });
  return {sub, [o](Context& ctx) { return RunResolve(ctx, *o); }};
}

}  // namespace ordergate::gateway::ctl
