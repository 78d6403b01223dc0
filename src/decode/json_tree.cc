#include "decode/json_tree.h"

#include <cstring>
#include <string>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace sluice {
namespace {

bool is_space(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Length of the valid UTF-8 sequence at `p` (first byte >= 0x80), or 0.
size_t utf8_sequence(const unsigned char* p, const unsigned char* end) {
  unsigned char c = p[0];
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
    return 0;
  }
  if (static_cast<size_t>(end - p) < len) return 0;
  for (size_t k = 1; k < len; ++k) {
    if ((p[k] & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (p[k] & 0x3f);
  }
  static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMin[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
  return len;
}

void append_utf8(char*& out, uint32_t code) {
  if (code < 0x80) {
    *out++ = static_cast<char>(code);
  } else if (code < 0x800) {
    *out++ = static_cast<char>(0xc0 | (code >> 6));
    *out++ = static_cast<char>(0x80 | (code & 0x3f));
  } else if (code < 0x10000) {
    *out++ = static_cast<char>(0xe0 | (code >> 12));
    *out++ = static_cast<char>(0x80 | ((code >> 6) & 0x3f));
    *out++ = static_cast<char>(0x80 | (code & 0x3f));
  } else {
    *out++ = static_cast<char>(0xf0 | (code >> 18));
    *out++ = static_cast<char>(0x80 | ((code >> 12) & 0x3f));
    *out++ = static_cast<char>(0x80 | ((code >> 6) & 0x3f));
    *out++ = static_cast<char>(0x80 | (code & 0x3f));
  }
}

}  // namespace

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
    size_t len = utf8_sequence(p + i, p + n);
    if (len == 0) return i;
    i += len;
  }
  return std::string_view::npos;
}

// One parse: a loop over values with an explicit stack of open containers
// (JsonTree::open_), so the depth of the input costs heap, not stack.
class JsonTree::Parser {
 public:
  Parser(JsonTree& tree, std::string_view json, int max_depth)
      : tree_(tree), begin_(json.data()), p_(json.data()), end_(json.data() + json.size()), max_depth_(max_depth) {}

  // Empty on success, otherwise what went wrong; offset() tells where.
  const char* run();
  size_t offset() const { return static_cast<size_t>(p_ - begin_); }
  bool too_deep() const { return too_deep_; }

 private:
  void skip_space() {
    while (p_ < end_ && is_space(*p_)) ++p_;
  }
  void add(JsonKind kind, std::string_view text) {
    auto index = static_cast<uint32_t>(tree_.nodes_.size());
    tree_.nodes_.push_back(JsonNode{kind, index + 1, text});
  }
  const char* literal(std::string_view word, JsonKind kind) {
    if (static_cast<size_t>(end_ - p_) < word.size() || std::memcmp(p_, word.data(), word.size()) != 0) {
      return "invalid value";
    }
    add(kind, {});
    p_ += word.size();
    return nullptr;
  }
  const char* number();
  const char* string();
  const char* escaped_string(const char* start, const char* plain_end);

  JsonTree& tree_;
  const char* begin_;
  const char* p_;
  const char* end_;
  int max_depth_;
  bool too_deep_ = false;
  char* out_ = nullptr;  // next free byte of tree_.unescaped_
};

const char* JsonTree::Parser::number() {
  const char* start = p_;
  if (*p_ == '-') ++p_;
  if (p_ < end_ && *p_ == '0') {
    ++p_;
  } else if (p_ < end_ && *p_ >= '1' && *p_ <= '9') {
    while (p_ < end_ && *p_ >= '0' && *p_ <= '9') ++p_;
  } else {
    return "invalid number";
  }
  if (p_ < end_ && *p_ == '.') {
    ++p_;
    if (p_ >= end_ || *p_ < '0' || *p_ > '9') return "missing fraction digits in a number";
    while (p_ < end_ && *p_ >= '0' && *p_ <= '9') ++p_;
  }
  if (p_ < end_ && (*p_ == 'e' || *p_ == 'E')) {
    ++p_;
    if (p_ < end_ && (*p_ == '+' || *p_ == '-')) ++p_;
    if (p_ >= end_ || *p_ < '0' || *p_ > '9') return "missing exponent digits in a number";
    while (p_ < end_ && *p_ >= '0' && *p_ <= '9') ++p_;
  }
  add(JsonKind::kNumber, std::string_view(start, static_cast<size_t>(p_ - start)));
  return nullptr;
}

// `p_` at the opening quote. Plain runs are scanned 16 bytes at a time for the
// bytes that need a look: the quote, a backslash, control and non-ASCII bytes.
const char* JsonTree::Parser::string() {
  const char* start = ++p_;
  for (;;) {
#if defined(__SSE2__)
    const __m128i quote = _mm_set1_epi8('"');
    const __m128i backslash = _mm_set1_epi8('\\');
    const __m128i space = _mm_set1_epi8(0x20);
    while (end_ - p_ >= 16) {
      __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p_));
      // Signed compare: bytes >= 0x80 are negative, so they count as "< 0x20" too.
      __m128i special = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)),
                                     _mm_cmplt_epi8(v, space));
      int mask = _mm_movemask_epi8(special);
      if (mask != 0) {
        p_ += __builtin_ctz(static_cast<unsigned>(mask));
        break;
      }
      p_ += 16;
    }
#endif
    while (p_ < end_) {
      auto c = static_cast<unsigned char>(*p_);
      if (c == '"' || c == '\\' || c < 0x20 || c >= 0x80) break;
      ++p_;
    }
    if (p_ >= end_) return "missing closing quotation mark of a string";
    auto c = static_cast<unsigned char>(*p_);
    if (c == '"') {
      add(JsonKind::kString, std::string_view(start, static_cast<size_t>(p_ - start)));
      ++p_;
      return nullptr;
    }
    if (c == '\\') return escaped_string(start, p_);
    if (c < 0x20) return "control character in a string";
    size_t len = utf8_sequence(reinterpret_cast<const unsigned char*>(p_), reinterpret_cast<const unsigned char*>(end_));
    if (len == 0) return "invalid UTF-8 in a string";
    p_ += len;
  }
}

// The string from `start` has a backslash at `plain_end` (== p_): decode it
// into the tree's buffer, which holds the whole input's length, so views into
// it stay valid.
const char* JsonTree::Parser::escaped_string(const char* start, const char* plain_end) {
  if (out_ == nullptr) out_ = tree_.unescaped_.data();
  char* first = out_;
  std::memcpy(out_, start, static_cast<size_t>(plain_end - start));
  out_ += plain_end - start;
  while (p_ < end_) {
    auto c = static_cast<unsigned char>(*p_);
    if (c == '"') {
      add(JsonKind::kString, std::string_view(first, static_cast<size_t>(out_ - first)));
      ++p_;
      return nullptr;
    }
    if (c < 0x20) return "control character in a string";
    if (c >= 0x80) {
      size_t len =
          utf8_sequence(reinterpret_cast<const unsigned char*>(p_), reinterpret_cast<const unsigned char*>(end_));
      if (len == 0) return "invalid UTF-8 in a string";
      std::memcpy(out_, p_, len);
      out_ += len;
      p_ += len;
      continue;
    }
    if (c != '\\') {
      *out_++ = static_cast<char>(c);
      ++p_;
      continue;
    }
    if (end_ - p_ < 2) return "missing closing quotation mark of a string";
    char e = p_[1];
    p_ += 2;
    switch (e) {
      case '"': *out_++ = '"'; break;
      case '\\': *out_++ = '\\'; break;
      case '/': *out_++ = '/'; break;
      case 'b': *out_++ = '\b'; break;
      case 'f': *out_++ = '\f'; break;
      case 'n': *out_++ = '\n'; break;
      case 'r': *out_++ = '\r'; break;
      case 't': *out_++ = '\t'; break;
      case 'u': {
        auto hex4 = [&](uint32_t& code) {
          if (end_ - p_ < 4) return false;
          code = 0;
          for (int i = 0; i < 4; ++i) {
            int h = hex_value(p_[i]);
            if (h < 0) return false;
            code = (code << 4) | static_cast<uint32_t>(h);
          }
          p_ += 4;
          return true;
        };
        uint32_t code = 0;
        if (!hex4(code)) return "invalid \\u escape in a string";
        if (code >= 0xdc00 && code <= 0xdfff) return "unpaired surrogate in a \\u escape";
        if (code >= 0xd800 && code <= 0xdbff) {
          uint32_t low = 0;
          if (end_ - p_ < 2 || p_[0] != '\\' || p_[1] != 'u') return "unpaired surrogate in a \\u escape";
          p_ += 2;
          if (!hex4(low) || low < 0xdc00 || low > 0xdfff) return "unpaired surrogate in a \\u escape";
          code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00);
        }
        append_utf8(out_, code);
        break;
      }
      default: p_ -= 1; return "invalid escape in a string";
    }
  }
  return "missing closing quotation mark of a string";
}

const char* JsonTree::Parser::run() {
  std::vector<JsonNode>& nodes = tree_.nodes_;
  std::vector<uint32_t>& open = tree_.open_;
  for (;;) {
    // A value.
    skip_space();
    if (p_ >= end_) return nodes.empty() ? "the document is empty" : "unexpected end of the document";
    const char c = *p_;
    if (c == '{' || c == '[') {
      if (static_cast<int>(open.size()) >= max_depth_) {
        too_deep_ = true;
        return "nested too deeply";
      }
      open.push_back(static_cast<uint32_t>(nodes.size()));
      nodes.push_back(JsonNode{c == '{' ? JsonKind::kObject : JsonKind::kArray, 0, {}});
      ++p_;
      skip_space();
      if (p_ < end_ && *p_ == (c == '{' ? '}' : ']')) {
        ++p_;
        nodes[open.back()].end = static_cast<uint32_t>(nodes.size());
        open.pop_back();
      } else if (c == '{') {
        // The first member's key.
        if (p_ >= end_ || *p_ != '"') return "missing a name for an object member";
        if (const char* e = string()) return e;
        skip_space();
        if (p_ >= end_ || *p_ != ':') return "missing a colon after a name of an object member";
        ++p_;
        continue;
      } else {
        continue;
      }
    } else if (c == '"') {
      if (const char* e = string()) return e;
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      if (const char* e = number()) return e;
    } else if (c == 't') {
      if (const char* e = literal("true", JsonKind::kTrue)) return e;
    } else if (c == 'f') {
      if (const char* e = literal("false", JsonKind::kFalse)) return e;
    } else if (c == 'n') {
      if (const char* e = literal("null", JsonKind::kNull)) return e;
    } else {
      return "invalid value";
    }
    // After a complete value: the next member or element, or the end of containers.
    for (;;) {
      if (open.empty()) {
        skip_space();
        return p_ == end_ ? nullptr : "the document root must not be followed by other values";
      }
      skip_space();
      if (p_ >= end_) return "unexpected end of the document";
      JsonNode& container = nodes[open.back()];
      const bool object = container.kind == JsonKind::kObject;
      if (*p_ == (object ? '}' : ']')) {
        ++p_;
        container.end = static_cast<uint32_t>(nodes.size());
        open.pop_back();
        continue;
      }
      if (*p_ != ',') return object ? "missing a comma or '}' after an object member" : "missing a comma or ']' after an array element";
      ++p_;
      if (object) {
        skip_space();
        if (p_ >= end_ || *p_ != '"') return "missing a name for an object member";
        if (const char* e = string()) return e;
        skip_space();
        if (p_ >= end_ || *p_ != ':') return "missing a colon after a name of an object member";
        ++p_;
      }
      break;
    }
  }
}

Status JsonTree::parse(std::string_view json, int max_depth, std::string_view what) {
  nodes_.clear();
  open_.clear();
  // Unescaped text is never longer than its source, so this buffer never
  // grows during the parse and views into it stay valid.
  if (unescaped_.size() < json.size()) unescaped_.resize(json.size());
  Parser parser(*this, json, max_depth);
  const char* problem = parser.run();
  if (problem == nullptr) return {};
  // Invalid UTF-8 anywhere is reported as such, whatever else is wrong.
  if (size_t bad = find_invalid_utf8(json); bad != std::string_view::npos) {
    return Error::record("invalid_utf8", std::string(what) + ": invalid UTF-8 at byte " + std::to_string(bad));
  }
  if (parser.too_deep()) {
    return Error::record("nesting_too_deep", std::string(what) + ": JSON nesting deeper than " +
                                                 std::to_string(max_depth) + " levels at byte " +
                                                 std::to_string(parser.offset()));
  }
  return Error::record("malformed_json", std::string(what) + ": malformed JSON at byte " +
                                             std::to_string(parser.offset()) + ": " + problem);
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
