// log.format = json must produce valid JSON whatever the message holds, and the
// rate limiter must hold back floods without sleeping in tests.
#include "core/logging.h"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include "core/log_rate_limiter.h"

namespace sluice::logging {
namespace {

TEST(JsonEscape, EscapesQuotesBackslashesAndControlCharacters) {
  EXPECT_EQ(json_escape(R"(say "hi" \ bye)"), R"(say \"hi\" \\ bye)");
  EXPECT_EQ(json_escape("a\nb\tc\rd"), R"(a\nb\tc\rd)");
  EXPECT_EQ(json_escape(std::string("x\x01y\x1f", 4)), R"(x\u0001y\u001f)");
  EXPECT_EQ(json_escape(std::string("nul\0end", 7)), R"(nul\u0000end)");
}

TEST(JsonEscape, KeepsValidUtf8AndReplacesInvalidBytes) {
  EXPECT_EQ(json_escape("日本語 é 😀"), "日本語 é 😀");
  EXPECT_EQ(json_escape("bad \xff byte"), R"(bad \ufffd byte)");
  EXPECT_EQ(json_escape("overlong \xc0\xaf"), R"(overlong \ufffd\ufffd)");
  EXPECT_EQ(json_escape("cut \xe6\x97"), R"(cut \ufffd\ufffd)");
  EXPECT_EQ(json_escape("surrogate \xed\xa0\x80"), R"(surrogate \ufffd\ufffd\ufffd)");
}

TEST(JsonEscape, EveryByteStringBecomesAValidJsonString) {
  std::string all;
  for (int c = 0; c < 256; ++c) all += static_cast<char>(c);
  std::string document = "{\"message\":\"" + json_escape(all) + "\"}";
  rapidjson::Document parsed;
  parsed.Parse<rapidjson::kParseValidateEncodingFlag>(document.c_str());
  ASSERT_FALSE(parsed.HasParseError()) << document;
  EXPECT_TRUE(parsed["message"].IsString());
}

TEST(LogRateLimiter, LetsABurstThroughPerIntervalAndCountsTheRest) {
  LogRateLimiter::Clock::time_point now{};
  LogRateLimiter limiter(std::chrono::seconds(10), 2, [&now] { return now; });
  uint64_t suppressed = 99;
  EXPECT_TRUE(limiter.allow(suppressed));
  EXPECT_EQ(suppressed, 0u);
  EXPECT_TRUE(limiter.allow(suppressed));
  EXPECT_FALSE(limiter.allow(suppressed));
  EXPECT_FALSE(limiter.allow(suppressed));
  EXPECT_FALSE(limiter.allow(suppressed));
  now += std::chrono::seconds(10);
  EXPECT_TRUE(limiter.allow(suppressed));
  EXPECT_EQ(suppressed, 3u);
  EXPECT_TRUE(limiter.allow(suppressed));
  EXPECT_EQ(suppressed, 0u);
}

}  // namespace
}  // namespace sluice::logging
