#pragma once

// The agent's HA lease, without threads or clock (tested alone): the control plane renews it
// by acknowledging heartbeats; it runs from the time the acknowledged heartbeat was *sent*,
// never later than the control plane heard it, so the agent's lease lapses no later than the
// control plane's and the agent has stopped its protected VMs (within the fence bound) before
// HA restarts them elsewhere. Unknown until the first Welcome says how long it is; 0: never.

#include <chrono>
#include <cstdint>
#include <map>
#include <set>
#include <string>

namespace qx::node {

class fence_lease {
 public:
  using clock = std::chrono::steady_clock;

  /// A Welcome: the lease's length, renewed from now; `protected_vms` replace the known set.
  void welcomed(clock::time_point now, std::chrono::milliseconds lease,
                std::set<std::string> protected_vms) {
    lease_ = lease;
    renewed_from_ = now;
    fenced_ = false;
    protected_ = std::move(protected_vms);
  }
  /// Heartbeat `sequence` left at `at`.
  void sent(std::uint64_t sequence, clock::time_point at) {
    sent_[sequence] = at;
    while (sent_.size() > max_unanswered)
      sent_.erase(sent_.begin());
  }
  /// The control plane acknowledged heartbeat `sequence`: renewed from when it was sent.
  void acknowledged(std::uint64_t sequence) {
    const auto it = sent_.find(sequence);
    if (it == sent_.end())
      return; // unknown or too old: renews nothing
    if (it->second > renewed_from_)
      renewed_from_ = it->second;
    fenced_ = false;
    sent_.erase(sent_.begin(), std::next(it));
  }
  /// A VM started here; `ha` when HA protects it.
  void started(const std::string& vm_id, bool ha) {
    if (ha)
      protected_.insert(vm_id);
    else
      protected_.erase(vm_id);
  }
  /// True once, when the lease has lapsed: the caller stops the protected VMs now. Again
  /// only after a renewal and another lapse.
  [[nodiscard]] bool must_fence(clock::time_point now) {
    if (lease_.count() <= 0 || fenced_ || now - renewed_from_ < lease_)
      return false;
    fenced_ = true;
    return true;
  }
  [[nodiscard]] const std::set<std::string>& protected_vms() const { return protected_; }
  [[nodiscard]] bool fenced() const { return fenced_; }

 private:
  static constexpr std::size_t max_unanswered = 1024;
  std::chrono::milliseconds lease_{0};
  clock::time_point renewed_from_{};
  bool fenced_ = false;
  std::map<std::uint64_t, clock::time_point> sent_;
  std::set<std::string> protected_;
};

} // namespace qx::node
