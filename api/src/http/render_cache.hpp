#pragma once

// Rendered JSON of resources by (kind, id, version): a GET of an unchanged resource copies a
// string instead of walking the protobuf by reflection. A version pins the content, so an
// entry is never stale; a newer version simply misses and replaces it.

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace qx::api {

class render_cache {
 public:
  /// The body of `kind`/`id` at `version`, if rendered before.
  [[nodiscard]] std::shared_ptr<const std::string> find(std::string_view kind, std::string_view id,
                                                        std::uint64_t version);
  void store(std::string_view kind, std::string_view id, std::uint64_t version,
             std::shared_ptr<const std::string> body);

  /// Entries per shard before the shard starts over (16 shards).
  static constexpr std::size_t shard_capacity = 8192;

 private:
  struct entry {
    std::uint64_t version = 0;
    std::shared_ptr<const std::string> body;
  };
  struct shard {
    std::mutex mutex;
    std::unordered_map<std::string, entry> entries;
  };
  shard& shard_of(const std::string& key);
  std::array<shard, 16> shards_;
};

} // namespace qx::api
