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

TEST(CommandLine, ReplayFiltersTakeMillisecondsOrIsoTimes) {
  auto parsed = parse({"replay", "--config", "f", "--from", "orders.dlq", "--stage", "validate", "--reason", "min:",
                       "--source-topic", "orders", "--table", "public.orders", "--since", "1700000000000", "--until",
                       "2026-12-01T10:00:00Z", "--failed-since", "2026-12-01", "--failed-until",
                       "2026-12-01T11:00:00.5+01:00", "--until-caught-up"});
  ASSERT_TRUE(std::holds_alternative<CommandLine>(parsed)) << std::get<CommandLineError>(parsed).message;
  const auto& cl = std::get<CommandLine>(parsed);
  EXPECT_EQ(cl.dlq_topic, "orders.dlq");
  EXPECT_EQ(cl.filters.stage, "validate");
  EXPECT_EQ(cl.filters.reason_contains, "min:");
  EXPECT_EQ(cl.filters.source_topic, "orders");
  EXPECT_EQ(cl.filters.table, "public.orders");
  EXPECT_EQ(cl.filters.since_ms, 1700000000000);
  EXPECT_EQ(cl.filters.until_ms, 1796119200000);
  EXPECT_EQ(cl.filters.failed_since_ms, 1796083200000);
  EXPECT_EQ(cl.filters.failed_until_ms, 1796119200500);
  EXPECT_TRUE(cl.until_caught_up);
}

TEST(CommandLine, TimesThatAreNotTimesAreRejected) {
  for (const char* bad : {"yesterday", "2026-13-01", "2026-12-01T25:00", "2026-12-01T10:00:00Zjunk", "12ab"}) {
    EXPECT_EQ(parse_time_ms(bad), std::nullopt) << bad;
  }
  EXPECT_EQ(parse_time_ms("1969-12-31T23:59:59Z"), -1000);
  auto parsed = parse({"replay", "--config", "f", "--from", "d", "--since", "soon"});
  ASSERT_TRUE(std::holds_alternative<CommandLineError>(parsed));
  EXPECT_NE(std::get<CommandLineError>(parsed).message.find("--since 'soon' is not a time"), std::string::npos);
}

}  // namespace
}  // namespace sluice
