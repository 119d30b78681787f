#pragma once

#include <atomic>
#include <memory>
#include <thread>

namespace qx::node::detail {

/// Process-wide setup of libvirt and libxml2, done once: virInitialize, a silent error handler
/// (errors come back as values, libvirt would print them to stderr otherwise), libvirt's default
/// event implementation, and libxml2's parser state.
void init_libraries_once();

/// The thread that runs libvirt's default event loop, shared by every connection of the
/// process: libvirt allows one event implementation per process.
///
/// Alive while someone holds it: acquire() starts the thread when none runs, and dropping the
/// last holder stops the loop and joins the thread, so nothing runs once every hypervisor is
/// gone. Dropping it from the loop thread itself (a callback that destroys the last hypervisor)
/// cannot join; the thread is then detached and ends after that callback returns.
class event_loop {
 public:
  /// The running loop, started if needed.
  [[nodiscard]] static std::shared_ptr<event_loop> acquire();

  event_loop();
  ~event_loop();
  event_loop(const event_loop&) = delete;
  event_loop& operator=(const event_loop&) = delete;
  event_loop(event_loop&&) = delete;
  event_loop& operator=(event_loop&&) = delete;

  /// Whether the caller runs on the loop thread (inside an event callback).
  [[nodiscard]] bool on_loop_thread() const noexcept;

  /// Returns once the loop has finished whatever it was dispatching when called: after
  /// deregistering a callback, nothing still runs it. Returns at once on the loop thread.
  void barrier();

 private:
  void run();

  std::atomic<bool> stop_{false};
  std::thread thread_;
};

} // namespace qx::node::detail
