// /api/v1/storage/pools, /api/v1/volumes and /api/v1/images.
#include "handlers_common.hpp"
#include "image_upload.hpp"

namespace qx::api {

namespace {

using actors::image_aggregate;
using actors::storage_pool_aggregate;
using actors::volume_aggregate;
namespace pool = domain::storage_pool;
namespace volume = domain::volume;
namespace image = domain::image;

result<pool::command> pool_create(const json& b, const path_params&) {
  pool::create c;
  status ok = read_string(b, "name", c.name, true, 256);
  if (ok)
    ok = read_string(b, "type", c.type, true, 64);
  if (ok)
    ok = read_u64(b, "capacityBytes", c.capacity_bytes, true);
  if (ok && b.contains("settings")) {
    const auto& s = b.at("settings");
    if (!s.is_object() || s.size() > 64)
      ok = error{errc::invalid_argument,
                 "settings must be an object of at most 64 strings",
                 {{"field", "settings"}}};
    for (auto it = s.begin(); ok && it != s.end(); ++it) {
      if (!it->is_string() || it.key().size() > 128 ||
          it->get_ref<const std::string&>().size() > 4096)
        ok = error{errc::invalid_argument,
                   "settings values must be strings (keys up to 128 bytes)",
                   {{"field", "settings." + it.key()}}};
      else
        c.settings[it.key()] = it->get<std::string>();
    }
  }
  if (!ok)
    return ok.error();
  return pool::command{std::move(c)};
}

result<volume::command> volume_create(const json& b, const path_params&) {
  volume::create c;
  status ok = read_string(b, "name", c.name, true, 256);
  if (ok)
    ok = read_string(b, "poolId", c.pool_id, true, 64);
  if (ok)
    ok = read_u64(b, "sizeBytes", c.size_bytes, true);
  if (ok)
    ok = read_string(b, "format", c.format, false, 16);
  if (ok)
    ok = read_bool(b, "shareable", c.shareable);
  if (!ok)
    return ok.error();
  return volume::command{std::move(c)};
}

result<volume::command> volume_resize(const json& b, const path_params&) {
  volume::resize c;
  if (auto ok = read_u64(b, "sizeBytes", c.size_bytes, true); !ok)
    return ok.error();
  return volume::command{c};
}

template<class Command>
result<volume::command> volume_vm(const json& b, const path_params&) {
  Command c;
  if (auto ok = read_string(b, "vmId", c.vm_id, true, 64); !ok)
    return ok.error();
  return volume::command{std::move(c)};
}

result<image::command> image_create(const json& b, const path_params&) {
  image::create c;
  status ok = read_string(b, "name", c.name, true, 256);
  if (ok)
    ok = read_string(b, "format", c.format, true, 16);
  if (ok)
    ok = read_u64(b, "sizeBytes", c.size_bytes, true);
  if (!ok)
    return ok.error();
  return image::command{std::move(c)};
}

/// The upload with the body already read whole. The server streams this route's body instead
/// (net_server.cpp); this path serves requests routed without a socket, and the route table
/// (405 for other methods, the OpenAPI parity test).
void upload_whole(image_context& ctx, const http_request& req, const path_params&,
                  responder respond) {
  const auto size = req.body.size();
  auto started = image_upload::start(ctx, req, size, size);
  if (auto* refused = std::get_if<http_response>(&started)) {
    respond(std::move(*refused));
    return;
  }
  auto upload = std::get<std::shared_ptr<image_upload>>(std::move(started));
  if (!upload->feed(req.body.data(), size, respond))
    return;
  upload->finish([upload, respond](http_response resp) { respond(std::move(resp)); });
}

} // namespace

void add_storage_routes(router& r) {
  list_route<storage_pool_aggregate>(r, "/api/v1/storage/pools");
  r.add("POST", "/api/v1/storage/pools",
        command_route<storage_pool_aggregate>({"id", "name", "type", "settings", "capacityBytes"},
                                              201, pool_create));
  r.add("DELETE", "/api/v1/storage/pools/{id}",
        command_route<storage_pool_aggregate>({}, 200, [](const json&, const path_params&) {
          return result<pool::command>{pool::remove{}};
        }));
  r.add("POST", "/api/v1/storage/pools/{id}/nodes/{nodeId}",
        command_route<storage_pool_aggregate>({}, 200, [](const json&, const path_params& p) {
          return result<pool::command>{pool::assign{p.at("nodeId")}};
        }));
  r.add("DELETE", "/api/v1/storage/pools/{id}/nodes/{nodeId}",
        command_route<storage_pool_aggregate>({}, 200, [](const json&, const path_params& p) {
          return result<pool::command>{pool::unassign{p.at("nodeId")}};
        }));

  list_route<volume_aggregate>(r, "/api/v1/volumes");
  r.add("POST", "/api/v1/volumes",
        command_route<volume_aggregate>(
            {"id", "name", "poolId", "sizeBytes", "format", "shareable"}, 201, volume_create));
  r.add("PATCH", "/api/v1/volumes/{id}",
        command_route<volume_aggregate>({"sizeBytes"}, 200, volume_resize));
  r.add("DELETE", "/api/v1/volumes/{id}",
        command_route<volume_aggregate>({}, 200, [](const json&, const path_params&) {
          return result<volume::command>{volume::remove{}};
        }));
  r.add("POST", "/api/v1/volumes/{id}/attach",
        command_route<volume_aggregate>({"vmId"}, 200, volume_vm<volume::attach>));
  r.add("POST", "/api/v1/volumes/{id}/detach",
        command_route<volume_aggregate>({"vmId"}, 200, volume_vm<volume::detach>));

  list_route<image_aggregate>(r, "/api/v1/images");
  r.add("POST", "/api/v1/images",
        command_route<image_aggregate>({"id", "name", "format", "sizeBytes"}, 201, image_create));
  r.add("POST", "/api/v1/images/upload", upload_whole);
  r.add("DELETE", "/api/v1/images/{id}",
        command_route<image_aggregate>({}, 200, [](const json&, const path_params&) {
          return result<image::command>{image::remove{}};
        }));
}

} // namespace qx::api
