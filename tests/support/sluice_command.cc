#include "tests/support/sluice_command.h"

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>

#include "tests/support/test_services.h"

namespace sluice::testing {

std::string write_config(const std::string& properties) {
  std::string path = (std::filesystem::temp_directory_path() / (unique_name("sluice_config") + ".properties")).string();
  std::ofstream(path) << properties;
  return path;
}

RunResult run_sluice(const std::string& args, const std::string& config_text) {
  std::string path = write_config(config_text);
  std::string command = "timeout 120 " + executable_path("sluice") + " " + args + " --config " + path + " 2>&1";
  RunResult result;
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(::popen(command.c_str(), "r"), ::pclose);
  std::array<char, 4096> buffer;
  size_t n;
  while ((n = std::fread(buffer.data(), 1, buffer.size(), pipe.get())) > 0) result.output.append(buffer.data(), n);
  int status = ::pclose(pipe.release());
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::filesystem::remove(path);
  return result;
}

}  // namespace sluice::testing
