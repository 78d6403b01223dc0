// What check-config prints: the effective configuration never shows a password,
// not even one written into connection.url; a misspelt key gets a suggestion.
#include <gtest/gtest.h>

#include <string>

#include "sluice/config.h"

namespace sluice {
namespace {

constexpr const char* kRest =
    "topics = a\n"
    "kafka.bootstrap.servers = 127.0.0.1:9092\n"
    "errors.deadletterqueue.topic.name = dlq\n";

std::string effective(const std::string& key, const std::string& text) {
  auto config = parse_config_text(std::string(kRest) + text);
  EXPECT_TRUE(config) << config.error().message;
  if (!config) return "";
  for (const auto& [name, value] : config->effective) {
    if (name == key) return value;
  }
  return "<absent>";
}

TEST(EffectiveConfig, PasswordsInsideConnectionUrlAreMasked) {
  EXPECT_EQ(effective("connection.url", "connection.url = postgresql://app:pa55@db:5432/shop?sslmode=verify-full\n"),
            "postgresql://app:******@db:5432/shop?sslmode=verify-full");
  EXPECT_EQ(effective("connection.url", "connection.url = jdbc:postgresql://db/shop?user=app&password=pa55&ssl=true\n"),
            "jdbc:postgresql://db/shop?user=app&password=******&ssl=true");
  EXPECT_EQ(effective("connection.url", "connection.url = host=db dbname=shop password='pa 55' user=app\n"),
            "host=db dbname=shop password=****** user=app");
  EXPECT_EQ(effective("connection.url", "connection.url = postgresql://app@db/shop\n"), "postgresql://app@db/shop");
  EXPECT_EQ(effective("connection.password", "connection.url = postgresql://db/shop\nconnection.password = pa55\n"),
            "******");
}

TEST(EffectiveConfig, AMisspeltKeySuggestsTheKnownOne) {
  auto config = parse_config_text(std::string(kRest) + "connection.url = postgresql://db/shop\nbatch.sise = 3\n");
  ASSERT_FALSE(config);
  EXPECT_NE(config.error().message.find("batch.sise: unknown key (did you mean batch.size?)"), std::string::npos)
      << config.error().message;
  auto far = parse_config_text(std::string(kRest) + "connection.url = postgresql://db/shop\nfrobnicate = 3\n");
  ASSERT_FALSE(far);
  EXPECT_NE(far.error().message.find("frobnicate: unknown key (see README"), std::string::npos) << far.error().message;
}

}  // namespace
}  // namespace sluice
