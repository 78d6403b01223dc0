// Conversions from the encodings Kafka Connect and Debezium use for logical
// types (base64 bytes, unscaled two's complement decimals, epoch-based dates
// and times) to sluice's canonical text forms (see FieldType in
// sluice/change_event.h). Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace sluice {

// Decimal scale and precision bounds: what PostgreSQL numeric holds, so that no
// schema or value can make a conversion allocate more than a value could need.
// Typed numeric(p, s) takes p in 1..1000 and s in -1000..1000; unconstrained
// numeric keeps up to 16383 fraction digits. A negative scale (Kafka Connect
// allows it) means value = unscaled * 10^-scale.
inline constexpr int32_t kMinDecimalScale = -1000;
inline constexpr int32_t kMaxDecimalScale = 16383;
inline constexpr int32_t kMaxDecimalPrecision = 1000;

// Standard base64 (RFC 4648, padding optional). Appends to `out`; false when
// `in` is not valid base64.
bool decode_base64(std::string_view in, std::string& out);

// Big-endian two's complement unscaled value -> decimal text with exactly
// `scale` fraction digits (negative scale appends -scale zeros to the integer).
// Appends to `out`; false, appending nothing, when `scale` is outside
// kMinDecimalScale..kMaxDecimalScale.
bool decimal_from_unscaled(std::string_view bytes, int32_t scale, std::string& out);

// A plain decimal literal ("-12.3", "7") -> text with at least `scale` fraction
// digits (zeros appended, never rounded; a negative scale adds none). False when
// `text` is not a plain decimal literal (exponents, "NaN", garbage) or `scale`
// is outside kMinDecimalScale..kMaxDecimalScale.
bool decimal_from_text(std::string_view text, int32_t scale, std::string& out);

// Days since 1970-01-01 -> "YYYY-MM-DD", years before 1 as "YYYY-MM-DD BC".
void format_date(int64_t days, std::string& out);

// Time of day as a count of 1/units_per_second since midnight ->
// "HH:MM:SS.ffffff" with `fraction_digits` digits. False when negative or past 24:00.
bool format_time(int64_t value, int64_t units_per_second, int fraction_digits, std::string& out);

// Count of 1/units_per_second since the epoch (negative before 1970) ->
// "YYYY-MM-DD HH:MM:SS[.fraction]" (trailing fraction zeros dropped), or
// "infinity"/"-infinity" for the sentinels PostgreSQL connectors send.
void format_timestamp(int64_t value, int64_t units_per_second, std::string& out);

// Microseconds (Debezium MicroDuration) -> ISO 8601 duration "P1DT2H3M4.5S".
void format_micro_duration(int64_t micros, std::string& out);

// Makes WKB carry `srid`: PostGIS's EWKB sets 0x20000000 in the geometry type
// word and puts the SRID, in the WKB's own byte order, right after it. WKB that
// already carries an SRID (Debezium's PostgreSQL connector sends EWKB) is left
// as it is. False, changing nothing, when `wkb` is shorter than a byte-order
// mark and a type word or the mark is neither 0 nor 1.
bool add_srid_to_wkb(std::string& wkb, int32_t srid);

// Whether a time, timestamp or interval text ("13:45:00.123456789",
// "2024-02-29T13:45:00.1234567Z", "PT0.0000001S") has a non-zero digit below
// the microsecond, which PostgreSQL's types would round away.
bool has_sub_microsecond_digits(std::string_view text);

// The same text with every fraction cut to six digits (truncated, never
// rounded); trailing zeros of the fraction are kept as they are.
std::string truncated_to_microseconds(std::string_view text);

// Parses a JSON integer text. False when it is not an integer or out of int64.
bool parse_int64(std::string_view text, int64_t& value);

}  // namespace sluice
