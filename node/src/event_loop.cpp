#include "event_loop.hpp"

#include "libvirt_error.hpp"

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <libxml/parser.h>

#include <cstdlib>
#include <future>
#include <mutex>

namespace qx::node::detail {

namespace {

// The lock that orders starting and stopping loop threads, so two never overlap.
std::mutex& loop_mutex() {
  static std::mutex m;
  return m;
}

std::weak_ptr<event_loop>& current_loop() {
  static std::weak_ptr<event_loop> loop;
  return loop;
}

// A timer callback that does nothing: its only job is to make the loop iteration return.
void wake_only(int /*timer*/, void* /*opaque*/) {}

// Fulfils the promise a barrier waits for, then removes its own timer.
void fulfil(int timer, void* opaque) {
  virEventRemoveTimeout(timer);
  static_cast<std::promise<void>*>(opaque)->set_value();
}

} // namespace

void init_libraries_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    xmlInitParser();
    // The result of virInitialize only matters if the library is unusable, which the
    // first connection then reports as an error value.
    static_cast<void>(virInitialize());
    virSetErrorFunc(nullptr, &ignore_libvirt_error);
    static_cast<void>(virEventRegisterDefaultImpl());
  });
}

std::shared_ptr<event_loop> event_loop::acquire() {
  init_libraries_once();
  const std::lock_guard lock{loop_mutex()};
  if (auto loop = current_loop().lock())
    return loop;
  auto loop = std::make_shared<event_loop>();
  current_loop() = loop;
  return loop;
}

event_loop::event_loop() : thread_([this] { run(); }) {}

event_loop::~event_loop() {
  if (on_loop_thread()) {
    stop_ = true;
    thread_.detach();
    return;
  }
  const std::lock_guard lock{loop_mutex()};
  stop_ = true;
  // A repeating zero-delay timer wakes the loop now and on every later iteration, so the
  // thread sees the flag whatever it was blocked on.
  const int timer = virEventAddTimeout(0, &wake_only, nullptr, nullptr);
  thread_.join();
  if (timer >= 0)
    virEventRemoveTimeout(timer);
}

bool event_loop::on_loop_thread() const noexcept {
  return std::this_thread::get_id() == thread_.get_id();
}

void event_loop::barrier() {
  if (on_loop_thread())
    return;
  std::promise<void> done;
  auto fired = done.get_future();
  // The loop dispatches one callback at a time: when this timer fires, what ran before it
  // has returned.
  if (virEventAddTimeout(0, &fulfil, &done, nullptr) < 0)
    return;
  fired.wait();
}

void event_loop::run() {
  while (!stop_.load()) {
    if (virEventRunDefaultImpl() < 0)
      break;
  }
}

} // namespace qx::node::detail
