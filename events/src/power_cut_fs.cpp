#include "qx/events/power_cut_fs.hpp"

#include <rocksdb/env.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <system_error>

namespace qx::events {

namespace fs = std::filesystem;

namespace {

/// One spelling per path: RocksDB names a file "dir//name" or "dir/name" as it pleases.
std::string normal(const std::string& path) {
  auto p = fs::path{path}.lexically_normal().string();
  while (p.size() > 1 && p.back() == '/')
    p.pop_back();
  return p;
}

std::string parent_of(const std::string& path) {
  return fs::path{path}.parent_path().string();
}

std::optional<std::string> contents_of(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  if (!in)
    return std::nullopt;
  return std::string{std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
}

rocksdb::IOStatus cut_error() {
  return rocksdb::IOStatus::IOError("power cut (power_cut_fs)");
}

/// A writable file whose appends, truncations and syncs the file system hears of.
class tracked_file final : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  tracked_file(std::unique_ptr<rocksdb::FSWritableFile> target, power_cut_fs& fs, std::string path,
               std::uint64_t size)
      : FSWritableFileOwnerWrapper(std::move(target)), fs_(fs), path_(std::move(path)),
        size_(size) {}

  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                           rocksdb::IODebugContext* dbg) override {
    return fs_.on_append(path_, size_ + data.size(), [&] {
      auto s = target()->Append(data, options, dbg);
      if (s.ok())
        size_ += data.size();
      return s;
    });
  }
  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                           const rocksdb::DataVerificationInfo& info,
                           rocksdb::IODebugContext* dbg) override {
    return fs_.on_append(path_, size_ + data.size(), [&] {
      auto s = target()->Append(data, options, info, dbg);
      if (s.ok())
        size_ += data.size();
      return s;
    });
  }
  rocksdb::IOStatus PositionedAppend(const rocksdb::Slice& data, std::uint64_t offset,
                                     const rocksdb::IOOptions& options,
                                     rocksdb::IODebugContext* dbg) override {
    const auto end = std::max(size_, offset + data.size());
    return fs_.on_append(path_, end, [&] {
      auto s = target()->PositionedAppend(data, offset, options, dbg);
      if (s.ok())
        size_ = end;
      return s;
    });
  }
  rocksdb::IOStatus PositionedAppend(const rocksdb::Slice& data, std::uint64_t offset,
                                     const rocksdb::IOOptions& options,
                                     const rocksdb::DataVerificationInfo& info,
                                     rocksdb::IODebugContext* dbg) override {
    const auto end = std::max(size_, offset + data.size());
    return fs_.on_append(path_, end, [&] {
      auto s = target()->PositionedAppend(data, offset, options, info, dbg);
      if (s.ok())
        size_ = end;
      return s;
    });
  }
  rocksdb::IOStatus Truncate(std::uint64_t size, const rocksdb::IOOptions& options,
                             rocksdb::IODebugContext* dbg) override {
    return fs_.on_truncate(path_, size, [&] {
      auto s = target()->Truncate(size, options, dbg);
      if (s.ok())
        size_ = size;
      return s;
    });
  }
  rocksdb::IOStatus Sync(const rocksdb::IOOptions& options, rocksdb::IODebugContext* dbg) override {
    return fs_.on_sync(path_, [&] { return target()->Sync(options, dbg); });
  }
  rocksdb::IOStatus Fsync(const rocksdb::IOOptions& options,
                          rocksdb::IODebugContext* dbg) override {
    return fs_.on_sync(path_, [&] { return target()->Fsync(options, dbg); });
  }
  // sync_file_range(2) promises nothing about power loss: it counts as no sync.
  rocksdb::IOStatus RangeSync(std::uint64_t /*offset*/, std::uint64_t /*nbytes*/,
                              const rocksdb::IOOptions& /*options*/,
                              rocksdb::IODebugContext* /*dbg*/) override {
    return fs_.power_is_cut() ? cut_error() : rocksdb::IOStatus::OK();
  }
  // A file's size and what it holds do not depend on when it is closed: closing is never
  // refused, so a store shutting down after a cut releases its descriptors.
  rocksdb::IOStatus Close(const rocksdb::IOOptions& options,
                          rocksdb::IODebugContext* dbg) override {
    return target()->Close(options, dbg);
  }

 private:
  power_cut_fs& fs_;
  std::string path_;
  std::uint64_t size_;
};

/// A directory whose fsync makes its entries durable.
class tracked_directory final : public rocksdb::FSDirectoryWrapper {
 public:
  tracked_directory(std::unique_ptr<rocksdb::FSDirectory> target, power_cut_fs& fs,
                    std::string path)
      : FSDirectoryWrapper(std::move(target)), fs_(fs), path_(std::move(path)) {}

  rocksdb::IOStatus Fsync(const rocksdb::IOOptions& options,
                          rocksdb::IODebugContext* dbg) override {
    return fs_.on_dir_sync(path_, [&] { return FSDirectoryWrapper::Fsync(options, dbg); });
  }
  rocksdb::IOStatus FsyncWithDirOptions(const rocksdb::IOOptions& options,
                                        rocksdb::IODebugContext* dbg,
                                        const rocksdb::DirFsyncOptions& dir_options) override {
    return fs_.on_dir_sync(
        path_, [&] { return FSDirectoryWrapper::FsyncWithDirOptions(options, dbg, dir_options); });
  }

 private:
  power_cut_fs& fs_;
  std::string path_;
};

} // namespace

power_cut_fs::power_cut_fs() : FileSystemWrapper(rocksdb::FileSystem::Default()) {}

void power_cut_fs::cut_power() {
  std::lock_guard lock{mutex_};
  cut_ = true;
}

void power_cut_fs::cut_power_after_writes(std::uint64_t n) {
  std::lock_guard lock{mutex_};
  writes_before_cut_ = n;
}

bool power_cut_fs::power_is_cut() const {
  std::lock_guard lock{mutex_};
  return cut_;
}

std::uint64_t power_cut_fs::unsynced_bytes() const {
  std::lock_guard lock{mutex_};
  std::uint64_t n = 0;
  for (const auto& [path, f] : files_)
    n += f.written > f.synced ? f.written - f.synced : 0;
  return n;
}

rocksdb::IOStatus power_cut_fs::refuse_if_cut() const {
  return cut_ ? cut_error() : rocksdb::IOStatus::OK();
}

rocksdb::IOStatus power_cut_fs::while_powered(const std::function<rocksdb::IOStatus()>& op) {
  std::lock_guard lock{mutex_};
  if (auto s = refuse_if_cut(); !s.ok())
    return s;
  return op();
}

void power_cut_fs::created(const std::string& path, std::uint64_t size_now) {
  files_[path] = file_state{size_now, 0};
  dir_changes_[parent_of(path)].push_back(dir_change{dir_change::kind::created, path, {}, {}});
}

rocksdb::IOStatus power_cut_fs::track_writable(const std::string& path, opened how,
                                               std::unique_ptr<rocksdb::FSWritableFile>* result) {
  std::uint64_t size = 0;
  switch (how) {
  case opened::new_name: // nothing of it is durable yet, its name included
    created(path, 0);
    break;
  case opened::emptied: // an existing name made empty: only its contents are new
    files_[path] = file_state{0, 0};
    break;
  case opened::to_append: {
    std::error_code ec;
    size = fs::file_size(path, ec);
    if (ec)
      size = 0;
    // What it held before this run is durable; what this run writes and does not sync is not.
    files_.try_emplace(path, file_state{size, size});
    break;
  }
  }
  *result = std::make_unique<tracked_file>(std::move(*result), *this, path, size);
  return rocksdb::IOStatus::OK();
}

rocksdb::IOStatus power_cut_fs::NewWritableFile(const std::string& fname,
                                                const rocksdb::FileOptions& opts,
                                                std::unique_ptr<rocksdb::FSWritableFile>* result,
                                                rocksdb::IODebugContext* dbg) {
  std::lock_guard lock{mutex_};
  if (auto s = refuse_if_cut(); !s.ok())
    return s;
  const auto path = normal(fname);
  const bool existed = fs::exists(path);
  if (auto s = target()->NewWritableFile(fname, opts, result, dbg); !s.ok())
    return s;
  return track_writable(path, existed ? opened::emptied : opened::new_name, result);
}

rocksdb::IOStatus power_cut_fs::ReopenWritableFile(const std::string& fname,
                                                   const rocksdb::FileOptions& opts,
                                                   std::unique_ptr<rocksdb::FSWritableFile>* result,
                                                   rocksdb::IODebugContext* dbg) {
  std::lock_guard lock{mutex_};
  if (auto s = refuse_if_cut(); !s.ok())
    return s;
  const auto path = normal(fname);
  const bool existed = fs::exists(path);
  if (auto s = target()->ReopenWritableFile(fname, opts, result, dbg); !s.ok())
    return s;
  return track_writable(path, existed ? opened::to_append : opened::new_name, result);
}

rocksdb::IOStatus
power_cut_fs::ReuseWritableFile(const std::string& /*fname*/, const std::string& /*old_fname*/,
                                const rocksdb::FileOptions& /*opts*/,
                                std::unique_ptr<rocksdb::FSWritableFile>* /*result*/,
                                rocksdb::IODebugContext* /*dbg*/) {
  // Recycled WAL files (recycle_log_file_num) are off in the store; a store that turned them
  // on would need this modelled, so say so rather than track it wrongly.
  return rocksdb::IOStatus::NotSupported("power_cut_fs does not model recycled files");
}

rocksdb::IOStatus
power_cut_fs::NewRandomRWFile(const std::string& /*fname*/, const rocksdb::FileOptions& /*opts*/,
                              std::unique_ptr<rocksdb::FSRandomRWFile>* /*result*/,
                              rocksdb::IODebugContext* /*dbg*/) {
  return rocksdb::IOStatus::NotSupported("power_cut_fs does not model random-write files");
}

rocksdb::IOStatus power_cut_fs::NewDirectory(const std::string& name,
                                             const rocksdb::IOOptions& io_opts,
                                             std::unique_ptr<rocksdb::FSDirectory>* result,
                                             rocksdb::IODebugContext* dbg) {
  if (auto s = target()->NewDirectory(name, io_opts, result, dbg); !s.ok())
    return s;
  *result = std::make_unique<tracked_directory>(std::move(*result), *this, normal(name));
  return rocksdb::IOStatus::OK();
}

rocksdb::IOStatus power_cut_fs::RenameFile(const std::string& src, const std::string& target_name,
                                           const rocksdb::IOOptions& opts,
                                           rocksdb::IODebugContext* dbg) {
  std::lock_guard lock{mutex_};
  if (auto s = refuse_if_cut(); !s.ok())
    return s;
  const auto from = normal(src);
  const auto to = normal(target_name);
  auto displaced = contents_of(to);
  if (auto s = target()->RenameFile(src, target_name, opts, dbg); !s.ok())
    return s;
  if (auto f = files_.extract(from); !f.empty()) {
    f.key() = to;
    files_.insert_or_assign(to, f.mapped());
  } else {
    files_.erase(to);
  }
  dir_changes_[parent_of(to)].push_back(
      dir_change{dir_change::kind::renamed, to, from, std::move(displaced)});
  return rocksdb::IOStatus::OK();
}

rocksdb::IOStatus power_cut_fs::LinkFile(const std::string& src, const std::string& target_name,
                                         const rocksdb::IOOptions& opts,
                                         rocksdb::IODebugContext* dbg) {
  std::lock_guard lock{mutex_};
  if (auto s = refuse_if_cut(); !s.ok())
    return s;
  if (auto s = target()->LinkFile(src, target_name, opts, dbg); !s.ok())
    return s;
  const auto to = normal(target_name);
  dir_changes_[parent_of(to)].push_back(dir_change{dir_change::kind::linked, to, {}, {}});
  return rocksdb::IOStatus::OK();
}

rocksdb::IOStatus power_cut_fs::DeleteFile(const std::string& fname, const rocksdb::IOOptions& opts,
                                           rocksdb::IODebugContext* dbg) {
  std::lock_guard lock{mutex_};
  if (auto s = refuse_if_cut(); !s.ok())
    return s;
  if (auto s = target()->DeleteFile(fname, opts, dbg); !s.ok())
    return s;
  const auto path = normal(fname);
  files_.erase(path);
  // A deleted file whose creation was never made durable leaves nothing to undo.
  auto& changes = dir_changes_[parent_of(path)];
  std::erase_if(changes, [&](const dir_change& c) {
    return c.path == path && c.what != dir_change::kind::renamed;
  });
  return rocksdb::IOStatus::OK();
}

rocksdb::IOStatus power_cut_fs::CreateDir(const std::string& dirname,
                                          const rocksdb::IOOptions& opts,
                                          rocksdb::IODebugContext* dbg) {
  return while_powered([&] { return target()->CreateDir(dirname, opts, dbg); });
}

rocksdb::IOStatus power_cut_fs::CreateDirIfMissing(const std::string& dirname,
                                                   const rocksdb::IOOptions& opts,
                                                   rocksdb::IODebugContext* dbg) {
  return while_powered([&] { return target()->CreateDirIfMissing(dirname, opts, dbg); });
}

rocksdb::IOStatus power_cut_fs::DeleteDir(const std::string& dirname,
                                          const rocksdb::IOOptions& opts,
                                          rocksdb::IODebugContext* dbg) {
  return while_powered([&] { return target()->DeleteDir(dirname, opts, dbg); });
}

rocksdb::IOStatus power_cut_fs::on_append(const std::string& path, std::uint64_t end,
                                          const std::function<rocksdb::IOStatus()>& write) {
  return while_powered([&] {
    auto s = write();
    if (s.ok())
      files_[path].written = end;
    if (writes_before_cut_ > 0 && --writes_before_cut_ == 0)
      cut_ = true;
    return s;
  });
}

rocksdb::IOStatus power_cut_fs::on_truncate(const std::string& path, std::uint64_t size,
                                            const std::function<rocksdb::IOStatus()>& cut) {
  return while_powered([&] {
    auto s = cut();
    if (s.ok()) {
      auto& f = files_[path];
      f.written = size;
      // A shrink is not durable until synced; keeping the shorter synced length is what a cut
      // keeps of the data, and RocksDB only truncates preallocated space it never wrote.
      f.synced = std::min(f.synced, size);
    }
    return s;
  });
}

rocksdb::IOStatus power_cut_fs::on_sync(const std::string& path,
                                        const std::function<rocksdb::IOStatus()>& sync) {
  return while_powered([&] {
    auto s = sync();
    if (s.ok()) {
      auto& f = files_[path];
      f.synced = f.written;
    }
    return s;
  });
}

rocksdb::IOStatus power_cut_fs::on_dir_sync(const std::string& dir,
                                            const std::function<rocksdb::IOStatus()>& sync) {
  return while_powered([&] {
    auto s = sync();
    if (s.ok())
      dir_changes_.erase(dir);
    return s;
  });
}

status power_cut_fs::drop_unsynced() {
  std::lock_guard lock{mutex_};
  const auto failed = [](const std::string& what, const std::string& path,
                         const std::error_code& ec) {
    return error{errc::io_error, what + " " + path + ": " + ec.message(), {{"path", path}}};
  };
  std::error_code ec;
  // Tails first, under the names the files have now; then the directory changes, newest first.
  for (const auto& [path, f] : files_) {
    if (f.written <= f.synced || !fs::exists(path))
      continue;
    fs::resize_file(path, f.synced, ec);
    if (ec)
      return failed("cannot truncate", path, ec);
  }
  for (auto& [dir, changes] : dir_changes_) {
    // Newest first (by index: clang's view of libstdc++ 12's ranges breaks std::views::reverse).
    for (std::size_t i = changes.size(); i-- > 0;) {
      const auto& change = changes[i];
      switch (change.what) {
      case dir_change::kind::created:
      case dir_change::kind::linked:
        fs::remove(change.path, ec);
        if (ec)
          return failed("cannot remove", change.path, ec);
        break;
      case dir_change::kind::renamed:
        // Deleted since (its deletion kept, as every deletion): only the name it replaced is
        // restored.
        if (fs::exists(change.path)) {
          fs::rename(change.path, change.from, ec);
          if (ec)
            return failed("cannot undo the rename of", change.path, ec);
        }
        if (change.displaced) {
          std::ofstream out{change.path, std::ios::binary | std::ios::trunc};
          out << *change.displaced;
          if (!out)
            return error{errc::io_error, "cannot restore " + change.path, {{"path", change.path}}};
        }
        break;
      }
    }
  }
  files_.clear();
  dir_changes_.clear();
  cut_ = false;
  return {};
}

} // namespace qx::events
