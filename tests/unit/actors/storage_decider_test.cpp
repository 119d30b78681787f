// Storage pool and volume deciders.
#include <qx/actors/domain/storage_pool.hpp>
#include <qx/actors/domain/volume.hpp>

#include <gtest/gtest.h>

#include <optional>

using namespace qx;
using namespace qx::domain;

namespace {

template<class Decide, class Evolve, class State, class Command>
std::optional<State> apply(Decide decide, Evolve evolve, State s, const Command& c, error* err) {
  auto d = decide(s, c);
  if (!d) {
    if (err != nullptr)
      *err = d.error();
    return std::nullopt;
  }
  for (const auto& ev : *d)
    evolve(s, ev);
  return s;
}

std::optional<storage_pool::state> run(storage_pool::state s, const storage_pool::command& c,
                                       error* err = nullptr) {
  return apply(storage_pool::decide, storage_pool::evolve, std::move(s), c, err);
}
std::optional<volume::state> run(volume::state s, const volume::command& c, error* err = nullptr) {
  return apply(volume::decide, volume::evolve, std::move(s), c, err);
}

storage_pool::create dir_pool(std::uint64_t capacity = 1000) {
  return {"local", "dir", {{"path", "/var/lib/qx/pool"}}, capacity};
}

TEST(storage_pool_decider, create_validates_type_and_settings_naming_the_field) {
  struct bad {
    storage_pool::create cmd;
    std::string field;
  };
  const std::vector<bad> cases = {
      {{"", "dir", {{"path", "/p"}}, 10}, "name"},
      {{"p", "zfs", {}, 10}, "type"},
      {{"p", "dir", {}, 10}, "settings.path"},
      {{"p", "dir", {{"path", "relative/p"}}, 10}, "settings.path"},
      {{"p", "dir", {{"path", "/a/../etc"}}, 10}, "settings.path"},
      {{"p", "dir", {{"path", "/a/.."}}, 10}, "settings.path"},
      {{"p", "dir", {{"path", "/p"}, {"extra", "x"}}, 10}, "settings.extra"},
      {{"p", "nfs", {{"server", "nas"}}, 10}, "settings.export"},
      {{"p", "ceph-rbd", {{"monitors", "m1"}}, 10}, "settings.pool"},
      {{"p", "iscsi", {{"portal", "x"}, {"target", "bad\ntarget"}}, 10}, "settings.target"},
      {{"p", "dir", {{"path", "/p"}}, 0}, "capacity_bytes"},
  };
  for (const auto& b : cases) {
    error err;
    EXPECT_FALSE(run(storage_pool::initial("p1"), b.cmd, &err)) << b.field;
    EXPECT_EQ(err.code, errc::invalid_argument) << b.field;
    EXPECT_EQ(err.details["field"], b.field);
  }
  EXPECT_TRUE(run(storage_pool::initial("p1"),
                  storage_pool::create{"n", "nfs", {{"server", "nas"}, {"export", "/x"}}, 1}));
}

TEST(storage_pool_decider, volumes_fit_the_capacity_exactly_and_no_more) {
  auto s = *run(storage_pool::initial("p1"), dir_pool(1000));
  s = *run(s, storage_pool::add_volume{"v1", 600});
  s = *run(s, storage_pool::add_volume{"v2", 400});
  EXPECT_EQ(storage_pool::allocated_bytes(s), 1000U);
  error err;
  EXPECT_FALSE(run(s, storage_pool::add_volume{"v3", 1}, &err));
  EXPECT_EQ(err.code, errc::resource_exhausted);
  EXPECT_EQ(err.details.at("reason"), "POOL_FULL");
  EXPECT_FALSE(run(s, storage_pool::add_volume{"v1", 1}, &err));
  EXPECT_EQ(err.code, errc::already_exists);
  s = *run(s, storage_pool::remove_volume{"v2"});
  EXPECT_FALSE(run(s, storage_pool::resize_volume{"v1", 500}, &err));
  EXPECT_EQ(err.details.at("reason"), "VOLUME_SHRINK_REFUSED");
  s = *run(s, storage_pool::resize_volume{"v1", 1000});
  EXPECT_FALSE(run(s, storage_pool::resize_volume{"v1", 1001}, &err));
  EXPECT_EQ(err.details.at("reason"), "POOL_FULL");
  EXPECT_FALSE(run(s, storage_pool::resize_volume{"nope", 1}, &err));
  EXPECT_EQ(err.code, errc::not_found);
}

TEST(storage_pool_decider, assignment_to_nodes_and_delete_only_when_empty) {
  auto s = *run(storage_pool::initial("p1"), dir_pool());
  s = *run(s, storage_pool::assign{"n1"});
  EXPECT_TRUE(storage_pool::decide(s, storage_pool::assign{"n1"})->empty());
  s = *run(s, storage_pool::assign{"n2"});
  EXPECT_EQ(s.node_ids_size(), 2);
  s = *run(s, storage_pool::unassign{"n1"});
  error err;
  EXPECT_FALSE(run(s, storage_pool::unassign{"n1"}, &err));
  EXPECT_EQ(err.details.at("reason"), "NODE_NOT_ASSIGNED");
  s = *run(s, storage_pool::add_volume{"v1", 10});
  EXPECT_FALSE(run(s, storage_pool::remove{}, &err));
  EXPECT_EQ(err.details.at("reason"), "POOL_NOT_EMPTY");
  s = *run(s, storage_pool::remove_volume{"v1"});
  s = *run(s, storage_pool::remove{});
  EXPECT_FALSE(run(s, storage_pool::assign{"n3"}, &err));
  EXPECT_EQ(err.details.at("reason"), "DELETED");
  EXPECT_FALSE(run(storage_pool::initial("p2"), storage_pool::assign{"n3"}, &err));
  EXPECT_EQ(err.code, errc::not_found);
  EXPECT_FALSE(run(s, dir_pool(), &err));
  EXPECT_EQ(err.code, errc::already_exists);
}

TEST(volume_decider, create_validates_naming_the_field) {
  struct bad {
    volume::create cmd;
    std::string field;
  };
  const std::vector<bad> cases = {
      {{"", "p1", volume::min_size, "raw", false}, "name"},
      {{"d", "", volume::min_size, "raw", false}, "pool_id"},
      {{"d", "p1", volume::min_size - 1, "raw", false}, "size_bytes"},
      {{"d", "p1", volume::max_size + 1, "raw", false}, "size_bytes"},
      {{"d", "p1", volume::min_size, "vmdk", false}, "format"},
  };
  for (const auto& b : cases) {
    error err;
    EXPECT_FALSE(run(volume::initial("v1"), b.cmd, &err)) << b.field;
    EXPECT_EQ(err.details["field"], b.field);
  }
}

TEST(volume_decider, size_grows_only) {
  auto s = *run(volume::initial("v1"), volume::create{"d", "p1", volume::min_size * 2});
  error err;
  EXPECT_FALSE(run(s, volume::resize{volume::min_size}, &err));
  EXPECT_EQ(err.details.at("reason"), "VOLUME_SHRINK_REFUSED");
  EXPECT_TRUE(volume::decide(s, volume::resize{volume::min_size * 2})->empty());
  s = *run(s, volume::resize{volume::min_size * 3});
  EXPECT_EQ(s.size_bytes(), volume::min_size * 3);
}

TEST(volume_decider, one_vm_at_a_time_unless_shareable) {
  auto s = *run(volume::initial("v1"), volume::create{"d", "p1", volume::min_size});
  s = *run(s, volume::attach{"vm-1"});
  EXPECT_TRUE(volume::decide(s, volume::attach{"vm-1"})->empty());
  error err;
  EXPECT_FALSE(run(s, volume::attach{"vm-2"}, &err));
  EXPECT_EQ(err.details.at("reason"), "VOLUME_IN_USE");
  EXPECT_FALSE(run(s, volume::remove{}, &err));
  EXPECT_EQ(err.details.at("reason"), "VOLUME_ATTACHED");
  EXPECT_FALSE(run(s, volume::detach{"vm-2"}, &err));
  EXPECT_EQ(err.details.at("reason"), "VOLUME_NOT_ATTACHED");
  s = *run(s, volume::detach{"vm-1"});
  s = *run(s, volume::remove{});
  EXPECT_FALSE(run(s, volume::attach{"vm-1"}, &err));
  EXPECT_EQ(err.details.at("reason"), "DELETED");

  auto shared =
      *run(volume::initial("v2"), volume::create{"d", "p1", volume::min_size, "raw", true});
  shared = *run(shared, volume::attach{"vm-1"});
  shared = *run(shared, volume::attach{"vm-2"});
  EXPECT_EQ(shared.attached_vm_ids_size(), 2);
}

TEST(volume_decider, commands_before_create_are_not_found) {
  for (const volume::command& c : std::vector<volume::command>{
           volume::resize{1}, volume::attach{"vm"}, volume::detach{"vm"}, volume::remove{}}) {
    error err;
    EXPECT_FALSE(run(volume::initial("v9"), c, &err)) << volume::name_of(c);
    EXPECT_EQ(err.code, errc::not_found);
  }
}

} // namespace
