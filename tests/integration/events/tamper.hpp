#pragma once

// Reaches below the event store into its RocksDB database, as a disk fault or an attacker
// would, to change stored records.

#include <qx/events/rocksdb_store.hpp>

#include <rocksdb/db.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace qx::test {

/// Opens the store's database directly and runs `change` on the log column family.
inline void
tamper_log(const std::string& path,
           const std::function<void(rocksdb::DB&, rocksdb::ColumnFamilyHandle*)>& change) {
  using namespace events;
  std::vector<rocksdb::ColumnFamilyDescriptor> families{
      {rocksdb::kDefaultColumnFamilyName, {}}, {column_families::log, {}},
      {column_families::streams, {}},          {column_families::commands, {}},
      {column_families::checkpoints, {}},      {column_families::snapshots, {}}};
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  auto s = rocksdb::DB::Open({}, path, families, &handles, &raw);
  if (!s.ok())
    throw std::runtime_error("tamper open: " + s.ToString());
  std::unique_ptr<rocksdb::DB> db{raw};
  change(*db, handles[1]);
  for (auto* h : handles)
    db->DestroyColumnFamilyHandle(h).PermitUncheckedError();
  db->Close().PermitUncheckedError();
}

/// Flips one bit of the stored record at `position`, `offset` bytes into it (from the end
/// when negative).
inline void flip_byte(const std::string& path, std::uint64_t position, long offset) {
  tamper_log(path, [&](rocksdb::DB& db, rocksdb::ColumnFamilyHandle* log) {
    std::string value;
    if (!db.Get({}, log, events::position_key(position), &value).ok())
      throw std::runtime_error("no record to flip");
    const auto at = offset >= 0 ? static_cast<std::size_t>(offset)
                                : value.size() - static_cast<std::size_t>(-offset);
    value[at] = static_cast<char>(value[at] ^ 0x04);
    if (!db.Put({}, log, events::position_key(position), value).ok())
      throw std::runtime_error("put failed");
  });
}

} // namespace qx::test
