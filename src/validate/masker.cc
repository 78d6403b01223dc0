#include "validate/masker.h"

#include <openssl/evp.h>
#include <openssl/crypto.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <utility>
#include <vector>

#include "validate/validator_chain.h"

namespace sluice::validate {
namespace {

constexpr size_t kMaxCachedPlans = 1024;

bool text_type(FieldType type) {
  return type == FieldType::kString || type == FieldType::kEnum || type == FieldType::kEnumSet;
}

std::string_view action_name(MaskAction action) {
  switch (action) {
    case MaskAction::kHash: return "hash";
    case MaskAction::kRedact: return "redact";
    case MaskAction::kDrop: return "drop";
  }
  return "?";
}

std::string json_text(const rapidjson::Value& value) {
  if (value.IsString()) return std::string(value.GetString(), value.GetStringLength());
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  value.Accept(writer);
  return std::string(buffer.GetString(), buffer.GetSize());
}

// True when `root` nests containers deeper than `max_depth` levels (the root
// container is level 1). Iterative, so the check itself cannot overflow the stack;
// it guards the recursive walks (Accept, the writer) that follow it.
bool nested_deeper_than(const rapidjson::Value& root, int max_depth) {
  std::vector<std::pair<const rapidjson::Value*, int>> pending{{&root, 1}};
  while (!pending.empty()) {
    auto [value, depth] = pending.back();
    pending.pop_back();
    if (!value->IsObject() && !value->IsArray()) continue;
    if (depth > max_depth) return true;
    if (value->IsObject()) {
      for (const auto& member : value->GetObject()) pending.emplace_back(&member.value, depth + 1);
    } else {
      for (const auto& element : value->GetArray()) pending.emplace_back(&element, depth + 1);
    }
  }
  return false;
}

}  // namespace

Result<std::unique_ptr<Masker>> Masker::create(const Config& config, RejectCounters* counters) {
  std::unique_ptr<Masker> masker(new Masker(config.mask_key, counters));
  // What the decoder accepts is maskable; deeper dead-letter records (rejected
  // as nesting_too_deep) are replaced by the note, never walked recursively.
  masker->max_json_depth_ = config.decoder.max_nesting_depth;
  std::vector<std::string> problems;
  for (const ColumnSetting& setting : config.masks) {
    std::string key = "mask." + setting.table + "." + setting.column;
    MaskAction action;
    if (setting.value == "hash") {
      action = MaskAction::kHash;
      if (config.mask_key.empty()) {
        problems.push_back(key + ": hash needs mask.key (or mask.key.file, or SLUICE_MASK_KEY)");
        continue;
      }
    } else if (setting.value == "redact") {
      action = MaskAction::kRedact;
    } else if (setting.value == "drop") {
      action = MaskAction::kDrop;
    } else {
      problems.push_back(key + ": '" + setting.value + "' is not one of hash, redact, drop");
      continue;
    }
    masker->masks_[table_from_key(setting.table)].push_back(ColumnMask{setting.column, action});
  }
  if (!problems.empty()) {
    std::string message;
    for (const std::string& p : problems) message += (message.empty() ? "" : "\n") + p;
    return Error::fatal("bad_configuration", message);
  }
  return masker;
}

void Masker::DigestDeleter::operator()(EVP_MD* digest) const { EVP_MD_free(digest); }
void Masker::ContextDeleter::operator()(EVP_MD_CTX* context) const { EVP_MD_CTX_free(context); }

Masker::Masker(std::string key, RejectCounters* counters) : counters_(counters) {
  // HMAC (RFC 2104) with the inner and outer pad states computed once, so a
  // value costs two digest copies and finals instead of a key set-up.
  digest_.reset(EVP_MD_fetch(nullptr, "SHA256", nullptr));
  constexpr size_t kBlock = 64;
  std::string block = std::move(key);
  if (block.size() > kBlock) {
    unsigned char shortened[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    EVP_Digest(block.data(), block.size(), shortened, &length, digest_.get(), nullptr);
    block.assign(reinterpret_cast<const char*>(shortened), length);
  }
  block.resize(kBlock, '\0');
  std::string inner_pad(kBlock, '\0'), outer_pad(kBlock, '\0');
  for (size_t i = 0; i < kBlock; ++i) {
    inner_pad[i] = static_cast<char>(block[i] ^ 0x36);
    outer_pad[i] = static_cast<char>(block[i] ^ 0x5c);
  }
  inner_.reset(EVP_MD_CTX_new());
  outer_.reset(EVP_MD_CTX_new());
  EVP_DigestInit_ex(inner_.get(), digest_.get(), nullptr);
  EVP_DigestUpdate(inner_.get(), inner_pad.data(), kBlock);
  EVP_DigestInit_ex(outer_.get(), digest_.get(), nullptr);
  EVP_DigestUpdate(outer_.get(), outer_pad.data(), kBlock);
  OPENSSL_cleanse(block.data(), block.size());
  OPENSSL_cleanse(inner_pad.data(), inner_pad.size());
  OPENSSL_cleanse(outer_pad.data(), outer_pad.size());
}

std::string Masker::hash(std::string_view value) const {
  thread_local std::unique_ptr<EVP_MD_CTX, ContextDeleter> work(EVP_MD_CTX_new());
  unsigned char inner[EVP_MAX_MD_SIZE];
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int inner_length = 0, length = 0;
  EVP_MD_CTX_copy_ex(work.get(), inner_.get());
  EVP_DigestUpdate(work.get(), value.data(), value.size());
  EVP_DigestFinal_ex(work.get(), inner, &inner_length);
  EVP_MD_CTX_copy_ex(work.get(), outer_.get());
  EVP_DigestUpdate(work.get(), inner, inner_length);
  EVP_DigestFinal_ex(work.get(), digest, &length);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(length * 2, '0');
  for (unsigned int i = 0; i < length; ++i) {
    out[2 * i] = kHex[digest[i] >> 4];
    out[2 * i + 1] = kHex[digest[i] & 0x0f];
  }
  return out;
}

std::shared_ptr<const Masker::SchemaPlan> Masker::plan_for(const std::shared_ptr<const RowSchema>& schema,
                                                           const std::vector<ColumnMask>& masks, bool key_row) const {
  std::lock_guard lock(mutex_);
  auto cached = plans_.find({schema.get(), key_row});
  if (cached != plans_.end()) return cached->second;

  auto plan = std::make_shared<SchemaPlan>();
  plan->source = schema;
  auto masked = std::make_shared<RowSchema>();
  for (size_t i = 0; i < schema->columns.size(); ++i) {
    const Column& column = schema->columns[i];
    std::optional<MaskAction> action;
    for (const ColumnMask& mask : masks) {
      if (mask.column == column.name) action = mask.action;
    }
    if (key_row && action && *action != MaskAction::kHash) {
      plan->key_violation = column.name + " is part of the record key; mask = " +
                            std::string(action_name(*action)) + " cannot apply to key columns (use hash)";
    }
    if (action == MaskAction::kDrop) continue;
    Column out = column;
    if (action == MaskAction::kHash) {
      out.type = FieldType::kString;
      out.precision = -1;
      out.scale = -1;
      out.logical_name.clear();
    }
    masked->columns.push_back(std::move(out));
    plan->from.push_back(static_cast<int>(i));
    plan->action.push_back(action);
  }
  plan->masked = std::move(masked);
  if (plans_.size() >= kMaxCachedPlans) plans_.clear();
  plans_.emplace(std::make_pair(schema.get(), key_row), plan);
  return plan;
}

void Masker::mask_row(Row& row, const SchemaPlan& plan) const {
  std::vector<Datum> values;
  values.reserve(plan.from.size());
  for (size_t i = 0; i < plan.from.size(); ++i) {
    size_t from = static_cast<size_t>(plan.from[i]);
    Datum value = from < row.values.size() ? std::move(row.values[from]) : Datum{};
    if (plan.action[i] && !value.null) {
      if (*plan.action[i] == MaskAction::kHash) {
        value = Datum::of(hash(value.text));
      } else if (text_type(plan.source->columns[from].type)) {
        value = Datum::of(std::string(kRedacted));
      } else {
        value = Datum{};
      }
    }
    values.push_back(std::move(value));
  }
  row.values = std::move(values);
  row.schema = plan.masked;
}

std::optional<Reject> Masker::apply(ChangeEvent& event) const {
  auto found = masks_.find(event.table);
  if (found == masks_.end()) return std::nullopt;
  const std::vector<ColumnMask>& masks = found->second;
  std::shared_ptr<const SchemaPlan> key_plan;
  if (event.key && event.key->schema) {
    key_plan = plan_for(event.key->schema, masks, true);
    if (key_plan->key_violation) {
      Reject reject{Stage::kValidate, "mask", event.table.display(), "", *key_plan->key_violation};
      reject.column = key_plan->key_violation->substr(0, key_plan->key_violation->find(' '));
      if (counters_ != nullptr) counters_->add(reject.table, reject.rule);
      return reject;
    }
  }
  if (key_plan) mask_row(*event.key, *key_plan);
  for (std::optional<Row>* row : {&event.before, &event.after}) {
    if (*row && (*row)->schema) mask_row(**row, *plan_for((*row)->schema, masks, false));
  }
  return std::nullopt;
}

std::optional<std::string> Masker::mask_json(std::string_view json, const std::string& table) const {
  rapidjson::Document document;
  // Dead-letter records are untrusted and may be the ones the decoder rejected
  // for nesting: the iterative parser keeps a deep document off the call stack.
  document.Parse<rapidjson::kParseIterativeFlag>(json.data(), json.size());
  if (document.HasParseError() || !document.IsObject()) return std::nullopt;
  if (nested_deeper_than(document, max_json_depth_)) return std::nullopt;

  std::vector<const ColumnMask*> masks;
  if (table.empty()) {
    for (const auto& [name, list] : masks_) {
      for (const ColumnMask& mask : list) masks.push_back(&mask);
    }
  } else if (auto it = masks_.find(table_from_key(table)); it != masks_.end()) {
    for (const ColumnMask& mask : it->second) masks.push_back(&mask);
  }
  auto& allocator = document.GetAllocator();
  auto mask_object = [&](rapidjson::Value& object) {
    if (!object.IsObject()) return;
    for (const ColumnMask* mask : masks) {
      auto member = object.FindMember(mask->column.c_str());
      if (member == object.MemberEnd() || member->value.IsNull()) continue;
      switch (mask->action) {
        case MaskAction::kHash: {
          std::string hashed = hash(json_text(member->value));
          member->value.SetString(hashed.data(), static_cast<rapidjson::SizeType>(hashed.size()), allocator);
          break;
        }
        case MaskAction::kRedact:
          if (member->value.IsString()) {
            member->value.SetString(kRedacted.data(), static_cast<rapidjson::SizeType>(kRedacted.size()), allocator);
          } else {
            member->value.SetNull();
          }
          break;
        case MaskAction::kDrop: object.RemoveMember(member); break;
      }
    }
  };
  rapidjson::Value* body = &document;
  if (document.HasMember("schema") && document.HasMember("payload")) body = &document["payload"];
  if (body->IsObject() && (body->HasMember("after") || body->HasMember("before"))) {
    if (body->HasMember("after")) mask_object((*body)["after"]);
    if (body->HasMember("before")) mask_object((*body)["before"]);
  } else {
    mask_object(*body);  // flattened value or record key
  }
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  document.Accept(writer);
  return std::string(buffer.GetString(), buffer.GetSize());
}

RawRecord MaskingDeadLetterSink::masked(const RawRecord& record, const std::string& table) const {
  auto mask = [&](const std::optional<std::string_view>& bytes) -> std::optional<std::string> {
    if (!bytes) return std::nullopt;
    if (auto masked = masker_.mask_json(*bytes, table)) return masked;
    return std::string(R"({"sluice.masked":"the original bytes are not JSON and were removed"})");
  };
  std::vector<std::pair<std::string, std::optional<std::string>>> headers;
  for (const RecordHeader& header : record.headers) {
    headers.emplace_back(std::string(header.key),
                         header.value ? std::optional<std::string>(std::string(*header.value)) : std::nullopt);
  }
  headers.emplace_back("sluice.masked", "true");
  return RawRecord::copy_of(std::string(record.topic), record.partition, record.offset, record.timestamp_ms,
                            mask(record.key), mask(record.value), std::move(headers));
}

Status MaskingDeadLetterSink::send(const RawRecord& record, const Reject& reject, int attempt) {
  return inner_.send(masked(record, reject.table), reject, attempt);
}

}  // namespace sluice::validate
