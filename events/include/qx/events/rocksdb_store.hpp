#pragma once

#include "qx/base/clock.hpp"
#include "qx/events/event_store.hpp"

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

namespace rocksdb {
class FileSystem;
} // namespace rocksdb

namespace qx::events {

/// How the single writer groups appends into one synced RocksDB WriteBatch.
struct group_commit_options {
  /// Most events in one batch. Default 4096.
  std::size_t max_batch_events = 4096;
  /// Most payload bytes in one batch. Default 16 MiB.
  std::size_t max_batch_bytes = 16U << 20U;
  /// How long the writer waits for more appends once it has at least one. Default 0: it
  /// takes what has queued while the previous batch was being synced (natural batching),
  /// which is best for latency; a few hundred microseconds trade latency for larger batches.
  std::chrono::microseconds max_batch_delay{0};
};

struct rocksdb_store_options {
  /// Folder of the RocksDB database. Required.
  std::string path;
  /// Create the database when the folder holds none. Default true.
  bool create_if_missing = true;
  /// Open without writing (verify, dump, stats). Appends then fail with errc::unavailable.
  bool read_only = false;
  /// Check the hash chain of the newest records when opening. Default true.
  bool verify_tail_on_open = true;
  /// How many of the newest records the open-time check covers. Default 1024.
  std::size_t tail_check_records = 1024;
  /// Check every record's own SHA-256 on read_all/read_stream. Default false: RocksDB's block
  /// checksums (always verified on read) already turn disk damage into an error naming the
  /// position; the hash chain, checked on open (tail) and by verify_log, finds records
  /// changed through RocksDB itself. Turning it on costs about half the replay speed
  /// (docs/performance.md).
  bool verify_hashes_on_read = false;
  group_commit_options group_commit;
  append_limits limits;
  /// Commit time source. Default: the wall clock.
  clock* time_source = nullptr;
  /// The file system RocksDB writes through. Default (null): the machine's. The power-loss
  /// tests put a power_cut_fs here.
  std::shared_ptr<rocksdb::FileSystem> file_system;
  /// Test hook, never for a real log: appends are acknowledged without syncing them, so a power
  /// cut loses acknowledged events. The power-loss test turns it on to prove it would see that.
  bool unsafe_skip_sync = false;
};

/// Opens (or creates) the event log in RocksDB. Fails with errc::corrupted, naming the
/// position, when the open-time tail check finds a break.
[[nodiscard]] result<std::unique_ptr<event_store>>
open_rocksdb_store(const rocksdb_store_options& opts);

/// Names of the column families, for tools and tests that look below the store.
namespace column_families {
inline constexpr const char* log = "log";           ///< position (BE u64) -> record
inline constexpr const char* streams = "streams";   ///< len + stream + version (BE) -> position
inline constexpr const char* commands = "commands"; ///< command id -> CommandRecord
inline constexpr const char* checkpoints = "checkpoints"; ///< consumer -> position (BE u64)
inline constexpr const char* snapshots = "snapshots";     ///< stream -> Snapshot
/// Every family in the order the store opens them ("default" is RocksDB's own), for tools and
/// tests that open the database below the store.
inline constexpr const char* in_order[] = {"default", log,         streams,
                                           commands,  checkpoints, snapshots};
} // namespace column_families

/// The key of a position in the log column family (8 bytes, big-endian).
[[nodiscard]] std::string position_key(std::uint64_t position);

} // namespace qx::events
