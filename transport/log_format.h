// The one log format of ordergate's programs (ordergated, ordergate-bridge-sim, ordergate-bench
// with its embedded gateway): each line is
//
//   2024-05-01T12:34:56.789012Z info [ordergated] bridge link up (tcp://127.0.0.1:5556) after ...
//
// UTC time to the microsecond with a Z, the spdlog level, the component in brackets, the message;
// on stderr (stdout stays for the lines scripts parse, e.g. "ordergated ready ..."). The level is
// coloured only when stderr is a terminal.
//
//   ordergate::transport::UseLogFormat("ordergated");   // once, at start-up, before logging
//
// Header-only, so every program shares it whatever it links (only spdlog, which each of them
// links); it lives in transport/ as the layer every program may include.
#ifndef ORDERGATE_TRANSPORT_LOG_FORMAT_H_
#define ORDERGATE_TRANSPORT_LOG_FORMAT_H_

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <string>

namespace ordergate::transport {

inline constexpr char kLogPattern[] = "%Y-%m-%dT%H:%M:%S.%fZ %^%l%$ [%n] %v";

// Makes spdlog's default logger (what spdlog::info() and friends write to) a stderr logger named
// `component`, in kLogPattern with UTC time. Keeps the current level. Start-up call: not
// thread-safe with concurrent logging; call it again to rename the component.
inline void UseLogFormat(const std::string& component) {
  const spdlog::level::level_enum level = spdlog::get_level();
  auto logger = std::make_shared<spdlog::logger>(
      component, std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
  logger->set_formatter(
      std::make_unique<spdlog::pattern_formatter>(kLogPattern, spdlog::pattern_time_type::utc));
  logger->set_level(level);
  spdlog::set_default_logger(std::move(logger));
}

}  // namespace ordergate::transport

#endif  // ORDERGATE_TRANSPORT_LOG_FORMAT_H_
