#include "sinks/postgres/table_routes.h"

#include <tuple>
#include <utility>

#include "sinks/postgres/table_plan.h"

namespace sluice::pg {

Result<TableRoutes> TableRoutes::create(const SinkConfig& config) {
  TableRoutes routes;
  if (config.insert_mode == InsertMode::kHistory) routes.mode_ = TableMode::kHistory;
  if (config.insert_mode == InsertMode::kChangelog) routes.mode_ = TableMode::kChangelog;
  for (auto [format, key, router] :
       {std::tuple{&config.history_table_name_format, "history.table.name.format", &routes.history_},
        std::tuple{&config.changelog_table_name_format, "changelog.table.name.format", &routes.changelog_}}) {
    if (format->empty()) continue;
    auto created = Router::create(*format, key);
    if (!created) return created.take_error();
    router->emplace(std::move(*created));
  }
  return routes;
}

Status TableRoutes::targets_of(const ChangeEvent& event, std::vector<TableTarget>& out) const {
  out.clear();
  out.push_back(TableTarget{target_of(event), mode_, true});
  if (event.tombstone) return {};
  for (auto [router, mode] : {std::pair{&history_, TableMode::kHistory}, std::pair{&changelog_, TableMode::kChangelog}}) {
    if (!router->has_value()) continue;
    auto table = (*router)->route(event);
    if (!table) return table.take_error();
    out.push_back(TableTarget{std::move(*table), mode, false});
  }
  return {};
}

}  // namespace sluice::pg
