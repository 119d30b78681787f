#pragma once

namespace qx::domain::detail {

/// Builds one visitor out of several lambdas, for std::visit over a command variant.
template<class... Fs>
struct overloaded : Fs... {
  using Fs::operator()...;
};
template<class... Fs>
overloaded(Fs...) -> overloaded<Fs...>;

} // namespace qx::domain::detail
