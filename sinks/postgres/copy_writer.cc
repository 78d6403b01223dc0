#include "sinks/postgres/copy_writer.h"

#include <cstddef>
#include <cstdint>

namespace sluice::pg {

void CopyWriter::separator() {
  if (!first_in_row_) data_ += '\t';
  first_in_row_ = false;
}

void CopyWriter::text(std::string_view value) {
  separator();
  // Runs without special characters are appended whole.
  size_t run = 0;
  for (size_t i = 0; i < value.size(); ++i) {
    const char* escape = nullptr;
    switch (value[i]) {
      case '\\': escape = "\\\\"; break;
      case '\t': escape = "\\t"; break;
      case '\n': escape = "\\n"; break;
      case '\r': escape = "\\r"; break;
      default: continue;
    }
    data_.append(value.data() + run, i - run);
    data_.append(escape, 2);
    run = i + 1;
  }
  data_.append(value.data() + run, value.size() - run);
}

namespace {

constexpr char kHex[] = "0123456789abcdef";

// Writes the hex digits of `value` at `out`, which has room for them.
void write_hex(std::string_view value, char* out) {
  for (char c : value) {
    auto byte = static_cast<unsigned char>(c);
    *out++ = kHex[byte >> 4];
    *out++ = kHex[byte & 0xf];
  }
}

}  // namespace

void CopyWriter::bytes(std::string_view value) {
  separator();
  size_t at = data_.size();
  data_.resize(at + 3 + 2 * value.size());
  char* out = data_.data() + at;
  *out++ = '\\';
  *out++ = '\\';
  *out++ = 'x';
  write_hex(value, out);
}

void CopyWriter::hex(std::string_view value) {
  separator();
  size_t at = data_.size();
  data_.resize(at + 2 * value.size());
  write_hex(value, data_.data() + at);
}

void CopyWriter::null() {
  separator();
  data_ += "\\N";
}

void CopyWriter::end_row() {
  data_ += '\n';
  ++rows_;
  first_in_row_ = true;
}

namespace {

// A small recursive-descent reader for the JSON the decoder produced. Depth is
// bounded so hostile input cannot exhaust the stack.
class ArrayConverter {
 public:
  explicit ArrayConverter(std::string_view json) : in_(json) {}

  bool convert(std::string& out) {
    skip_space();
    if (!array(out, 0)) return false;
    skip_space();
    return at_ == in_.size();
  }

 private:
  static constexpr int kMaxDepth = 64;

  void skip_space() {
    while (at_ < in_.size() && (in_[at_] == ' ' || in_[at_] == '\n' || in_[at_] == '\t' || in_[at_] == '\r')) ++at_;
  }

  bool array(std::string& out, int depth) {
    if (depth > kMaxDepth || at_ >= in_.size() || in_[at_] != '[') return false;
    ++at_;
    out += '{';
    skip_space();
    if (at_ < in_.size() && in_[at_] == ']') {
      ++at_;
      out += '}';
      return true;
    }
    while (true) {
      skip_space();
      if (!element(out, depth)) return false;
      skip_space();
      if (at_ >= in_.size()) return false;
      if (in_[at_] == ',') {
        ++at_;
        out += ',';
        continue;
      }
      if (in_[at_] == ']') {
        ++at_;
        out += '}';
        return true;
      }
      return false;
    }
  }

  static void quoted(std::string& out, std::string_view value) {
    out += '"';
    for (char c : value) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }

  bool element(std::string& out, int depth) {
    if (at_ >= in_.size()) return false;
    char c = in_[at_];
    if (c == '[') return array(out, depth + 1);
    if (c == '"') {
      std::string value;
      if (!string(value)) return false;
      quoted(out, value);
      return true;
    }
    if (c == '{') {
      size_t start = at_;
      if (!skip_value(depth + 1)) return false;
      quoted(out, in_.substr(start, at_ - start));
      return true;
    }
    size_t start = at_;
    while (at_ < in_.size() && in_[at_] != ',' && in_[at_] != ']' && in_[at_] != ' ' && in_[at_] != '\n' &&
           in_[at_] != '\t' && in_[at_] != '\r') {
      ++at_;
    }
    std::string_view token = in_.substr(start, at_ - start);
    if (token.empty()) return false;
    if (token == "null") {
      out += "NULL";
    } else {
      quoted(out, token);
    }
    return true;
  }

  // Reads a JSON string, decoding escapes into UTF-8.
  bool string(std::string& value) {
    ++at_;
    while (at_ < in_.size()) {
      char c = in_[at_++];
      if (c == '"') return true;
      if (c != '\\') {
        value += c;
        continue;
      }
      if (at_ >= in_.size()) return false;
      char e = in_[at_++];
      switch (e) {
        case '"': value += '"'; break;
        case '\\': value += '\\'; break;
        case '/': value += '/'; break;
        case 'b': value += '\b'; break;
        case 'f': value += '\f'; break;
        case 'n': value += '\n'; break;
        case 'r': value += '\r'; break;
        case 't': value += '\t'; break;
        case 'u': {
          uint32_t code = 0;
          if (!hex4(code)) return false;
          if (code >= 0xD800 && code < 0xDC00) {
            uint32_t low = 0;
            if (at_ + 1 >= in_.size() || in_[at_] != '\\' || in_[at_ + 1] != 'u') return false;
            at_ += 2;
            if (!hex4(low) || low < 0xDC00 || low > 0xDFFF) return false;
            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
          }
          utf8(value, code);
          break;
        }
        default: return false;
      }
    }
    return false;
  }

  bool hex4(uint32_t& code) {
    if (at_ + 4 > in_.size()) return false;
    for (int i = 0; i < 4; ++i) {
      char h = in_[at_++];
      code <<= 4;
      if (h >= '0' && h <= '9') code |= static_cast<uint32_t>(h - '0');
      else if (h >= 'a' && h <= 'f') code |= static_cast<uint32_t>(h - 'a' + 10);
      else if (h >= 'A' && h <= 'F') code |= static_cast<uint32_t>(h - 'A' + 10);
      else return false;
    }
    return true;
  }

  static void utf8(std::string& out, uint32_t code) {
    if (code < 0x80) {
      out += static_cast<char>(code);
    } else if (code < 0x800) {
      out += static_cast<char>(0xC0 | (code >> 6));
      out += static_cast<char>(0x80 | (code & 0x3F));
    } else if (code < 0x10000) {
      out += static_cast<char>(0xE0 | (code >> 12));
      out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (code & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (code >> 18));
      out += static_cast<char>(0x80 | ((code >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (code & 0x3F));
    }
  }

  // Skips one object or array (strings inside may hold brackets).
  bool skip_value(int depth) {
    if (depth > kMaxDepth) return false;
    int nesting = 0;
    while (at_ < in_.size()) {
      char c = in_[at_];
      if (c == '"') {
        std::string ignored;
        if (!string(ignored)) return false;
        continue;
      }
      ++at_;
      if (c == '{' || c == '[') ++nesting;
      if (c == '}' || c == ']') {
        if (--nesting == 0) return true;
      }
    }
    return false;
  }

  std::string_view in_;
  size_t at_ = 0;
};

}  // namespace

std::optional<std::string> pg_array_literal_from_json(std::string_view json) {
  std::string out;
  ArrayConverter converter(json);
  if (!converter.convert(out)) return std::nullopt;
  return out;
}

}  // namespace sluice::pg
