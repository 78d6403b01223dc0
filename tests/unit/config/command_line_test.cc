#include "config/command_line.h"

#include <gtest/gtest.h>

namespace sluice {
namespace {

std::variant<CommandLine, CommandLineError> parse(std::vector<const char*> args) {
  args.insert(args.begin(), "sluice");
  return parse_command_line(static_cast<int>(args.size()), args.data());
}

TEST(CommandLine, RunWithOverridesAndUntilCaughtUp) {
  auto parsed = parse({"run", "--config", "f.properties", "--set", "batch.size=5", "--set", "topics=a,b",
                       "--until-caught-up"});
  ASSERT_TRUE(std::holds_alternative<CommandLine>(parsed));
  const auto& cl = std::get<CommandLine>(parsed);
  EXPECT_EQ(cl.command, Command::kRun);
  EXPECT_EQ(cl.sources.file, "f.properties");
  ASSERT_EQ(cl.sources.overrides.size(), 2u);
  EXPECT_EQ(cl.sources.overrides[1].second, "a,b");
  EXPECT_TRUE(cl.until_caught_up);
}

TEST(CommandLine, DlqStatsNeedsTopic) {
  auto parsed = parse({"dlq", "stats", "--config", "f"});
  ASSERT_TRUE(std::holds_alternative<CommandLineError>(parsed));
  EXPECT_NE(std::get<CommandLineError>(parsed).message.find("--topic"), std::string::npos);
}

TEST(CommandLine, ReplayFilters) {
  auto parsed = parse({"replay", "--config", "f", "--from", "dlq", "--stage", "validate", "--table", "orders"});
  ASSERT_TRUE(std::holds_alternative<CommandLine>(parsed));
  const auto& cl = std::get<CommandLine>(parsed);
  EXPECT_EQ(cl.dlq_topic, "dlq");
  EXPECT_EQ(cl.filters.stage, "validate");
  EXPECT_EQ(cl.filters.table, "orders");
}

TEST(CommandLine, UnknownCommandAndBadSetAreErrors) {
  EXPECT_TRUE(std::holds_alternative<CommandLineError>(parse({"frobnicate"})));
  EXPECT_TRUE(std::holds_alternative<CommandLineError>(parse({"run", "--config", "f", "--set", "novalue"})));
  EXPECT_TRUE(std::holds_alternative<CommandLineError>(parse({"run", "--config", "f", "--bogus"})));
  EXPECT_TRUE(std::holds_alternative<CommandLineError>(parse({"run"})));
}

TEST(CommandLine, CommandHelp) {
  auto parsed = parse({"replay", "--help"});
  ASSERT_TRUE(std::holds_alternative<CommandLine>(parsed));
  EXPECT_EQ(std::get<CommandLine>(parsed).command, Command::kHelp);
  EXPECT_EQ(std::get<CommandLine>(parsed).help_topic, "replay");
  EXPECT_NE(usage_text("replay").find("--from"), std::string::npos);
}

}  // namespace
}  // namespace sluice
