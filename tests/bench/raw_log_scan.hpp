#pragma once

// The replay figures' two readers: the store's `log` column family read with a plain RocksDB
// iterator (no decode: the same-run reference), and the store's own replay of it.
#include <qx/events/rocksdb_store.hpp>

#include <rocksdb/db.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

namespace qx::bench {

/// Records in the log column family of the database at `path` and the seconds the scan took.
/// Aborts when the database does not open or holds no bytes: a reference that failed is no
/// figure.
struct raw_scan_result {
  std::uint64_t records = 0;
  double seconds = 0;
};

inline raw_scan_result raw_log_scan(const std::string& path) {
  std::vector<rocksdb::ColumnFamilyDescriptor> families;
  for (const char* name : events::column_families::in_order)
    families.emplace_back(name, rocksdb::ColumnFamilyOptions{});
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  if (!rocksdb::DB::OpenForReadOnly({}, path, families, &handles, &raw).ok())
    std::abort();
  std::unique_ptr<rocksdb::DB> db{raw};
  rocksdb::ReadOptions ro;
  ro.readahead_size = 2U << 20U;
  const auto started = std::chrono::steady_clock::now();
  raw_scan_result out;
  std::uint64_t bytes = 0;
  {
    std::unique_ptr<rocksdb::Iterator> it{db->NewIterator(ro, handles[1])};
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      bytes += it->key().size() + it->value().size();
      ++out.records;
    }
  }
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  for (auto* h : handles)
    db->DestroyColumnFamilyHandle(h).PermitUncheckedError();
  if (bytes == 0)
    std::abort();
  return out;
}

/// What a replay through the store read: the records and their payload bytes.
struct store_replay_result {
  std::uint64_t records = 0;
  std::uint64_t payload_bytes = 0;
};

/// The whole log read through the store as the read models catch up (visit_all, 4,096 at a
/// time, decode included). Aborts on a read error: a failed read is no figure.
inline store_replay_result replay_through_store(events::event_store& store) {
  store_replay_result out;
  for (std::uint64_t pos = 1;;) {
    auto n = store.visit_all(pos, 4096, [&](const events::recorded_event& ev) {
      out.payload_bytes += ev.payload.size();
      pos = ev.position + 1;
      return true;
    });
    if (!n)
      std::abort();
    if (*n == 0)
      return out;
    out.records += *n;
  }
}

} // namespace qx::bench
