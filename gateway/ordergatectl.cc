#include "gateway/ordergatectl.h"

#include <httplib.h>
#include <simdjson.h>

#include <chrono>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "gateway/ctl_checkpoint.h"
#include "transport/cli_style.h"

namespace ordergate::gateway::ctl {

namespace {

namespace cli = ordergate::transport::cli;

constexpr char kProgram[] = "ordergatectl";
constexpr char kDescription[] =
    "ordergatectl: operate a running ordergated through its admin interface (the HTTP endpoint of "
    "its --metrics-listen).";
constexpr char kFooter[] =
    R"(Exit status: 0 when the command did what it says (resolve: the resolution is applied and
durable), 1 when the gateway refused it or could not be reached (why, on stderr), 2 for a bad
command line. A call that changes anything (resolve) is admitted from loopback, or with the token
of the gateway's admin_token_file (--token-file).)";

// Every subcommand: one row each (see ordergatectl.h).
constexpr CtlCommand (*kCommands[])(CLI::App&) = {
    AddOrdersCommand,     AddResolveCommand,
    AddStatusCommand,      // gateway/ctl_checkpoint.h
    AddCheckpointCommand,  // gateway/ctl_checkpoint.h
    AddKeygenCommand,
};

// HOST:PORT (HOST may be [IPv6]) -> host without brackets, port; nullopt when malformed.
std::optional<std::pair<std::string, int>> SplitHostPort(const std::string& hp) {
  const size_t colon = hp.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == hp.size()) return std::nullopt;
  std::string host = hp.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  int port = 0;
  for (char ch : hp.substr(colon + 1)) {
    if (ch < '0' || ch > '9' || port > 65535) return std::nullopt;
    port = port * 10 + (ch - '0');
  }
  if (port < 1 || port > 65535) return std::nullopt;
  return std::make_pair(host, port);
}

// The token of `path`, trailing whitespace removed; nullopt when it cannot be read.
std::optional<std::string> ReadToken(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::stringstream content;
  content << in.rdbuf();
  std::string token = content.str();
  while (!token.empty() && static_cast<unsigned char>(token.back()) <= ' ') token.pop_back();
  return token;
}

HttpAnswer Call(const GlobalOptions& o, const std::string& method, const std::string& path,
                const std::string& body) {
  HttpAnswer answer;
  const auto hp = SplitHostPort(o.gateway);
  if (!hp) {
    answer.error = "--gateway " + o.gateway + " is not HOST:PORT";
    return answer;
  }
  httplib::Client client(hp->first, hp->second);
  const auto timeout = std::chrono::milliseconds(o.timeout_ms);
  client.set_connection_timeout(timeout);
  client.set_read_timeout(timeout);
  client.set_write_timeout(timeout);
  httplib::Headers headers;
  if (!o.token_file.empty()) {
    const std::optional<std::string> token = ReadToken(o.token_file);
    if (!token) {
      answer.error = "cannot read --token-file " + o.token_file;
      return answer;
    }
    headers.emplace("Authorization", "Bearer " + *token);
  }
  httplib::Result res = method == "POST"
                            ? client.Post(path.c_str(), headers, body, "application/json")
                            : client.Get(path.c_str(), headers);
  if (!res) {
    answer.error = "no answer from the gateway at " + o.gateway + " (" +
                   httplib::to_string(res.error()) +
                   "); is ordergated running with this "
                   "--metrics-listen?";
    return answer;
  }
  answer.status = res->status;
  answer.body = res->body;
  return answer;
}

}  // namespace

HttpAnswer Context::Get(const std::string& path) { return Call(options_, "GET", path, {}); }

HttpAnswer Context::Post(const std::string& path, const std::string& json) {
  return Call(options_, "POST", path, json);
}

int Context::Fail(const std::string& what, const HttpAnswer& answer) {
  std::string why = answer.error;
  if (answer.status != 0) {
    simdjson::dom::parser parser;
    std::string_view message;
    simdjson::dom::element doc;
    if (parser.parse(answer.body).get(doc) == simdjson::SUCCESS &&
        doc["error"].get(message) == simdjson::SUCCESS) {
      why = std::string(message);
    } else {
      why = answer.body;
      while (!why.empty() && (why.back() == '\n' || why.back() == '\r')) why.pop_back();
    }
    why = "HTTP " + std::to_string(answer.status) + ": " + why;
  }
  err_ << kProgram << ": " << what << ": " << why << "\n";
  return 1;
}

int RunOrdergatectl(int argc, const char* const* argv, std::ostream& out, std::ostream& err) {
  CLI::App app{kDescription, kProgram};
  cli::ApplyStyle(app);
  GlobalOptions options;
  app.add_option("--gateway", options.gateway, "ordergated's HTTP endpoint (its --metrics-listen)")
      ->type_name("HOST:PORT")
      ->check(CLI::Validator(
          [](std::string& v) -> std::string {
            return SplitHostPort(v) ? std::string() : v + " is not HOST:PORT (PORT 1..65535)";
          },
          ""));
  app.add_option("--token-file", options.token_file,
                 "a file holding the gateway's admin token (its admin_token_file);\n"
                 "needed for resolve when not calling from loopback")
      ->type_name("FILE");
  app.add_option("--timeout-ms", options.timeout_ms, "bound of each call to the gateway")
      ->type_name("MS")
      ->check(cli::InRange<int64_t>(1, 600000));
  std::vector<CtlCommand> commands;
  for (const auto add : kCommands) commands.push_back(add(app));
  app.require_subcommand(1);
  app.footer(kFooter);
  if (const std::optional<int> exit_code = cli::Parse(app, argc, argv)) return *exit_code;
  Context ctx(options, out, err);
  for (CtlCommand& c : commands) {
    if (c.app->parsed()) return c.run(ctx);
  }
  return cli::kExitBadCommandLine;  // require_subcommand(1) makes this unreachable
}

}  // namespace ordergate::gateway::ctl
