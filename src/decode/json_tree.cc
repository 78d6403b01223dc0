#include "decode/json_tree.h"

// SSE2 is part of x86-64; RapidJSON then scans strings 16 bytes at a time.
#if defined(__SSE2__) && !defined(RAPIDJSON_SSE2)
#define RAPIDJSON_SSE2
#endif
#include <rapidjson/error/en.h>
#include <rapidjson/reader.h>

#include <cstring>
#include <string>

namespace sluice {
namespace {

class TreeBuilder : public rapidjson::BaseReaderHandler<rapidjson::UTF8<>, TreeBuilder> {
 public:
  TreeBuilder(JsonTree& tree, int max_depth) : nodes_(tree.nodes()), open_(tree.open()), max_depth_(max_depth) {}

  bool too_deep() const { return too_deep_; }

  bool Null() { return scalar(JsonKind::kNull, {}); }
  bool Bool(bool b) { return scalar(b ? JsonKind::kTrue : JsonKind::kFalse, {}); }
  bool RawNumber(const char* str, rapidjson::SizeType length, bool /*copy*/) {
    return scalar(JsonKind::kNumber, std::string_view(str, length));
  }
  bool String(const char* str, rapidjson::SizeType length, bool /*copy*/) {
    return scalar(JsonKind::kString, std::string_view(str, length));
  }
  bool Key(const char* str, rapidjson::SizeType length, bool copy) { return String(str, length, copy); }
  bool StartObject() { return start(JsonKind::kObject); }
  bool EndObject(rapidjson::SizeType) { return finish(); }
  bool StartArray() { return start(JsonKind::kArray); }
  bool EndArray(rapidjson::SizeType) { return finish(); }
  // Not called with kParseNumbersAsStringsFlag; required by the interface.
  bool Default() { return false; }

 private:
  bool scalar(JsonKind kind, std::string_view text) {
    auto index = static_cast<uint32_t>(nodes_.size());
    nodes_.push_back(JsonNode{kind, index + 1, text});
    return true;
  }
  bool start(JsonKind kind) {
    if (static_cast<int>(open_.size()) >= max_depth_) {
      too_deep_ = true;
      return false;
    }
    open_.push_back(static_cast<uint32_t>(nodes_.size()));
    nodes_.push_back(JsonNode{kind, 0, {}});
    return true;
  }
  bool finish() {
    nodes_[open_.back()].end = static_cast<uint32_t>(nodes_.size());
    open_.pop_back();
    return true;
  }

  std::vector<JsonNode>& nodes_;
  std::vector<uint32_t>& open_;
  int max_depth_;
  bool too_deep_ = false;
};

// UTF-8 is validated up front by find_invalid_utf8 (much faster than
// RapidJSON's per-character validation), so kParseValidateEncodingFlag is off.
constexpr unsigned kParseFlags =
    rapidjson::kParseInsituFlag | rapidjson::kParseIterativeFlag | rapidjson::kParseNumbersAsStringsFlag;

}  // namespace

struct JsonTree::Reader {
  rapidjson::Reader reader;
};

size_t find_invalid_utf8(std::string_view text) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  size_t i = 0;
  while (i < n) {
    // ASCII fast path: 8 bytes at a time.
    if (i + 8 <= n) {
      uint64_t word;
      std::memcpy(&word, p + i, 8);
      if ((word & 0x8080808080808080ULL) == 0) {
        i += 8;
        continue;
      }
    }
    unsigned char c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    uint32_t cp;
    if ((c & 0xe0) == 0xc0) {
      len = 2;
      cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      len = 3;
      cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return i;
    }
    if (i + len > n) return i;
    for (size_t k = 1; k < len; ++k) {
      if ((p[i + k] & 0xc0) != 0x80) return i;
      cp = (cp << 6) | (p[i + k] & 0x3f);
    }
    static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += len;
  }
  return std::string_view::npos;
}

Status JsonTree::parse(std::string_view json, int max_depth, std::string_view what) {
  nodes_.clear();
  open_.clear();
  if (size_t bad = find_invalid_utf8(json); bad != std::string_view::npos) {
    return Error::record("invalid_utf8", std::string(what) + ": invalid UTF-8 at byte " + std::to_string(bad));
  }
  buffer_.assign(json.data(), json.size());
  // RapidJSON's SSE2 string scan loads aligned 16-byte blocks that may extend
  // past the terminating NUL; keep them inside the buffer.
  buffer_.append(16, '\0');
  TreeBuilder builder(*this, max_depth);
  rapidjson::InsituStringStream stream(buffer_.data());
  if (!reader_) reader_ = std::make_shared<Reader>();
  rapidjson::ParseResult result = reader_->reader.Parse<kParseFlags>(stream, builder);
  if (!result) {
    if (builder.too_deep()) {
      return Error::record("nesting_too_deep", std::string(what) + ": JSON nesting deeper than " +
                                                   std::to_string(max_depth) + " levels at byte " +
                                                   std::to_string(result.Offset()));
    }
    if (result.Code() == rapidjson::kParseErrorStringInvalidEncoding) {
      return Error::record("invalid_utf8", std::string(what) + ": invalid UTF-8 in a string at byte " +
                                               std::to_string(result.Offset()));
    }
    return Error::record("malformed_json", std::string(what) + ": malformed JSON at byte " +
                                               std::to_string(result.Offset()) + ": " +
                                               rapidjson::GetParseError_En(result.Code()));
  }
  // The stream stops at the terminating NUL; an embedded NUL ends parsing early.
  if (stream.Tell() < json.size()) {
    return Error::record("malformed_json", std::string(what) + ": malformed JSON at byte " +
                                               std::to_string(stream.Tell()) + ": unexpected NUL character");
  }
  if (nodes_.empty()) return Error::record("malformed_json", std::string(what) + ": empty JSON text");
  return {};
}

uint32_t JsonTree::find(uint32_t object, std::string_view key) const {
  const JsonNode& obj = nodes_[object];
  if (obj.kind != JsonKind::kObject) return kNone;
  for (uint32_t i = object + 1; i < obj.end; i = nodes_[i + 1].end) {
    if (nodes_[i].text == key) return i + 1;
  }
  return kNone;
}

void write_json_string(std::string_view text, std::string& out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (u < 0x20) {
      switch (c) {
        case '\n': out += "\\n"; break;
        case '\t': out += "\\t"; break;
        case '\r': out += "\\r"; break;
        case '\b': out += "\\b"; break;
        case '\f': out += "\\f"; break;
        default:
          out += "\\u00";
          out.push_back(kHex[u >> 4]);
          out.push_back(kHex[u & 15]);
      }
    } else {
      out.push_back(c);
    }
  }
  out.push_back('"');
}

void JsonTree::write(uint32_t index, std::string& out) const {
  struct Frame {
    uint32_t end;
    bool object;
    bool first;
    bool expect_key;
  };
  std::vector<Frame> stack;  // iterative: depth is bounded only by the parse limit
  const uint32_t stop = nodes_[index].end;
  uint32_t i = index;
  for (;;) {
    while (!stack.empty() && i == stack.back().end) {
      out.push_back(stack.back().object ? '}' : ']');
      stack.pop_back();
    }
    if (i >= stop) break;
    const JsonNode& n = nodes_[i];
    if (!stack.empty()) {
      Frame& f = stack.back();
      if (f.object && f.expect_key) {
        if (!f.first) out.push_back(',');
        f.first = false;
        write_json_string(n.text, out);
        out.push_back(':');
        f.expect_key = false;
        ++i;
        continue;
      }
      if (f.object) {
        f.expect_key = true;
      } else {
        if (!f.first) out.push_back(',');
        f.first = false;
      }
    }
    switch (n.kind) {
      case JsonKind::kNull: out += "null"; break;
      case JsonKind::kFalse: out += "false"; break;
      case JsonKind::kTrue: out += "true"; break;
      case JsonKind::kNumber: out += n.text; break;
      case JsonKind::kString: write_json_string(n.text, out); break;
      case JsonKind::kObject:
        out.push_back('{');
        stack.push_back(Frame{n.end, true, true, true});
        break;
      case JsonKind::kArray:
        out.push_back('[');
        stack.push_back(Frame{n.end, false, true, false});
        break;
    }
    ++i;
  }
}

}  // namespace sluice
