// Masker: `mask.<table>.<column> = hash | redact | drop`, applied to an event
// after validation and before the sink. `hash` is HMAC-SHA256 keyed with
// `mask.key`, hex-encoded, so equal values stay equal (joins work) while the
// key is secret; `redact` writes kRedacted (text columns) or null (others);
// `drop` removes the column. Key columns can only be hashed: a redacted or
// dropped key would merge or lose rows, so such an event is rejected.
// Also masks the JSON bytes of dead-letter records when
// errors.deadletterqueue.mask = true.
// Immutable after create() apart from an internal schema cache under a mutex;
// safe to use from several threads. Never logs the key or a value.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "sluice/change_event.h"
#include "sluice/config.h"
#include "sluice/dead_letter_sink.h"
#include "sluice/reject.h"
#include "validate/reject_counters.h"

struct evp_md_st;
struct evp_md_ctx_st;
using EVP_MD = evp_md_st;
using EVP_MD_CTX = evp_md_ctx_st;

namespace sluice::validate {

enum class MaskAction { kHash, kRedact, kDrop };

class Masker {
 public:
  static constexpr std::string_view kRedacted = "[redacted]";

  // Parses every `mask.*` key. Errors: kFatal "bad_configuration" naming each
  // bad key (unknown action, hash without mask.key).
  static Result<std::unique_ptr<Masker>> create(const Config& config, RejectCounters* counters = nullptr);

  bool empty() const { return masks_.empty(); }

  // Masks the key, before and after images of `event` for event.table.
  // Returns a reject (stage validate) when a redact or drop names a key column.
  std::optional<Reject> apply(ChangeEvent& event) const;

  // Lower-case hex of HMAC-SHA256(mask.key, value).
  std::string hash(std::string_view value) const;

  // Masks a Debezium JSON document (envelope with or without schema,
  // flattened, or a record key) for `table`; an empty table applies the masks
  // of every table. nullopt when the text is not a JSON object or nests deeper
  // than decoder.max_nesting_depth (it is never parsed or walked recursively).
  std::optional<std::string> mask_json(std::string_view json, const std::string& table) const;

 private:
  struct ColumnMask {
    std::string column;
    MaskAction action;
  };
  // The masked form of one row schema, computed once per schema.
  struct SchemaPlan {
    std::shared_ptr<const RowSchema> source;
    std::shared_ptr<const RowSchema> masked;
    std::vector<int> from;                   // masked column -> source column
    std::vector<std::optional<MaskAction>> action;  // per masked column
    std::optional<std::string> key_violation;       // column redacted/dropped in a key row
  };

  Masker(std::string key, RejectCounters* counters);

  std::shared_ptr<const SchemaPlan> plan_for(const std::shared_ptr<const RowSchema>& schema,
                                             const std::vector<ColumnMask>& masks, bool key_row) const;
  void mask_row(Row& row, const SchemaPlan& plan) const;

  struct DigestDeleter {
    void operator()(EVP_MD* digest) const;
  };
  struct ContextDeleter {
    void operator()(EVP_MD_CTX* context) const;
  };
  // SHA-256 states after the key's inner and outer pads; the key itself is
  // not kept.
  std::unique_ptr<EVP_MD, DigestDeleter> digest_;
  std::unique_ptr<EVP_MD_CTX, ContextDeleter> inner_;
  std::unique_ptr<EVP_MD_CTX, ContextDeleter> outer_;
  RejectCounters* counters_;
  int max_json_depth_ = DecoderConfig{}.max_nesting_depth;  // container levels mask_json accepts
  std::unordered_map<TableName, std::vector<ColumnMask>> masks_;

  mutable std::mutex mutex_;
  // (schema, key row) -> plan; bounded, cleared when it grows past a limit.
  mutable std::map<std::pair<const RowSchema*, bool>, std::shared_ptr<const SchemaPlan>> plans_;
};

// A DeadLetterSink that masks the key and value of each record (see
// Masker::mask_json) before handing it to `inner`, and marks it with the
// header `sluice.masked`. A value that is not JSON (or nests too deeply)
// cannot be masked field by field and is replaced by a JSON note.
class MaskingDeadLetterSink final : public DeadLetterSink {
 public:
  MaskingDeadLetterSink(DeadLetterSink& inner, const Masker& masker) : inner_(inner), masker_(masker) {}

  Status send(const RawRecord& record, const Reject& reject, int attempt) override;
  Status flush(std::chrono::milliseconds timeout) override { return inner_.flush(timeout); }

  // The record as it is sent (exposed for tests).
  RawRecord masked(const RawRecord& record, const std::string& table) const;

 private:
  DeadLetterSink& inner_;
  const Masker& masker_;
};

}  // namespace sluice::validate
