#include "render_cache.hpp"

#include <functional>

namespace qx::api {

namespace {

std::string key_of(std::string_view kind, std::string_view id) {
  std::string key{kind};
  key += '/';
  key += id;
  return key;
}

} // namespace

render_cache::shard& render_cache::shard_of(const std::string& key) {
  return shards_[std::hash<std::string>{}(key) % shards_.size()];
}

std::shared_ptr<const std::string> render_cache::find(std::string_view kind, std::string_view id,
                                                      std::uint64_t version) {
  const auto key = key_of(kind, id);
  auto& s = shard_of(key);
  std::lock_guard lock{s.mutex};
  const auto it = s.entries.find(key);
  if (it == s.entries.end() || it->second.version != version)
    return nullptr;
  return it->second.body;
}

void render_cache::store(std::string_view kind, std::string_view id, std::uint64_t version,
                         std::shared_ptr<const std::string> body) {
  const auto key = key_of(kind, id);
  auto& s = shard_of(key);
  std::lock_guard lock{s.mutex};
  if (s.entries.size() >= shard_capacity && !s.entries.contains(key))
    s.entries.clear(); // simpler than LRU, and a miss only costs one render
  s.entries[key] = entry{version, std::move(body)};
}

} // namespace qx::api
