// What was built: ordergate's version (CMake's project(VERSION)) and the git commit of the sources,
// fixed when ordergate_gateway was built. Shown by `ordergated --version`, in its start-up log line
// and as /metrics' ordergate_build_info{version=...,commit=...} 1.
//
// The commit is `git rev-parse --short=12 HEAD` of the source tree, with "-dirty" when tracked
// files differed from it, read at every build (gateway/build_info.cmake), so it follows new
// commits without a reconfigure. Sources without their own .git (a release tarball) get the
// -DORDERGATE_GIT_COMMIT=... given to CMake, else "unknown".
//
// Thread-safety: constants; any thread, never blocks.
#ifndef ORDERGATE_GATEWAY_BUILD_INFO_H_
#define ORDERGATE_GATEWAY_BUILD_INFO_H_

#include "absl/strings/string_view.h"

namespace ordergate::gateway {

absl::string_view BuildVersion();  // "0.1.0"
absl::string_view BuildCommit();   // "3f2a9c0d1e4b", "3f2a9c0d1e4b-dirty" or "unknown"

}  // namespace ordergate::gateway

#endif  // ORDERGATE_GATEWAY_BUILD_INFO_H_
