// JsonTree against RapidJSON's validating reader as the reference: the same
// texts are accepted, and an accepted text reads back as the same values
// (compact re-serialisation, numbers as their source text). Inputs are the
// data files, random mutations of them, and hand-picked edge cases.
#include "decode/json_tree.h"

#include <gtest/gtest.h>
#include <rapidjson/reader.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace sluice {
namespace {

namespace fs = std::filesystem;

// Writes what RapidJSON reads in the form JsonTree::write produces.
class CompactWriter : public rapidjson::BaseReaderHandler<rapidjson::UTF8<>, CompactWriter> {
 public:
  std::string out;

  bool Null() { return value("null"); }
  bool Bool(bool b) { return value(b ? "true" : "false"); }
  bool RawNumber(const char* str, rapidjson::SizeType length, bool) { return value(std::string_view(str, length)); }
  bool String(const char* str, rapidjson::SizeType length, bool) {
    comma();
    write_json_string(std::string_view(str, length), out);
    after_value();
    return true;
  }
  bool Key(const char* str, rapidjson::SizeType length, bool) {
    comma();
    write_json_string(std::string_view(str, length), out);
    out += ':';
    key_pending_ = true;
    return true;
  }
  bool StartObject() { return open('{'); }
  bool EndObject(rapidjson::SizeType) { return close('}'); }
  bool StartArray() { return open('['); }
  bool EndArray(rapidjson::SizeType) { return close(']'); }
  bool Default() { return false; }

 private:
  void comma() {
    if (key_pending_) {
      key_pending_ = false;
      return;
    }
    if (!first_.empty()) {
      if (!first_.back()) out += ',';
      first_.back() = false;
    }
  }
  void after_value() {}
  bool value(std::string_view text) {
    comma();
    out += text;
    return true;
  }
  bool open(char c) {
    comma();
    out += c;
    first_.push_back(true);
    return true;
  }
  bool close(char c) {
    out += c;
    first_.pop_back();
    return true;
  }
  std::vector<bool> first_;
  bool key_pending_ = false;
};

struct Reference {
  bool ok = false;
  // RapidJSON refuses numbers beyond double's range even when it keeps their
  // text; they are valid JSON, and JsonTree keeps them (the decoder checks each
  // number against its field's type).
  bool number_too_big = false;
  std::string compact;
};

Reference reference(const std::string& json) {
  constexpr unsigned kFlags =
      rapidjson::kParseNumbersAsStringsFlag | rapidjson::kParseValidateEncodingFlag | rapidjson::kParseIterativeFlag;
  rapidjson::Reader reader;
  CompactWriter writer;
  rapidjson::MemoryStream memory(json.data(), json.size());
  rapidjson::EncodedInputStream<rapidjson::UTF8<>, rapidjson::MemoryStream> stream(memory);
  Reference r;
  rapidjson::ParseResult result = reader.Parse<kFlags>(stream, writer);
  r.ok = !result.IsError();
  r.number_too_big = result.Code() == rapidjson::kParseErrorNumberTooBig;
  r.compact = std::move(writer.out);
  return r;
}

// RapidJSON takes a lone \uDC00..\uDFFF and writes it out as invalid UTF-8;
// JsonTree refuses it. Such inputs are compared only where both agree.
bool has_unicode_escape(const std::string& json) { return json.find("\\u") != std::string::npos; }

void expect_same(const std::string& json, const std::string& label) {
  JsonTree tree;
  Status st = tree.parse(json, 1000, "value");
  Reference ref = reference(json);
  // RapidJSON stops at a NUL byte and accepts what came before it.
  if (json.find('\0') != std::string::npos) {
    EXPECT_FALSE(st.ok()) << label;
    return;
  }
  if (has_unicode_escape(json) && st.ok() != ref.ok) {
    EXPECT_FALSE(st.ok()) << label;
    EXPECT_NE(st.error().message.find("surrogate"), std::string::npos) << label << ": " << st.error().message;
    return;
  }
  if (ref.number_too_big) return;
  ASSERT_EQ(st.ok(), ref.ok) << label << ": " << (st.ok() ? "accepted" : st.error().message) << "\n" << json;
  if (!st.ok()) {
    EXPECT_TRUE(st.error().reason == "malformed_json" || st.error().reason == "invalid_utf8") << st.error().reason;
    return;
  }
  std::string compact;
  tree.write(tree.root(), compact);
  EXPECT_EQ(compact, ref.compact) << label;
}

TEST(JsonTree, EdgeCases) {
  const char* cases[] = {
      "0", "-0", "-", "01", "1.", "1.5e", "1e+5", "1E-0", "-1.25e10", ".5", "+1", "[1,]", "{\"a\":1,}", "[,1]",
      "{\"a\"}", "{\"a\":}", "{a:1}", "[1 2]", "tru", "true", "nul", "null", "falsey", "  [ ]  ", "{ }", "[[[]]]",
      "\"\\u00e9\\ud83d\\ude00\"", "\"\\ud83d\"", "\"\\ude00\"", "\"\\ud83dx\"", "\"\\u12\"", "\"\\x\"", "\"a\tb\"",
      "\"a\\tb\\\"\\\\\\/\\b\\f\\n\\r\"", "\"\xc3\xa9\"", "\"\xc3\"", "\"\xe2\x82\"", "\"\xed\xa0\x80\"",
      "\"\xf4\x90\x80\x80\"", "\"\xc0\xaf\"", "\"unterminated", "[\"a\",\"b\\n\",{\"k\\\"\":[null,true]}]", "",
      "   ", "1 2", "{\"a\":1}x", "[1]]", "{\"a\":[1}", "\"0123456789abcdef0123456789\\\"abcdef\"",
      "\"0123456789abcdef0123456789\xff\"", "\"0123456789abcdef01234567\x01\""};
  for (const char* json : cases) expect_same(json, json);
}

TEST(JsonTree, NestingLimit) {
  JsonTree tree;
  EXPECT_TRUE(tree.parse("[[[]]]", 3, "v").ok());
  Status st = tree.parse("[[[[]]]]", 3, "v");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().reason, "nesting_too_deep");
}

TEST(JsonTree, EscapedStringsStayValid) {
  // Views into the unescape buffer must survive later strings of the same parse.
  std::string json = "[";
  for (int i = 0; i < 200; ++i) json += std::string(i ? "," : "") + "\"s\\n" + std::to_string(i) + "\"";
  json += "]";
  JsonTree tree;
  ASSERT_TRUE(tree.parse(json, 10, "v").ok());
  for (uint32_t i = 1; i <= 200; ++i) EXPECT_EQ(tree.node(i).text, "s\n" + std::to_string(i - 1));
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(JsonTree, DataFilesAndMutationsMatchTheReference) {
  uint32_t seed = 20261202;
  std::cout << "mutation seed " << seed << "\n";
  std::mt19937 rng(seed);
  const char kInteresting[] = "{}[]\":,\\0-.eEu \x80\xff\x01";
  for (const auto& entry : fs::directory_iterator(SLUICE_DEBEZIUM_DATA_DIR)) {
    if (entry.path().extension() != ".json") continue;
    std::string json = read_file(entry.path());
    expect_same(json, entry.path().filename().string());
    for (int round = 0; round < 100 && !json.empty(); ++round) {
      std::string mutated = json;
      int edits = 1 + static_cast<int>(rng() % 3);
      for (int e = 0; e < edits && !mutated.empty(); ++e) {
        size_t at = rng() % mutated.size();
        switch (rng() % 3) {
          case 0: mutated[at] = kInteresting[rng() % (sizeof(kInteresting) - 1)]; break;
          case 1: mutated.erase(at, 1 + rng() % 4); break;
          default: mutated.insert(at, 1, kInteresting[rng() % (sizeof(kInteresting) - 1)]); break;
        }
      }
      expect_same(mutated, entry.path().filename().string() + " round " + std::to_string(round));
    }
  }
}

}  // namespace
}  // namespace sluice
