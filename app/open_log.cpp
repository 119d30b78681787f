#include "open_log.hpp"

#include <qx/events/rocksdb_store.hpp>

#include <filesystem>
#include <iostream>

namespace qx::app {

result<std::unique_ptr<events::event_store>> open_log(const std::string& data_dir, bool read_only,
                                                      bool verify_tail) {
  if (read_only && !std::filesystem::exists(data_dir))
    return error{errc::not_found, "no event log at " + data_dir, {{"field", "data-dir"}}};
  events::rocksdb_store_options opts;
  opts.path = data_dir;
  // `qvdc serve --data-dir D` keeps its log in D/log: the tools take either folder.
  namespace fs = std::filesystem;
  if (read_only && !fs::exists(fs::path{data_dir} / "CURRENT") &&
      fs::exists(fs::path{data_dir} / "log" / "CURRENT"))
    opts.path = (fs::path{data_dir} / "log").string();
  opts.read_only = read_only;
  opts.verify_tail_on_open = verify_tail;
  return events::open_rocksdb_store(opts);
}

int report_failure(std::string_view tool, const error& err) {
  std::cerr << "qvdc " << tool << ": " << err.to_string() << "\n";
  return exit_failed;
}

} // namespace qx::app
