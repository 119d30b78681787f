#pragma once

// A file system for the store that can lose power: it passes every operation through to the
// machine's file system and remembers what a power cut would not keep: each file's bytes
// written since its last sync, and each directory's entries (files created, renamed, linked)
// since that directory's last fsync. cut_power() stops every later write, sync and directory
// change (the machine is off); drop_unsynced(), once the store is closed, makes the files on disk
// what the disk would hold after the cut: unsynced tails truncated, files whose directory entry
// was never synced removed, unsynced renames undone (the name they replaced restored).
//
// Used by the power-loss tests under the store and under the whole server (docs/operations.md,
// "Durability"). Not modelled: a deletion a power cut would undo (RocksDB only deletes files it
// no longer needs), directories created by the run (the tests create theirs first), torn
// writes inside a synced range (the disk's own promise).
#include "qx/base/error.hpp"

#include <rocksdb/file_system.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace qx::events {

class power_cut_fs final : public rocksdb::FileSystemWrapper {
 public:
  /// Over the machine's file system.
  power_cut_fs();

  static const char* kClassName() { return "QxPowerCutFileSystem"; }
  [[nodiscard]] const char* Name() const override { return kClassName(); }

  /// The machine loses power now: every later write, sync and directory change fails.
  void cut_power();
  [[nodiscard]] bool power_is_cut() const;
  /// The power goes right after the `n`-th write from now (counted over every file): a cut
  /// that lands between a write and its sync, which a cut from outside rarely hits.
  void cut_power_after_writes(std::uint64_t n);

  /// What a disk holds after the cut: call once the store on this file system is closed.
  /// Restores power: the file system tracks again from the state it leaves.
  [[nodiscard]] status drop_unsynced();

  /// Bytes written and not synced, over every open or closed file (the tests' sanity check
  /// that a cut had something to lose).
  [[nodiscard]] std::uint64_t unsynced_bytes() const;

  rocksdb::IOStatus NewWritableFile(const std::string& fname, const rocksdb::FileOptions& opts,
                                    std::unique_ptr<rocksdb::FSWritableFile>* result,
                                    rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus ReopenWritableFile(const std::string& fname, const rocksdb::FileOptions& opts,
                                       std::unique_ptr<rocksdb::FSWritableFile>* result,
                                       rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus ReuseWritableFile(const std::string& fname, const std::string& old_fname,
                                      const rocksdb::FileOptions& opts,
                                      std::unique_ptr<rocksdb::FSWritableFile>* result,
                                      rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus NewRandomRWFile(const std::string& fname, const rocksdb::FileOptions& opts,
                                    std::unique_ptr<rocksdb::FSRandomRWFile>* result,
                                    rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus NewDirectory(const std::string& name, const rocksdb::IOOptions& io_opts,
                                 std::unique_ptr<rocksdb::FSDirectory>* result,
                                 rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus RenameFile(const std::string& src, const std::string& target,
                               const rocksdb::IOOptions& opts,
                               rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus LinkFile(const std::string& src, const std::string& target,
                             const rocksdb::IOOptions& opts, rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus DeleteFile(const std::string& fname, const rocksdb::IOOptions& opts,
                               rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus CreateDir(const std::string& dirname, const rocksdb::IOOptions& opts,
                              rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus CreateDirIfMissing(const std::string& dirname, const rocksdb::IOOptions& opts,
                                       rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus DeleteDir(const std::string& dirname, const rocksdb::IOOptions& opts,
                              rocksdb::IODebugContext* dbg) override;

  // The tracked files and directories call these (under the file system's lock).
  [[nodiscard]] rocksdb::IOStatus on_append(const std::string& path, std::uint64_t end,
                                            const std::function<rocksdb::IOStatus()>& write);
  [[nodiscard]] rocksdb::IOStatus on_truncate(const std::string& path, std::uint64_t size,
                                              const std::function<rocksdb::IOStatus()>& cut);
  [[nodiscard]] rocksdb::IOStatus on_sync(const std::string& path,
                                          const std::function<rocksdb::IOStatus()>& sync);
  [[nodiscard]] rocksdb::IOStatus on_dir_sync(const std::string& dir,
                                              const std::function<rocksdb::IOStatus()>& sync);

 private:
  struct file_state {
    std::uint64_t written = 0; ///< size as the writer left it
    std::uint64_t synced = 0;  ///< what a cut keeps
  };
  /// A directory change not yet made durable by an fsync of its directory.
  struct dir_change {
    enum class kind : std::uint8_t { created, renamed, linked };
    kind what = kind::created;
    std::string path;                     ///< the name it made
    std::string from;                     ///< renamed: the name it took the file from
    std::optional<std::string> displaced; ///< renamed: the contents of the file it replaced
  };

  [[nodiscard]] rocksdb::IOStatus refuse_if_cut() const;
  /// `op` under the lock, unless the power is cut (then the cut's error, `op` not run).
  [[nodiscard]] rocksdb::IOStatus while_powered(const std::function<rocksdb::IOStatus()>& op);
  void created(const std::string& path, std::uint64_t size_now);
  enum class opened : std::uint8_t { new_name, emptied, to_append };
  [[nodiscard]] rocksdb::IOStatus track_writable(const std::string& path, opened how,
                                                 std::unique_ptr<rocksdb::FSWritableFile>* result);

  mutable std::mutex mutex_;
  bool cut_ = false;
  std::uint64_t writes_before_cut_ = 0;                        ///< 0: no cut planned
  std::map<std::string, file_state> files_;                    ///< by current path
  std::map<std::string, std::vector<dir_change>> dir_changes_; ///< by directory
};

} // namespace qx::events
