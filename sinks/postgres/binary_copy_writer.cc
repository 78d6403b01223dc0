#include "sinks/postgres/binary_copy_writer.h"

#include <charconv>
#include <cstdint>
#include <cstring>
#include <limits>

namespace sluice::pg {
namespace {

constexpr std::string_view kHeader{"PGCOPY\n\377\r\n\0\0\0\0\0\0\0\0\0", 19};
constexpr int64_t kMicrosPerSecond = 1'000'000;
constexpr int64_t kMicrosPerDay = 86'400 * kMicrosPerSecond;
// PostgreSQL counts days and microseconds from 2000-01-01.
constexpr int64_t kPostgresEpochDays = 10'957;  // 1970-01-01 to 2000-01-01

template <typename T>
void append_big_endian(std::string& out, T value) {
  using U = std::make_unsigned_t<T>;
  U bits = static_cast<U>(value);
  char bytes[sizeof(T)];
  for (size_t i = 0; i < sizeof(T); ++i) bytes[i] = static_cast<char>(bits >> (8 * (sizeof(T) - 1 - i)));
  out.append(bytes, sizeof(T));
}

// The value of `text` when it is all of an integer (no sign '+', no spaces).
template <typename T>
std::optional<T> whole_number(std::string_view text) {
  T value{};
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

// `count` digits at `at`, advancing it.
std::optional<int> digits(std::string_view text, size_t& at, size_t count) {
  if (at + count > text.size()) return std::nullopt;
  int value = 0;
  for (size_t i = 0; i < count; ++i) {
    char c = text[at + i];
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  at += count;
  return value;
}

bool take(std::string_view text, size_t& at, char c) {
  if (at >= text.size() || text[at] != c) return false;
  ++at;
  return true;
}

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

bool leap(int year) { return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0; }

// "YYYY-MM-DD" (years 0001-9999): days since 2000-01-01.
std::optional<int64_t> parse_date(std::string_view text, size_t& at) {
  auto year = digits(text, at, 4);
  if (!year || !take(text, at, '-')) return std::nullopt;
  auto month = digits(text, at, 2);
  if (!month || !take(text, at, '-')) return std::nullopt;
  auto day = digits(text, at, 2);
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (!day || *year < 1 || *month < 1 || *month > 12 || *day < 1) return std::nullopt;
  if (*day > kDays[*month - 1] + (*month == 2 && leap(*year) ? 1 : 0)) return std::nullopt;
  return days_from_civil(*year, static_cast<unsigned>(*month), static_cast<unsigned>(*day)) - kPostgresEpochDays;
}

// "HH:MM:SS" with up to six fractional digits: microseconds since midnight.
std::optional<int64_t> parse_time(std::string_view text, size_t& at) {
  auto hour = digits(text, at, 2);
  if (!hour || !take(text, at, ':')) return std::nullopt;
  auto minute = digits(text, at, 2);
  if (!minute || !take(text, at, ':')) return std::nullopt;
  auto second = digits(text, at, 2);
  if (!second || *hour > 23 || *minute > 59 || *second > 59) return std::nullopt;
  int64_t micros = ((*hour * 60 + *minute) * 60 + *second) * kMicrosPerSecond;
  if (take(text, at, '.')) {
    int64_t fraction = 0;
    size_t count = 0;
    while (at < text.size() && text[at] >= '0' && text[at] <= '9') {
      // Digits below the microsecond: zeros change nothing; others the
      // server would round, so they are left to it.
      if (++count > 6) {
        if (text[at++] != '0') return std::nullopt;
        continue;
      }
      fraction = fraction * 10 + (text[at++] - '0');
    }
    if (count == 0) return std::nullopt;
    for (; count < 6; ++count) fraction *= 10;  // count > 6 leaves it as it is
    micros += fraction;
  }
  return micros;
}

// "+HH", "+HH:MM" or "+HH:MM:SS" (or '-'): seconds east of UTC.
std::optional<int64_t> parse_offset(std::string_view text, size_t& at) {
  if (at >= text.size() || (text[at] != '+' && text[at] != '-')) return std::nullopt;
  const int sign = text[at++] == '-' ? -1 : 1;
  auto hours = digits(text, at, 2);
  if (!hours || *hours > 15) return std::nullopt;
  int64_t seconds = *hours * 3600;
  if (take(text, at, ':')) {
    auto minutes = digits(text, at, 2);
    if (!minutes || *minutes > 59) return std::nullopt;
    seconds += *minutes * 60;
    if (take(text, at, ':')) {
      auto secs = digits(text, at, 2);
      if (!secs || *secs > 59) return std::nullopt;
      seconds += *secs;
    }
  }
  return sign * seconds;
}

// "YYYY-MM-DD HH:MM:SS[.ffffff]", with an offset for timestamptz:
// microseconds since 2000-01-01 (UTC for timestamptz).
std::optional<int64_t> parse_timestamp(std::string_view text, bool with_zone) {
  if (text == "infinity") return std::numeric_limits<int64_t>::max();
  if (text == "-infinity") return std::numeric_limits<int64_t>::min();
  size_t at = 0;
  auto days = parse_date(text, at);
  if (!days || !take(text, at, ' ')) return std::nullopt;
  auto time = parse_time(text, at);
  if (!time) return std::nullopt;
  int64_t micros = *days * kMicrosPerDay + *time;
  if (with_zone) {
    auto offset = parse_offset(text, at);
    if (!offset) return std::nullopt;
    micros -= *offset * kMicrosPerSecond;
  }
  if (at != text.size()) return std::nullopt;
  return micros;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool append_uuid(std::string_view text, std::string& out) {
  if (text.size() != 36) return false;
  char bytes[16];
  size_t n = 0;
  for (size_t i = 0; i < text.size();) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (text[i++] != '-') return false;
      continue;
    }
    int high = hex_value(text[i]), low = hex_value(text[i + 1]);
    if (high < 0 || low < 0) return false;
    bytes[n++] = static_cast<char>(high << 4 | low);
    i += 2;
  }
  out.append(bytes, sizeof bytes);
  return true;
}

// PostgreSQL's numeric: base-10000 digits, the weight of the first, a sign and
// the display scale. Only plain decimal literals ("-12.340"); NaN, infinities
// and exponents are left to the server.
bool append_numeric(std::string_view text, std::string& out) {
  size_t at = 0;
  const bool negative = take(text, at, '-');
  size_t int_begin = at;
  while (at < text.size() && text[at] >= '0' && text[at] <= '9') ++at;
  std::string_view integer = text.substr(int_begin, at - int_begin);
  std::string_view fraction;
  if (take(text, at, '.')) {
    size_t frac_begin = at;
    while (at < text.size() && text[at] >= '0' && text[at] <= '9') ++at;
    fraction = text.substr(frac_begin, at - frac_begin);
  }
  if (at != text.size() || (integer.empty() && fraction.empty())) return false;
  constexpr size_t kMaxScale = 0x3FFF;  // NUMERIC_DSCALE_MASK
  if (fraction.size() > kMaxScale || integer.size() > 131072) return false;
  while (!integer.empty() && integer.front() == '0') integer.remove_prefix(1);

  // Digits aligned on groups of four around the decimal point.
  const size_t int_pad = (4 - integer.size() % 4) % 4;
  const size_t frac_pad = (4 - fraction.size() % 4) % 4;
  std::vector<int16_t> groups;
  groups.reserve((int_pad + integer.size() + fraction.size() + frac_pad) / 4);
  int value = 0, count = 0;
  auto push = [&](char c) {
    value = value * 10 + (c - '0');
    if (++count == 4) {
      groups.push_back(static_cast<int16_t>(value));
      value = count = 0;
    }
  };
  for (size_t i = 0; i < int_pad; ++i) push('0');
  for (char c : integer) push(c);
  for (char c : fraction) push(c);
  for (size_t i = 0; i < frac_pad; ++i) push('0');
  int weight = static_cast<int>((int_pad + integer.size()) / 4) - 1;
  size_t first = 0;
  while (first < groups.size() && groups[first] == 0) {
    ++first;
    --weight;
  }
  size_t last = groups.size();
  while (last > first && groups[last - 1] == 0) --last;
  if (first == last) weight = 0;
  append_big_endian<int16_t>(out, static_cast<int16_t>(last - first));
  append_big_endian<int16_t>(out, static_cast<int16_t>(weight));
  append_big_endian<uint16_t>(out, first != last && negative ? 0x4000 : 0x0000);
  append_big_endian<int16_t>(out, static_cast<int16_t>(fraction.size()));
  for (size_t i = first; i < last; ++i) append_big_endian<int16_t>(out, groups[i]);
  return true;
}

template <typename T>
bool append_integer(std::string_view text, std::string& out) {
  auto value = whole_number<T>(text);
  if (!value) return false;
  append_big_endian<T>(out, *value);
  return true;
}

template <typename Float, typename Bits>
bool append_float(std::string_view text, std::string& out) {
  Float value{};
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || text.empty()) return false;
  Bits bits;
  std::memcpy(&bits, &value, sizeof bits);
  append_big_endian<Bits>(out, bits);
  return true;
}

}  // namespace

std::optional<BinaryType> binary_type_of(std::string_view type) {
  auto starts = [&](std::string_view prefix) { return type.substr(0, prefix.size()) == prefix; };
  if (type == "text" || type == "json" || starts("character varying")) return BinaryType::kText;
  if (type == "jsonb") return BinaryType::kJsonb;
  if (type == "bytea") return BinaryType::kBytea;
  if (type == "boolean") return BinaryType::kBool;
  if (type == "smallint") return BinaryType::kInt2;
  if (type == "integer") return BinaryType::kInt4;
  if (type == "bigint") return BinaryType::kInt8;
  if (type == "real") return BinaryType::kFloat4;
  if (type == "double precision") return BinaryType::kFloat8;
  if (type == "numeric" || starts("numeric(")) return BinaryType::kNumeric;
  if (type == "date") return BinaryType::kDate;
  if (type == "uuid") return BinaryType::kUuid;
  if (starts("timestamp")) {
    if (type.ends_with(" with time zone")) return BinaryType::kTimestampTz;
    if (type.ends_with(" without time zone")) return BinaryType::kTimestamp;
  }
  if (starts("time") && type.ends_with(" without time zone")) return BinaryType::kTime;
  return std::nullopt;
}

bool append_binary(BinaryType type, std::string_view text, std::string& out) {
  switch (type) {
    case BinaryType::kText: out.append(text); return true;
    case BinaryType::kJsonb:
      out.push_back('\1');  // jsonb's binary format version, then the text
      out.append(text);
      return true;
    case BinaryType::kBytea: return false;  // text forms of bytea are the server's to read
    case BinaryType::kBool:
      if (text != "true" && text != "false") return false;
      out.push_back(text == "true" ? '\1' : '\0');
      return true;
    case BinaryType::kInt2: return append_integer<int16_t>(text, out);
    case BinaryType::kInt4: return append_integer<int32_t>(text, out);
    case BinaryType::kInt8: return append_integer<int64_t>(text, out);
    case BinaryType::kFloat4: return append_float<float, uint32_t>(text, out);
    case BinaryType::kFloat8: return append_float<double, uint64_t>(text, out);
    case BinaryType::kNumeric: return append_numeric(text, out);
    case BinaryType::kDate: {
      int64_t days;
      if (text == "infinity") {
        days = std::numeric_limits<int32_t>::max();
      } else if (text == "-infinity") {
        days = std::numeric_limits<int32_t>::min();
      } else {
        size_t at = 0;
        auto parsed = parse_date(text, at);
        if (!parsed || at != text.size()) return false;
        days = *parsed;
      }
      append_big_endian<int32_t>(out, static_cast<int32_t>(days));
      return true;
    }
    case BinaryType::kTime: {
      size_t at = 0;
      auto micros = parse_time(text, at);
      if (!micros || at != text.size()) return false;
      append_big_endian<int64_t>(out, *micros);
      return true;
    }
    case BinaryType::kTimestamp:
    case BinaryType::kTimestampTz: {
      auto micros = parse_timestamp(text, type == BinaryType::kTimestampTz);
      if (!micros) return false;
      append_big_endian<int64_t>(out, *micros);
      return true;
    }
    case BinaryType::kUuid: return append_uuid(text, out);
  }
  return false;
}

BinaryCopyWriter::BinaryCopyWriter(std::vector<BinaryType> columns) : columns_(std::move(columns)), data_(kHeader) {
  row_start_ = data_.size();
}

void BinaryCopyWriter::begin_field(size_t length) { append_big_endian<int32_t>(data_, static_cast<int32_t>(length)); }

void BinaryCopyWriter::text(std::string_view value) {
  if (column_ == 0) append_big_endian<int16_t>(data_, static_cast<int16_t>(columns_.size()));
  if (row_failed_ || column_ >= columns_.size()) {
    row_failed_ = true;
    ++column_;
    return;
  }
  size_t length_at = data_.size();
  begin_field(0);
  if (!append_binary(columns_[column_], value, data_)) {
    row_failed_ = true;
  } else {
    uint32_t length = static_cast<uint32_t>(data_.size() - length_at - 4);
    for (int i = 0; i < 4; ++i) data_[length_at + i] = static_cast<char>(length >> (8 * (3 - i)));
  }
  ++column_;
}

void BinaryCopyWriter::bytes(std::string_view value) {
  if (column_ == 0) append_big_endian<int16_t>(data_, static_cast<int16_t>(columns_.size()));
  if (column_ >= columns_.size() || columns_[column_] != BinaryType::kBytea) {
    row_failed_ = true;
  } else if (!row_failed_) {
    begin_field(value.size());
    data_.append(value);
  }
  ++column_;
}

void BinaryCopyWriter::hex(std::string_view value) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string digits;
  digits.reserve(2 * value.size());
  for (char c : value) {
    auto byte = static_cast<unsigned char>(c);
    digits += kHex[byte >> 4];
    digits += kHex[byte & 0xf];
  }
  text(digits);
}

void BinaryCopyWriter::null() {
  if (column_ == 0) append_big_endian<int16_t>(data_, static_cast<int16_t>(columns_.size()));
  if (!row_failed_) append_big_endian<int32_t>(data_, -1);
  ++column_;
}

bool BinaryCopyWriter::end_row() {
  const bool ok = !row_failed_ && column_ == columns_.size();
  if (!ok) data_.resize(row_start_);
  row_start_ = data_.size();
  column_ = 0;
  row_failed_ = false;
  return ok;
}

void BinaryCopyWriter::finish() { append_big_endian<int16_t>(data_, -1); }

}  // namespace sluice::pg
