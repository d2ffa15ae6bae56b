// The one command-line style of every ordergate binary (ordergated, ordergate-bridge-sim,
// ordergate-bench, ordergate-forwarder), on CLI11 (Debian libcli11-dev 2.1, header-only). Each
// program builds its own CLI::App (no global flags), so ordergated can tell with count() which
// flags were given over its TOML file. Start-up code only: CLI11 reports errors by exceptions,
// which Parse() turns into an exit code. Header-only, no project dependency: gateway/, bench/ and
// transport/sim/ may all include it (CMake target ordergate_cli).
//
//   namespace cli = ordergate::transport::cli;
//   CLI::App app{"What the program is, in one line.", "program-name"};
//   cli::ApplyStyle(app);
//   app.add_option("--bind", opts.bind, "endpoint to bind")->type_name("ENDPOINT");
//   app.add_option("--workers", opts.workers, "orders at a time, 1..1024")
//       ->check(cli::InRange(1, 1024));
//   app.add_flag("--no-order-status", no_order_status, "answer ORDER_STATUS with UNKNOWN_ACTION");
//   app.add_option_function<std::string>("--latency", [&](const std::string& v) {
//     auto m = LatencyModel::Parse(v);
//     if (!m.ok()) throw CLI::ValidationError("--latency", std::string(m.status().message()));
//     opts.latency = *m;
//   }, "MT5 execution time")->type_name("MODEL")->default_str("fixed:0");
//   app.footer("Notes that hold for several flags.");
//   if (const std::optional<int> exit_code = cli::Parse(app, argc, argv)) {
//     return *exit_code;  // 0 after --help (usage on stdout), 2 after a bad command line
//   }
//
// The conventions, set here or followed by each program:
// - Long flags with dashes (--data-dir); `--name value` and `--name=value` alike; -h and --help
//   print the usage on stdout and exit 0.
// - A flag given twice: the last one counts, as with the hand-written parsers this replaces
//   (scripts put defaults first and let their caller override them).
// - --help shows every option's default: add_option on a variable captures it; an option without
//   a variable (add_option_function) says it with ->default_str(). Value names in capitals say
//   what is expected (ENDPOINT, FILE, N, MS, P) via ->type_name().
// - Ranges are ->check(InRange(lo, hi)) or ->check(AtLeast(lo)); any other check throws
// CLI::ValidationError(flag, why)
//   from the option's callback. Either way the message starts with the flag.
// - A bad command line (unknown flag, missing or malformed value, out of range, a required flag
//   absent) prints "PROGRAM: MESSAGE" and "Run PROGRAM --help for the flags." on stderr and
//   exits 2, before anything is bound, opened or started.
#ifndef ORDERGATE_TRANSPORT_CLI_STYLE_H_
#define ORDERGATE_TRANSPORT_CLI_STYLE_H_

#include <CLI/CLI.hpp>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <type_traits>

namespace ordergate::transport::cli {

// The exit code of a command line that could not be parsed (the project's convention since
// before CLI11; CLI11's own codes differ per error).
inline constexpr int kExitBadCommandLine = 2;

// Reads `input` as T the way CLI11 will convert it, except that an unsigned T refuses a minus
// sign (strtoull would wrap "-4" to 2^64 - 4).
template <typename T>
bool ReadNumber(const std::string& input, T* value) {
  if constexpr (std::is_unsigned_v<T>) {
    if (input.find('-') != std::string::npos) return false;
  }
  return CLI::detail::lexical_cast(input, *value);
}

// A check for ->check(): the value, read as T, lies in [lo, hi]. The message, after the flag,
// says "VALUE is not a number in [LO, HI]"; nothing is added to --help (say the range in the
// option's text, where it reads better than CLI11's own CLI::Range does).
template <typename T>
CLI::Validator InRange(T lo, T hi) {
  return CLI::Validator(
      [lo, hi](std::string& input) -> std::string {
        T value{};
        if (ReadNumber(input, &value) && !(value < lo) && !(hi < value)) return {};
        std::ostringstream why;
        why << input << " is not a number in [" << lo << ", " << hi << "]";
        return why.str();
      },
      "");
}

// As InRange, with no upper bound: "VALUE is not a number >= LO".
template <typename T>
CLI::Validator AtLeast(T lo) {
  return CLI::Validator(
      [lo](std::string& input) -> std::string {
        T value{};
        if (ReadNumber(input, &value) && !(value < lo)) return {};
        std::ostringstream why;
        why << input << " is not a number >= " << lo;
        return why.str();
      },
      "");
}

// Applies the common options and help layout to `app`. Call before adding options: the defaults
// (last value wins, defaults captured for --help) apply to options added afterwards.
inline void ApplyStyle(CLI::App& app) {
  app.option_defaults()->always_capture_default()->multi_option_policy(
      CLI::MultiOptionPolicy::TakeLast);
  app.set_help_flag("-h,--help", "print this help on stdout, then exit 0");
  app.get_formatter()->column_width(36);
}

// Parses argv into the options of `app`. nullopt: go on. Otherwise the exit code to return from
// main: 0 after --help or --version (printed on stdout), kExitBadCommandLine after an error
// (printed on stderr, naming the flag). Never throws a CLI11 parse error.
inline std::optional<int> Parse(CLI::App& app, int argc, const char* const* argv) {
  try {
    app.parse(argc, argv);
    return std::nullopt;
  } catch (const CLI::ParseError& e) {
    // CallForHelp, CallForAllHelp and CallForVersion are "errors" with CLI11's success code.
    if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) return app.exit(e);
    std::cerr << app.get_name() << ": " << e.what() << "\nRun " << app.get_name()
              << " --help for the flags.\n";
    return kExitBadCommandLine;
  }
}

}  // namespace ordergate::transport::cli

#endif  // ORDERGATE_TRANSPORT_CLI_STYLE_H_
