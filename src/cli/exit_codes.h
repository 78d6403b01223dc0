// The process exit codes of the user contract (shared/DESIGN.md, README
// "Commands"): every command returns one of these.
#pragma once

namespace sluice::cli {

inline constexpr int kExitOk = 0;       // success
inline constexpr int kExitRuntime = 1;  // runtime failure
inline constexpr int kExitUsage = 2;    // bad command line or configuration

}  // namespace sluice::cli
