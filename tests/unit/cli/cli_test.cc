// The executable's contract: --version, --help, exit codes.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <memory>
#include <string>

#include "tests/support/test_services.h"

namespace {

struct Outcome {
  int exit_code;
  std::string output;
};

Outcome run_sluice(const std::string& args) {
  std::string command = sluice::testing::executable_path("sluice") + " " + args + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  std::string output;
  std::array<char, 4096> buffer;
  while (size_t n = fread(buffer.data(), 1, buffer.size(), pipe)) output.append(buffer.data(), n);
  int status = pclose(pipe);
  return {WEXITSTATUS(status), output};
}

TEST(Cli, Version) {
  auto outcome = run_sluice("--version");
  EXPECT_EQ(outcome.exit_code, 0);
  EXPECT_EQ(outcome.output.rfind("sluice ", 0), 0u) << outcome.output;
}

TEST(Cli, HelpListsCommandsAndKeys) {
  auto outcome = run_sluice("--help");
  EXPECT_EQ(outcome.exit_code, 0);
  for (const char* expected : {"sluice run", "sluice replay", "sluice dlq stats", "sluice check-config",
                               "insert.mode", "errors.deadletterqueue.topic.name"}) {
    EXPECT_NE(outcome.output.find(expected), std::string::npos) << expected;
  }
}

TEST(Cli, BadCommandLineExitsTwo) {
  EXPECT_EQ(run_sluice("frobnicate").exit_code, 2);
  EXPECT_EQ(run_sluice("run").exit_code, 2);
}

TEST(Cli, BadConfigurationExitsTwoNamingTheKey) {
  std::string path = ::testing::TempDir() + "/bad.properties";
  FILE* f = fopen(path.c_str(), "w");
  fputs("topics = a\nconnection.url = x\nkafka.bootstrap.servers = b\nerrors.tolerance = none\nbatch.sise = 3\n", f);
  fclose(f);
  auto outcome = run_sluice("check-config --config " + path);
  EXPECT_EQ(outcome.exit_code, 2);
  EXPECT_NE(outcome.output.find("batch.sise: unknown key"), std::string::npos) << outcome.output;
}

}  // namespace
