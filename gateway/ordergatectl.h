// ordergatectl: the operator's command line for a running ordergated, over its admin interface
// (gateway/admin_api.h) on the HTTP endpoint (--metrics-listen).
//
//   ordergatectl [--gateway HOST:PORT] [--token-file FILE] SUBCOMMAND ...
//   ordergatectl orders --state unknown [--json]
//   ordergatectl resolve UUID (--filled TICKET [--price P] | --rejected REASON) [--operator NAME]
//   ordergatectl keygen NAME DIR          (writes DIR/NAME.key and DIR/NAME.key_secret)
//
// Exit status: 0 when the command did what it says (for resolve: the resolution was applied and is
// durable), 1 when the gateway refused it or could not be reached (the reason on stderr), 2 for a
// bad command line (transport/cli_style.h).
//
// A subcommand is one function that adds itself to the CLI11 app and returns what runs once the
// command line is parsed (CtlCommand), plus one row in kCommands (ordergatectl.cc). The function
// keeps its own options alive in the returned closure. Start-up-style code: CLI11 reports errors
// by exceptions, which cli::Parse turns into exit 2; nothing else throws.
#ifndef ORDERGATE_GATEWAY_ORDERGATECTL_H_
#define ORDERGATE_GATEWAY_ORDERGATECTL_H_

#include <CLI/CLI.hpp>
#include <cstdint>
#include <functional>
#include <ostream>
#include <string>

namespace ordergate::gateway::ctl {

inline constexpr char kDefaultGateway[] = "127.0.0.1:9464";

// The options every subcommand shares (parsed before any subcommand runs).
struct GlobalOptions {
  std::string gateway = kDefaultGateway;  // HOST:PORT of ordergated's --metrics-listen
  std::string token_file;                 // its admin token, sent as "Authorization: Bearer"
  int64_t timeout_ms = 10000;             // connect + whole call
};

// One HTTP answer; status 0 when there was none (`error` says why).
struct HttpAnswer {
  int status = 0;
  std::string body;
  std::string error;
};

// What a subcommand's action gets: the options, an HTTP client for the gateway, and where to
// print. Blocking calls (one HTTP request each, bounded by timeout_ms).
class Context {
 public:
  Context(GlobalOptions options, std::ostream& out, std::ostream& err)
      : options_(std::move(options)), out_(out), err_(err) {}
  const GlobalOptions& options() const { return options_; }
  std::ostream& out() { return out_; }
  std::ostream& err() { return err_; }
  HttpAnswer Get(const std::string& path);
  // POST of a JSON body, with the token of --token-file when one was given (read per call).
  HttpAnswer Post(const std::string& path, const std::string& json);
  // Prints "ordergatectl: WHAT: WHY" on err() for an answer that is not 200 (the gateway's
  // "error" member when it sent one) and returns 1.
  int Fail(const std::string& what, const HttpAnswer& answer);

 private:
  GlobalOptions options_;
  std::ostream& out_;
  std::ostream& err_;
};

// What a subcommand runs once the command line is parsed; returns the exit status.
using CtlAction = std::function<int(Context&)>;
struct CtlCommand {
  CLI::App* app = nullptr;  // the subcommand, to tell which one was given
  CtlAction run;
};

// The subcommands; each adds itself to `app`.
CtlCommand AddOrdersCommand(CLI::App& app);
CtlCommand AddResolveCommand(CLI::App& app);
// ctl_keygen.cc: `keygen NAME DIR`, a CURVE keypair in czmq's certificate format (offline).
CtlCommand AddKeygenCommand(CLI::App& app);

// The whole program: parses argv, runs the subcommand given. Returns the exit status.
int RunOrdergatectl(int argc, const char* const* argv, std::ostream& out, std::ostream& err);

}  // namespace ordergate::gateway::ctl

#endif  // ORDERGATE_GATEWAY_ORDERGATECTL_H_
