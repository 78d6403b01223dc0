#include "decode/logical_types.h"

#include <array>
#include <charconv>
#include <cstdio>
#include <limits>
#include <vector>

namespace sluice {
namespace {

constexpr std::array<int8_t, 256> make_base64_table() {
  std::array<int8_t, 256> t{};
  for (auto& v : t) v = -1;
  const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (int i = 0; i < 64; ++i) t[static_cast<unsigned char>(alphabet[i])] = static_cast<int8_t>(i);
  return t;
}
constexpr std::array<int8_t, 256> kBase64 = make_base64_table();

int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

void append_padded(std::string& out, uint64_t value, int width) {
  char buf[24];
  char* end = buf + sizeof buf;
  char* begin = end;
  do {
    *--begin = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value != 0);
  while (end - begin < width && begin > buf) *--begin = '0';
  out.append(begin, static_cast<size_t>(end - begin));
}

// Appends "YYYY-MM-DD" and returns true when the year is BC (suffix pending).
bool append_civil(int64_t days, std::string& out) {
  // Howard Hinnant's days_from_civil inverse.
  int64_t z = days + 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t y = yoe + era * 400;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  int64_t d = doy - (153 * mp + 2) / 5 + 1;
  int64_t m = mp < 10 ? mp + 3 : mp - 9;
  if (m <= 2) ++y;
  bool bc = y <= 0;
  append_padded(out, static_cast<uint64_t>(bc ? 1 - y : y), 4);
  out.push_back('-');
  append_padded(out, static_cast<uint64_t>(m), 2);
  out.push_back('-');
  append_padded(out, static_cast<uint64_t>(d), 2);
  return bc;
}

int digits_of(int64_t units_per_second) {
  int digits = 0;
  while (units_per_second > 1) {
    units_per_second /= 10;
    ++digits;
  }
  return digits;
}

}  // namespace

bool decode_base64(std::string_view in, std::string& out) {
  size_t n = in.size();
  while (n > 0 && in[n - 1] == '=') --n;
  if (in.size() - n > 2) return false;
  if (n % 4 == 1) return false;
  if (in.size() % 4 != 0 && in.size() != n) return false;  // padding only on a full quantum
  out.reserve(out.size() + n * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < n; ++i) {
    int8_t v = kBase64[static_cast<unsigned char>(in[i])];
    if (v < 0) return false;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return true;
}

// Appends the decimal text of `digits` (no sign) with `scale` fraction digits.
void append_scaled(std::string_view digits, bool zero, int32_t scale, std::string& out) {
  if (scale <= 0) {
    out += digits;
    if (!zero) out.append(static_cast<size_t>(-static_cast<int64_t>(scale)), '0');
    return;
  }
  auto s = static_cast<size_t>(scale);
  if (digits.size() <= s) {
    out.push_back('0');
    out.push_back('.');
    out.append(s - digits.size(), '0');
    out += digits;
    return;
  }
  out.append(digits.substr(0, digits.size() - s));
  out.push_back('.');
  out.append(digits.substr(digits.size() - s));
}

bool decimal_from_unscaled(std::string_view bytes, int32_t scale, std::string& out) {
  if (scale < kMinDecimalScale || scale > kMaxDecimalScale) return false;
  bool negative = !bytes.empty() && (static_cast<unsigned char>(bytes[0]) & 0x80) != 0;
  if (bytes.size() <= 8) {
    // Fits in 64 bits (the common case): no big-number arithmetic.
    uint64_t value = negative ? ~uint64_t{0} : 0;
    for (char b : bytes) value = (value << 8) | static_cast<unsigned char>(b);
    uint64_t magnitude = negative ? 0 - value : value;
    char buf[24];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, magnitude);
    if (negative && magnitude != 0) out.push_back('-');
    append_scaled(std::string_view(buf, static_cast<size_t>(end - buf)), magnitude == 0, scale, out);
    return true;
  }
  std::vector<uint8_t> magnitude(bytes.begin(), bytes.end());
  if (negative) {
    for (auto& b : magnitude) b = static_cast<uint8_t>(~b);
    for (size_t i = magnitude.size(); i-- > 0;) {
      if (++magnitude[i] != 0) break;
    }
  }
  // Base 10^9 limbs, least significant first.
  std::vector<uint32_t> limbs;
  for (uint8_t b : magnitude) {
    uint64_t carry = b;
    for (auto& limb : limbs) {
      uint64_t v = static_cast<uint64_t>(limb) * 256 + carry;
      limb = static_cast<uint32_t>(v % 1000000000);
      carry = v / 1000000000;
    }
    while (carry != 0) {
      limbs.push_back(static_cast<uint32_t>(carry % 1000000000));
      carry /= 1000000000;
    }
  }
  std::string digits;
  if (limbs.empty()) {
    digits.push_back('0');
  } else {
    digits = std::to_string(limbs.back());
    for (size_t i = limbs.size() - 1; i-- > 0;) append_padded(digits, limbs[i], 9);
  }
  bool zero = limbs.empty();
  if (negative && !zero) out.push_back('-');
  append_scaled(digits, zero, scale, out);
  return true;
}

bool decimal_from_text(std::string_view text, int32_t scale, std::string& out) {
  if (scale < kMinDecimalScale || scale > kMaxDecimalScale) return false;
  size_t i = 0;
  if (i < text.size() && (text[i] == '-' || text[i] == '+')) ++i;
  size_t int_start = i;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
  size_t int_digits = i - int_start;
  size_t frac_digits = 0;
  if (i < text.size() && text[i] == '.') {
    ++i;
    size_t frac_start = i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
    frac_digits = i - frac_start;
  }
  if (i != text.size() || int_digits + frac_digits == 0) return false;
  size_t start = out.size();
  if (text[0] == '+') {
    out.append(text.substr(1));
  } else {
    out.append(text);
  }
  if (int_digits == 0) out.insert(start + (text[0] == '-' ? 1 : 0), 1, '0');
  if (scale > 0 && frac_digits < static_cast<size_t>(scale)) {
    if (frac_digits == 0 && out.back() != '.') out.push_back('.');
    out.append(static_cast<size_t>(scale) - frac_digits, '0');
  }
  if (out.back() == '.') out.pop_back();
  return true;
}

void format_date(int64_t days, std::string& out) {
  if (append_civil(days, out)) out += " BC";
}

bool format_time(int64_t value, int64_t units_per_second, int fraction_digits, std::string& out) {
  if (value < 0 || value > 86400 * units_per_second) return false;
  int64_t seconds = value / units_per_second;
  int64_t fraction = value % units_per_second;
  append_padded(out, static_cast<uint64_t>(seconds / 3600), 2);
  out.push_back(':');
  append_padded(out, static_cast<uint64_t>(seconds / 60 % 60), 2);
  out.push_back(':');
  append_padded(out, static_cast<uint64_t>(seconds % 60), 2);
  int unit_digits = digits_of(units_per_second);
  for (int i = unit_digits; i < fraction_digits; ++i) fraction *= 10;
  if (fraction_digits > 0) {
    out.push_back('.');
    append_padded(out, static_cast<uint64_t>(fraction), fraction_digits);
  }
  return true;
}

void format_timestamp(int64_t value, int64_t units_per_second, std::string& out) {
  // PostgreSQL infinity as Debezium encodes it (PGStatement.DATE_*_INFINITY), and the int64 limits.
  if (value == 9223372036825200000LL || value == std::numeric_limits<int64_t>::max()) {
    out += "infinity";
    return;
  }
  if (value == -9223372036832400000LL || value == std::numeric_limits<int64_t>::min()) {
    out += "-infinity";
    return;
  }
  out.reserve(out.size() + 32);
  int64_t seconds = floor_div(value, units_per_second);
  int64_t fraction = value - seconds * units_per_second;
  int64_t days = floor_div(seconds, 86400);
  int64_t second_of_day = seconds - days * 86400;
  bool bc = append_civil(days, out);
  out.push_back(' ');
  append_padded(out, static_cast<uint64_t>(second_of_day / 3600), 2);
  out.push_back(':');
  append_padded(out, static_cast<uint64_t>(second_of_day / 60 % 60), 2);
  out.push_back(':');
  append_padded(out, static_cast<uint64_t>(second_of_day % 60), 2);
  if (fraction != 0) {
    int digits = digits_of(units_per_second);
    while (fraction % 10 == 0) {
      fraction /= 10;
      --digits;
    }
    out.push_back('.');
    append_padded(out, static_cast<uint64_t>(fraction), digits);
  }
  if (bc) out += " BC";
}

void format_micro_duration(int64_t micros, std::string& out) {
  if (micros == 0) {
    out += "PT0S";
    return;
  }
  bool negative = micros < 0;
  uint64_t m = negative ? 0 - static_cast<uint64_t>(micros) : static_cast<uint64_t>(micros);
  uint64_t days = m / 86400000000ULL;
  m %= 86400000000ULL;
  uint64_t hours = m / 3600000000ULL;
  m %= 3600000000ULL;
  uint64_t minutes = m / 60000000ULL;
  m %= 60000000ULL;
  uint64_t seconds = m / 1000000ULL;
  uint64_t fraction = m % 1000000ULL;
  const char* sign = negative ? "-" : "";
  out.push_back('P');
  if (days != 0) {
    out += sign;
    out += std::to_string(days);
    out.push_back('D');
  }
  if (hours == 0 && minutes == 0 && seconds == 0 && fraction == 0) return;
  out.push_back('T');
  if (hours != 0) {
    out += sign;
    out += std::to_string(hours);
    out.push_back('H');
  }
  if (minutes != 0) {
    out += sign;
    out += std::to_string(minutes);
    out.push_back('M');
  }
  if (seconds != 0 || fraction != 0) {
    out += sign;
    out += std::to_string(seconds);
    if (fraction != 0) {
      int digits = 6;
      while (fraction % 10 == 0) {
        fraction /= 10;
        --digits;
      }
      out.push_back('.');
      append_padded(out, fraction, digits);
    }
    out.push_back('S');
  }
}

bool add_srid_to_wkb(std::string& wkb, int32_t srid) {
  constexpr uint32_t kSridFlag = 0x20000000;
  if (wkb.size() < 5 || (wkb[0] != 0 && wkb[0] != 1)) return false;
  const bool little = wkb[0] == 1;
  auto byte = [&](size_t i) { return static_cast<uint32_t>(static_cast<unsigned char>(wkb[i])); };
  uint32_t type = little ? byte(1) | byte(2) << 8 | byte(3) << 16 | byte(4) << 24
                         : byte(1) << 24 | byte(2) << 16 | byte(3) << 8 | byte(4);
  if ((type & kSridFlag) != 0) return true;
  auto put = [&](char* at, uint32_t v) {
    for (int i = 0; i < 4; ++i) at[i] = static_cast<char>(little ? v >> (8 * i) : v >> (8 * (3 - i)));
  };
  char header[8];
  put(header, type | kSridFlag);
  put(header + 4, static_cast<uint32_t>(srid));
  wkb.replace(1, 4, header, sizeof header);
  return true;
}

namespace {

// Calls `fraction(begin, end)` for each run of digits after a '.' in `text`.
template <typename F>
void for_each_fraction(std::string_view text, F&& fraction) {
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '.') continue;
    size_t end = i + 1;
    while (end < text.size() && text[end] >= '0' && text[end] <= '9') ++end;
    fraction(i + 1, end);
    i = end - 1;
  }
}

}  // namespace

bool has_sub_microsecond_digits(std::string_view text) {
  bool found = false;
  for_each_fraction(text, [&](size_t begin, size_t end) {
    for (size_t k = begin + 6; k < end; ++k) found = found || text[k] != '0';
  });
  return found;
}

std::string truncated_to_microseconds(std::string_view text) {
  std::string out;
  size_t copied = 0;
  for_each_fraction(text, [&](size_t begin, size_t end) {
    if (end - begin <= 6) return;
    out.append(text.substr(copied, begin + 6 - copied));
    copied = end;
  });
  out.append(text.substr(copied));
  return out;
}

bool parse_int64(std::string_view text, int64_t& value) {
  // Up to 18 digits cannot overflow: accumulate directly (from_chars is not inlined).
  size_t sign = !text.empty() && text[0] == '-' ? 1 : 0;
  if (text.size() > sign && text.size() - sign <= 18) {
    int64_t v = 0;
    size_t i = sign;
    for (; i < text.size(); ++i) {
      auto digit = static_cast<unsigned>(text[i] - '0');
      if (digit > 9) break;
      v = v * 10 + static_cast<int64_t>(digit);
    }
    if (i == text.size()) {
      value = sign ? -v : v;
      return true;
    }
    return false;
  }
  const char* begin = text.data();
  const char* end = begin + text.size();
  auto [ptr, ec] = std::from_chars(begin, end, value);
  return ec == std::errc() && ptr == end;
}

}  // namespace sluice
