#include "qx/actors/datacenter.hpp"
#include "qx/actors/dropped_outcome.hpp"

#include "qx/actors/domain/placement.hpp"

#include <qx/events/event_store.hpp>

#include <caf/all.hpp>

#include <functional>
#include <memory>

namespace qx::actors {

namespace {

namespace vm = domain::vm;
namespace node = domain::node;

struct coordinator_state {
  static inline const char* name = "datacenter";
  datacenter dirs;
  std::set<std::string> node_ids; // every registered node, for placement
  /// Reservations chosen and not yet visible in the node states placement reads.
  domain::placement::in_flight reserving;
};

using coordinator_pointer = datacenter_actor::stateful_pointer<coordinator_state>;

template<class A>
const directory_actor<A>& dir_of(const datacenter& dc) {
  if constexpr (std::is_same_v<A, vm_aggregate>)
    return dc.vms;
  else if constexpr (std::is_same_v<A, node_aggregate>)
    return dc.nodes;
  else if constexpr (std::is_same_v<A, cluster_aggregate>)
    return dc.clusters;
  else if constexpr (std::is_same_v<A, storage_pool_aggregate>)
    return dc.pools;
  else if constexpr (std::is_same_v<A, volume_aggregate>)
    return dc.volumes;
  else if constexpr (std::is_same_v<A, network_aggregate>)
    return dc.networks;
  else if constexpr (std::is_same_v<A, security_group_aggregate>)
    return dc.security_groups;
  else if constexpr (std::is_same_v<A, image_aggregate>)
    return dc.images;
  else if constexpr (std::is_same_v<A, user_aggregate>)
    return dc.users;
  else if constexpr (std::is_same_v<A, role_aggregate>)
    return dc.roles;
  else
    return dc.alerts;
}

error actor_failure(const caf::error& e) {
  return error{errc::unavailable, "an aggregate did not answer: " + caf::to_string(e)};
}

/// Sends one command to aggregate `id` of kind A; `k` gets the outcome.
template<class A>
void send(coordinator_pointer self, std::string id, typename A::command cmd,
          const command_meta& meta, std::function<void(command_outcome)> k) {
  self->request(dir_of<A>(self->state.dirs), caf::infinite,
                command_request<A>{std::move(id), std::move(cmd), meta})
      .then([k](command_outcome& r) { k(std::move(r)); },
            [k](caf::error& e) { k(command_outcome{actor_failure(e)}); });
}

/// Reads the states of `ids` of kind A; `k` gets them in the same order.
template<class A>
void gather(coordinator_pointer self, std::vector<std::string> ids,
            std::function<void(std::vector<state_outcome<A>>)> k) {
  auto results = std::make_shared<std::vector<state_outcome<A>>>(
      ids.size(), state_outcome<A>{error{errc::unavailable, "no answer"}});
  auto left = std::make_shared<std::size_t>(ids.size());
  if (ids.empty()) {
    k({});
    return;
  }
  for (std::size_t i = 0; i < ids.size(); ++i) {
    auto done = [results, left, k, i](state_outcome<A> r) {
      (*results)[i] = std::move(r);
      if (--*left == 0)
        k(std::move(*results));
    };
    self->request(dir_of<A>(self->state.dirs), caf::infinite, get_atom::value, ids[i])
        .then([done](state_outcome<A>& r) mutable { done(std::move(r)); },
              [done](caf::error& e) mutable { done(state_outcome<A>{actor_failure(e)}); });
  }
}

/// The metadata of a step a rule takes on another aggregate: same principal and correlation,
/// but neither the caller's idempotency key (it is its own command, not a retry of the
/// caller's) nor the caller's If-Match (that version is the caller's aggregate's).
command_meta side_meta(const command_meta& meta) {
  auto m = meta;
  m.command_id.clear();
  m.expected_version.reset();
  return m;
}

/// Releases the VM's reservation on `node_id` (no-op when there is none).
void release(coordinator_pointer self, const std::string& node_id, const std::string& vm_id,
             const command_meta& meta) {
  if (node_id.empty())
    return;
  const auto m = side_meta(meta);
  send<node_aggregate>(self, node_id, node::release{vm_id}, m, [](const command_outcome& r) {
    drop_outcome("placement", "release of a reservation", r);
  });
}

/// One VM to place: where it may go and what to do once a node holds its reservation.
struct placement_job {
  vm::state vm;
  std::string fixed_node;        ///< the node the caller named; "" lets placement choose
  std::set<std::string> exclude; ///< never chosen: the VM's current node, nodes that refused
  placement_scope scope;
  command_meta meta;
  std::function<vm::command(const std::string&)> step; ///< start or migrate on the node
};

/// Everything placement needs about one VM, then the choice, counting the reservations in
/// flight (the node states read may not show them yet).
/// The job is shared, not copied, into each step's callback: copying it (a VM state, sets,
/// the scope) at every step cost a tenth of a simulated consolidation day.
void place(coordinator_pointer self, std::shared_ptr<const placement_job> shared,
           std::function<void(result<domain::placement::choice>)> k) {
  const auto& vmst = shared->vm;
  std::vector<std::string> volume_ids{vmst.spec().volume_ids().begin(),
                                      vmst.spec().volume_ids().end()};
  domain::placement::request req{vmst.id(), vmst.spec().vcpus(), vmst.spec().memory_mib(),
                                 {},        shared->scope.peers, shared->scope.rank};
  gather<volume_aggregate>(
      self, volume_ids,
      [self, shared, k, req,
       volume_ids](std::vector<state_outcome<volume_aggregate>> vols) mutable {
        for (std::size_t i = 0; i < vols.size(); ++i) {
          if (!vols[i]) {
            k(vols[i].error());
            return;
          }
          if (!vols[i]->state.created() || vols[i]->state.deleted()) {
            k(error{errc::failed_precondition,
                    "volume " + volume_ids[i] + " does not exist",
                    {{"reason", "VOLUME_MISSING"}, {"volume_id", volume_ids[i]}}});
            return;
          }
          req.pool_ids.insert(vols[i]->state.pool_id());
        }
        std::vector<std::string> pool_ids{req.pool_ids.begin(), req.pool_ids.end()};
        gather<storage_pool_aggregate>(
            self, pool_ids,
            [self, shared, k, req,
             pool_ids](std::vector<state_outcome<storage_pool_aggregate>> pools) {
              const auto& job = *shared;
              std::map<std::string, std::set<std::string>> pools_of_node;
              for (std::size_t i = 0; i < pools.size(); ++i)
                if (pools[i])
                  for (const auto& n : pools[i]->state.node_ids())
                    pools_of_node[n].insert(pool_ids[i]);
              std::vector<std::string> candidates;
              if (!job.fixed_node.empty())
                candidates.push_back(job.fixed_node);
              else
                for (const auto& n : job.scope.candidates.empty()
                                         ? std::vector<std::string>{self->state.node_ids.begin(),
                                                                    self->state.node_ids.end()}
                                         : job.scope.candidates)
                  if (job.exclude.count(n) == 0)
                    candidates.push_back(n);
              const auto read = self->state.reserving.begin_read();
              gather<node_aggregate>(
                  self, candidates,
                  [self, shared, k, req, read, candidates,
                   pools_of_node](std::vector<state_outcome<node_aggregate>> nodes) {
                    const auto& fixed_node = shared->fixed_node;
                    const auto& how = shared->scope.how;
                    std::vector<domain::placement::node_view> views;
                    std::map<std::string, std::uint64_t> versions;
                    for (std::size_t i = 0; i < nodes.size(); ++i) {
                      if (!nodes[i] || !nodes[i]->state.registered()) {
                        if (!fixed_node.empty()) {
                          self->state.reserving.end_read(read);
                          k(error{errc::not_found,
                                  "node " + fixed_node + " does not exist",
                                  {{"field", "node_id"}}});
                          return;
                        }
                        continue;
                      }
                      const auto& ns = nodes[i]->state;
                      auto pools_here = pools_of_node.find(candidates[i]);
                      versions[candidates[i]] = nodes[i]->version;
                      views.push_back({candidates[i],
                                       ns.state(),
                                       node::cpu_capacity(ns),
                                       node::allocated_vcpus(ns),
                                       node::memory_capacity_mib(ns),
                                       node::allocated_memory_mib(ns),
                                       pools_here == pools_of_node.end() ? std::set<std::string>{}
                                                                         : pools_here->second,
                                       {}});
                      for (const auto& [vm_id, held] : ns.allocations())
                        views.back().vm_ids.insert(vm_id);
                    }
                    self->state.reserving.add_to(views, versions);
                    self->state.reserving.end_read(read);
                    k(domain::placement::choose(req, views, how));
                  });
            });
      });
}

/// Reserve on the chosen node, then run the job's step; release the reservation if it fails.
/// A node that refuses the reservation (it filled up meanwhile) is passed over: placement
/// tries the next candidate until one holds or none is left.
using placed_fn = std::function<void(placement_outcome)>;

void reserve_then(coordinator_pointer self, std::shared_ptr<const placement_job> shared,
                  placed_fn k) {
  place(self, shared, [self, shared, k](result<domain::placement::choice> choice) mutable {
    if (!choice) {
      k(placement_outcome{std::move(choice).error()});
      return;
    }
    const auto target = choice->node_id;
    const auto& vmst = shared->vm;
    // Held at once: a placement choosing while this reservation travels counts it.
    const auto held = self->state.reserving.hold(target, vmst.id(), vmst.spec().vcpus(),
                                                 vmst.spec().memory_mib());
    send<node_aggregate>(
        self, target, node::reserve{vmst.id(), vmst.spec().vcpus(), vmst.spec().memory_mib()},
        side_meta(shared->meta), [self, shared, k, target, held](command_outcome reserved) mutable {
          const auto& job = *shared;
          self->state.reserving.settled(held,
                                        reserved ? std::optional{reserved->version} : std::nullopt);
          if (!reserved) {
            if (reserved.error().code == errc::resource_exhausted && job.fixed_node.empty()) {
              auto next = std::make_shared<placement_job>(job);
              next->exclude.insert(target);
              reserve_then(self, std::move(next), std::move(k));
              return;
            }
            k(placement_outcome{std::move(reserved).error()});
            return;
          }
          const auto& id = job.vm.id();
          send<vm_aggregate>(self, id, job.step(target), job.meta,
                             [self, target, id, meta = job.meta, k](command_outcome done) {
                               if (!done) {
                                 release(self, target, id, meta);
                                 k(placement_outcome{std::move(done).error()});
                                 return;
                               }
                               k(placement_outcome{placement_reply{target, *done}});
                             });
        });
  });
}

/// A start or migrate the VM's rules refuse may be a retry of one already applied (same
/// idempotency key): the aggregate, which remembers command ids, answers it as a duplicate.
void refuse_unless_retry(coordinator_pointer self, const vm::state& vmst, const vm::command& cmd,
                         const command_meta& meta, error refusal,
                         caf::typed_response_promise<placement_outcome> rp) {
  if (meta.command_id.empty()) {
    rp.deliver(placement_outcome{std::move(refusal)});
    return;
  }
  auto m = meta;
  m.expected_version.reset();
  send<vm_aggregate>(self, vmst.id(), cmd, m, [=](command_outcome r) mutable {
    if (r && r->duplicate)
      rp.deliver(placement_outcome{placement_reply{vmst.node_id(), *r}});
    else
      rp.deliver(placement_outcome{refusal});
  });
}

caf::typed_response_promise<placement_outcome> handle_start(coordinator_pointer self,
                                                            start_vm& req) {
  auto rp = self->make_response_promise<placement_outcome>();
  gather<vm_aggregate>(
      self, {req.vm_id}, [=](std::vector<state_outcome<vm_aggregate>> got) mutable {
        if (!got[0]) {
          rp.deliver(placement_outcome{got[0].error()});
          return;
        }
        const auto& vmst = got[0]->state;
        // Let the VM's own rules refuse first (not found, wrong power state, bad node id).
        const vm::command probe = vm::start{req.node_id.empty() ? "placement" : req.node_id};
        if (auto pre = vm::decide(vmst, probe); !pre) {
          refuse_unless_retry(self, vmst, probe, req.meta, std::move(pre).error(), rp);
          return;
        }
        reserve_then(self,
                     std::make_shared<const placement_job>(placement_job{vmst,
                                                                         req.node_id,
                                                                         {},
                                                                         req.scope,
                                                                         req.meta,
                                                                         [](const std::string& n) {
                                                                           return vm::command{
                                                                               vm::start{n}};
                                                                         }}),
                     [rp](placement_outcome r) mutable { rp.deliver(std::move(r)); });
      });
  return rp;
}

caf::typed_response_promise<placement_outcome> handle_migrate(coordinator_pointer self,
                                                              migrate_vm& req) {
  auto rp = self->make_response_promise<placement_outcome>();
  gather<vm_aggregate>(
      self, {req.vm_id}, [=](std::vector<state_outcome<vm_aggregate>> got) mutable {
        if (!got[0]) {
          rp.deliver(placement_outcome{got[0].error()});
          return;
        }
        const auto& vmst = got[0]->state;
        const auto probe =
            req.target_node_id.empty() ? std::string{"placement"} : req.target_node_id;
        if (auto pre = vm::decide(vmst, vm::migrate{probe}); !pre) {
          refuse_unless_retry(self, vmst, vm::migrate{probe}, req.meta, std::move(pre).error(), rp);
          return;
        }
        reserve_then(self,
                     std::make_shared<const placement_job>(placement_job{vmst,
                                                                         req.target_node_id,
                                                                         {vmst.node_id()},
                                                                         req.scope,
                                                                         req.meta,
                                                                         [](const std::string& n) {
                                                                           return vm::command{
                                                                               vm::migrate{n}};
                                                                         }}),
                     [rp](placement_outcome r) mutable { rp.deliver(std::move(r)); });
      });
  return rp;
}

/// VM commands other than start and migrate: forward, then release what the VM left.
caf::typed_response_promise<command_outcome> handle_vm(coordinator_pointer self,
                                                       command_request<vm_aggregate>& req) {
  auto rp = self->make_response_promise<command_outcome>();
  // start and migrate sent as plain commands take the placement path with the given node,
  // so that no VM ever runs without a reservation.
  const auto* start_cmd = std::get_if<vm::start>(&req.command);
  const auto* migrate_cmd = std::get_if<vm::migrate>(&req.command);
  if (start_cmd != nullptr || migrate_cmd != nullptr) {
    const auto node_id = start_cmd != nullptr ? start_cmd->node_id : migrate_cmd->target_node_id;
    const bool starting = start_cmd != nullptr;
    gather<vm_aggregate>(self, {req.id}, [=](std::vector<state_outcome<vm_aggregate>> got) mutable {
      if (!got[0]) {
        rp.deliver(command_outcome{got[0].error()});
        return;
      }
      const auto& vmst = got[0]->state;
      if (auto pre = vm::decide(vmst, req.command); !pre) {
        rp.deliver(command_outcome{std::move(pre).error()});
        return;
      }
      std::set<std::string> exclude;
      if (!starting)
        exclude.insert(vmst.node_id());
      reserve_then(self,
                   std::make_shared<const placement_job>(placement_job{
                       vmst,
                       node_id,
                       std::move(exclude),
                       {},
                       req.meta,
                       [starting](const std::string& n) {
                         return starting ? vm::command{vm::start{n}} : vm::command{vm::migrate{n}};
                       }}),
                   [rp](placement_outcome r) mutable {
                     rp.deliver(r ? command_outcome{r->vm} : command_outcome{std::move(r).error()});
                   });
    });
    return rp;
  }
  gather<vm_aggregate>(self, {req.id}, [=](std::vector<state_outcome<vm_aggregate>> got) mutable {
    const auto before = got[0] ? got[0]->state : vm::initial(req.id);
    send<vm_aggregate>(self, req.id, req.command, req.meta, [=](command_outcome done) mutable {
      if (done && done->events > 0) {
        if (std::holds_alternative<vm::confirm_stopped>(req.command) ||
            std::holds_alternative<vm::force_stop>(req.command) ||
            std::holds_alternative<vm::remove>(req.command)) {
          release(self, before.node_id(), req.id, req.meta);
          release(self, before.migration_target(), req.id, req.meta);
        } else if (std::holds_alternative<vm::complete_migration>(req.command)) {
          release(self, before.node_id(), req.id, req.meta);
        } else if (std::holds_alternative<vm::fail_migration>(req.command)) {
          release(self, before.migration_target(), req.id, req.meta);
        }
      }
      rp.deliver(std::move(done));
    });
  });
  return rp;
}

template<class A>
caf::typed_response_promise<command_outcome> forward(coordinator_pointer self,
                                                     command_request<A>& req) {
  auto rp = self->make_response_promise<command_outcome>();
  send<A>(self, req.id, req.command, req.meta,
          [rp](command_outcome r) mutable { rp.deliver(std::move(r)); });
  return rp;
}

caf::typed_response_promise<command_outcome> handle_node(coordinator_pointer self,
                                                         command_request<node_aggregate>& req) {
  auto rp = self->make_response_promise<command_outcome>();
  const bool registering = std::holds_alternative<node::register_node>(req.command);
  const auto id = req.id;
  send<node_aggregate>(self, req.id, req.command, req.meta, [=](command_outcome r) mutable {
    if (r && registering)
      self->state.node_ids.insert(id);
    rp.deliver(std::move(r));
  });
  return rp;
}

/// The cluster's CPU overcommit (drs.cpu_overcommit, when set) onto its nodes, or onto `only`:
/// node admission is the node aggregate's, against its own ratio, so the cluster's setting
/// is written there.
void apply_overcommit(coordinator_pointer self, const std::string& cluster_id,
                      const std::string& only, const command_meta& meta) {
  gather<cluster_aggregate>(
      self, {cluster_id}, [=](std::vector<state_outcome<cluster_aggregate>> c) {
        if (!c[0] || c[0]->state.drs().cpu_overcommit() == 0)
          return;
        const auto ratio = c[0]->state.drs().cpu_overcommit();
        std::vector<std::string> ids;
        if (!only.empty())
          ids.push_back(only);
        else
          ids.assign(c[0]->state.node_ids().begin(), c[0]->state.node_ids().end());
        gather<node_aggregate>(self, ids, [=](std::vector<state_outcome<node_aggregate>> nodes) {
          for (std::size_t i = 0; i < nodes.size(); ++i)
            if (nodes[i])
              send<node_aggregate>(
                  self, ids[i], node::set_overcommit{ratio, nodes[i]->state.memory_overcommit()},
                  meta, [](const command_outcome& r) {
                    drop_outcome("clusters", "the cluster's CPU overcommit on a node", r);
                  });
        });
      });
}

caf::typed_response_promise<command_outcome>
handle_cluster(coordinator_pointer self, command_request<cluster_aggregate>& req) {
  namespace cl = domain::cluster;
  auto rp = self->make_response_promise<command_outcome>();
  const auto m = side_meta(req.meta);
  if (const auto* add = std::get_if<cl::add_node>(&req.command)) {
    const auto node_id = add->node_id;
    gather<cluster_aggregate>(
        self, {req.id}, [=](std::vector<state_outcome<cluster_aggregate>> c) mutable {
          // The cluster must exist before the node commits to it.
          if (!c[0] || !c[0]->state.created() || c[0]->state.deleted()) {
            if (auto pre = cl::decide(c[0] ? c[0]->state : cl::initial(req.id), req.command);
                !pre) {
              rp.deliver(command_outcome{std::move(pre).error()});
              return;
            }
          }
          send<node_aggregate>(
              self, node_id, node::join_cluster{req.id}, m, [=](command_outcome joined) mutable {
                if (!joined) {
                  rp.deliver(std::move(joined));
                  return;
                }
                send<cluster_aggregate>(
                    self, req.id, req.command, req.meta, [=](command_outcome added) mutable {
                      if (!added)
                        send<node_aggregate>(self, node_id, node::leave_cluster{req.id}, m,
                                             [](const command_outcome& r) {
                                               drop_outcome("clusters", "undo of a join", r);
                                             });
                      else
                        apply_overcommit(self, req.id, node_id, m);
                      rp.deliver(std::move(added));
                    });
              });
        });
    return rp;
  }
  if (const auto* rem = std::get_if<cl::remove_node>(&req.command)) {
    const auto node_id = rem->node_id;
    send<cluster_aggregate>(self, req.id, req.command, req.meta,
                            [=](command_outcome removed) mutable {
                              if (removed && removed->events > 0)
                                send<node_aggregate>(self, node_id, node::leave_cluster{req.id}, m,
                                                     [](command_outcome) {});
                              rp.deliver(std::move(removed));
                            });
    return rp;
  }
  const bool settings = std::holds_alternative<cl::create>(req.command) ||
                        std::holds_alternative<cl::update>(req.command);
  send<cluster_aggregate>(self, req.id, req.command, req.meta, [=](command_outcome r) mutable {
    if (r && r->events > 0 && settings)
      apply_overcommit(self, req.id, "", m);
    rp.deliver(std::move(r));
  });
  return rp;
}

caf::typed_response_promise<command_outcome> handle_volume(coordinator_pointer self,
                                                           command_request<volume_aggregate>& req) {
  namespace vol = domain::volume;
  namespace pool = domain::storage_pool;
  auto rp = self->make_response_promise<command_outcome>();
  const auto m = side_meta(req.meta);
  if (const auto* create = std::get_if<vol::create>(&req.command)) {
    const auto pool_id = create->pool_id;
    const auto size = create->size_bytes;
    gather<volume_aggregate>(
        self, {req.id}, [=](std::vector<state_outcome<volume_aggregate>> v) mutable {
          // The volume's own rules first, so that a bad request takes no pool space.
          if (auto pre = vol::decide(v[0] ? v[0]->state : vol::initial(req.id), req.command);
              !pre) {
            rp.deliver(command_outcome{std::move(pre).error()});
            return;
          }
          send<storage_pool_aggregate>(
              self, pool_id, pool::add_volume{req.id, size}, m, [=](command_outcome held) mutable {
                if (!held) {
                  rp.deliver(std::move(held));
                  return;
                }
                send<volume_aggregate>(
                    self, req.id, req.command, req.meta, [=](command_outcome made) mutable {
                      if (!made)
                        send<storage_pool_aggregate>(self, pool_id, pool::remove_volume{req.id}, m,
                                                     [](command_outcome) {});
                      rp.deliver(std::move(made));
                    });
              });
        });
    return rp;
  }
  if (std::holds_alternative<vol::resize>(req.command) ||
      std::holds_alternative<vol::remove>(req.command)) {
    gather<volume_aggregate>(
        self, {req.id}, [=](std::vector<state_outcome<volume_aggregate>> v) mutable {
          if (!v[0]) {
            rp.deliver(command_outcome{v[0].error()});
            return;
          }
          const auto st = v[0]->state;
          if (auto pre = vol::decide(st, req.command); !pre || pre->empty()) {
            if (!pre)
              rp.deliver(command_outcome{std::move(pre).error()});
            else
              rp.deliver(command_outcome{command_reply{v[0]->version, 0, 0, false}});
            return;
          }
          if (const auto* r = std::get_if<vol::resize>(&req.command)) {
            const auto size = r->size_bytes;
            send<storage_pool_aggregate>(self, st.pool_id(), pool::resize_volume{req.id, size}, m,
                                         [=](command_outcome held) mutable {
                                           if (!held) {
                                             rp.deliver(std::move(held));
                                             return;
                                           }
                                           send<volume_aggregate>(self, req.id, req.command,
                                                                  req.meta,
                                                                  [rp](command_outcome r2) mutable {
                                                                    rp.deliver(std::move(r2));
                                                                  });
                                         });
            return;
          }
          send<volume_aggregate>(
              self, req.id, req.command, req.meta, [=](command_outcome removed) mutable {
                if (removed && removed->events > 0)
                  send<storage_pool_aggregate>(self, st.pool_id(), pool::remove_volume{req.id}, m,
                                               [](command_outcome) {});
                rp.deliver(std::move(removed));
              });
        });
    return rp;
  }
  if (const auto* attach = std::get_if<vol::attach>(&req.command)) {
    // A volume is attached to a VM that exists (and is not deleted).
    const auto vm_id = attach->vm_id;
    gather<vm_aggregate>(self, {vm_id}, [=](std::vector<state_outcome<vm_aggregate>> v) mutable {
      const bool exists = v[0] && !v[0]->state.power_state().empty() &&
                          v[0]->state.power_state() != vm::power::deleted;
      if (!exists) {
        rp.deliver(command_outcome{error{errc::not_found,
                                         "vm " + vm_id + " does not exist",
                                         {{"field", "vm_id"}, {"id", vm_id}}}});
        return;
      }
      send<volume_aggregate>(self, req.id, req.command, req.meta,
                             [rp](command_outcome r) mutable { rp.deliver(std::move(r)); });
    });
    return rp;
  }
  send<volume_aggregate>(self, req.id, req.command, req.meta,
                         [rp](command_outcome r) mutable { rp.deliver(std::move(r)); });
  return rp;
}

caf::typed_response_promise<command_outcome>
handle_pool(coordinator_pointer self, command_request<storage_pool_aggregate>& req) {
  namespace pool = domain::storage_pool;
  auto rp = self->make_response_promise<command_outcome>();
  if (const auto* a = std::get_if<pool::assign>(&req.command)) {
    gather<node_aggregate>(
        self, {a->node_id}, [=](std::vector<state_outcome<node_aggregate>> n) mutable {
          if (!n[0] || !n[0]->state.registered()) {
            rp.deliver(command_outcome{
                error{errc::not_found,
                      "node " + std::get<pool::assign>(req.command).node_id + " does not exist",
                      {{"field", "node_id"}}}});
            return;
          }
          send<storage_pool_aggregate>(
              self, req.id, req.command, req.meta,
              [rp](command_outcome r) mutable { rp.deliver(std::move(r)); });
        });
    return rp;
  }
  send<storage_pool_aggregate>(self, req.id, req.command, req.meta,
                               [rp](command_outcome r) mutable { rp.deliver(std::move(r)); });
  return rp;
}

datacenter_actor::behavior_type coordinator(coordinator_pointer self, datacenter dirs,
                                            std::set<std::string> node_ids) {
  self->state.dirs = std::move(dirs);
  self->state.node_ids = std::move(node_ids);
  return {
      [self](start_vm& req) { return handle_start(self, req); },
      [self](migrate_vm& req) { return handle_migrate(self, req); },
      [self](command_request<vm_aggregate>& req) { return handle_vm(self, req); },
      [self](command_request<node_aggregate>& req) { return handle_node(self, req); },
      [self](command_request<cluster_aggregate>& req) { return handle_cluster(self, req); },
      [self](command_request<storage_pool_aggregate>& req) { return handle_pool(self, req); },
      [self](command_request<volume_aggregate>& req) { return handle_volume(self, req); },
      [self](command_request<network_aggregate>& req) { return forward(self, req); },
      [self](command_request<security_group_aggregate>& req) { return forward(self, req); },
      [self](command_request<image_aggregate>& req) { return forward(self, req); },
      [self](command_request<alert_aggregate>& req) { return forward(self, req); },
      [self](command_request<user_aggregate>& req) { return forward(self, req); },
      [self](command_request<role_aggregate>& req) { return forward(self, req); },
  };
}

/// The ids of every node registered in the log (streams "node-<id>").
result<std::set<std::string>> registered_nodes(events::event_store& store) {
  std::set<std::string> out;
  const std::string prefix = node_aggregate::stream("");
  for (std::uint64_t pos = 1;;) {
    auto seen = store.visit_all(pos, 4096, [&](const events::recorded_event& ev) {
      if (ev.type == "qx.events.v1.NodeRegistered" && ev.stream.starts_with(prefix))
        out.insert(ev.stream.substr(prefix.size()));
      pos = ev.position + 1;
      return true;
    });
    if (!seen)
      return std::move(seen).error();
    if (*seen == 0)
      return out;
  }
}

} // namespace

result<datacenter> spawn_datacenter(caf::actor_system& sys, events::event_store& store,
                                    directory_config cfg) {
  if (auto ok = validate(cfg); !ok)
    return ok.error();
  auto nodes = registered_nodes(store);
  if (!nodes)
    return std::move(nodes).error();
  datacenter dc;
  dc.vms = spawn_directory<vm_aggregate>(sys, store, cfg);
  dc.nodes = spawn_directory<node_aggregate>(sys, store, cfg);
  dc.clusters = spawn_directory<cluster_aggregate>(sys, store, cfg);
  dc.pools = spawn_directory<storage_pool_aggregate>(sys, store, cfg);
  dc.volumes = spawn_directory<volume_aggregate>(sys, store, cfg);
  dc.networks = spawn_directory<network_aggregate>(sys, store, cfg);
  dc.security_groups = spawn_directory<security_group_aggregate>(sys, store, cfg);
  dc.images = spawn_directory<image_aggregate>(sys, store, cfg);
  dc.alerts = spawn_directory<alert_aggregate>(sys, store, cfg);
  dc.users = spawn_directory<user_aggregate>(sys, store, cfg);
  dc.roles = spawn_directory<role_aggregate>(sys, store, cfg);
  dc.coordinator = sys.spawn(coordinator, dc, std::move(*nodes));
  return dc;
}

void shutdown(const datacenter& dc) {
  const auto reason = caf::exit_reason::user_shutdown;
  caf::anon_send_exit(dc.coordinator, reason);
  caf::anon_send_exit(dc.vms, reason);
  caf::anon_send_exit(dc.nodes, reason);
  caf::anon_send_exit(dc.clusters, reason);
  caf::anon_send_exit(dc.pools, reason);
  caf::anon_send_exit(dc.volumes, reason);
  caf::anon_send_exit(dc.networks, reason);
  caf::anon_send_exit(dc.security_groups, reason);
  caf::anon_send_exit(dc.images, reason);
  caf::anon_send_exit(dc.alerts, reason);
  caf::anon_send_exit(dc.users, reason);
  caf::anon_send_exit(dc.roles, reason);
}

} // namespace qx::actors
