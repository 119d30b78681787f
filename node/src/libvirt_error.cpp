#include "libvirt_error.hpp"

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include <charconv>
#include <string>

namespace qx::node::detail {

namespace {

errc code_for(int libvirt_code) {
  switch (libvirt_code) {
  case VIR_ERR_NO_DOMAIN:
  case VIR_ERR_NO_STORAGE_POOL:
  case VIR_ERR_NO_STORAGE_VOL:
  case VIR_ERR_NO_NETWORK:
  case VIR_ERR_NO_DOMAIN_SNAPSHOT:
    return errc::not_found;
  case VIR_ERR_DOM_EXIST:
  case VIR_ERR_NETWORK_EXIST:
  case VIR_ERR_STORAGE_VOL_EXIST:
    return errc::already_exists;
  case VIR_ERR_OPERATION_INVALID:
    return errc::failed_precondition;
  // ARGUMENT_UNSUPPORTED is how libvirt answers a valid request this driver cannot carry
  // out (the test driver's answer to peer-to-peer migration): "not supported" as well.
  case VIR_ERR_NO_SUPPORT:
  case VIR_ERR_OPERATION_UNSUPPORTED:
  case VIR_ERR_ARGUMENT_UNSUPPORTED:
    return errc::unavailable;
  case VIR_ERR_INVALID_ARG:
  case VIR_ERR_XML_ERROR:
  case VIR_ERR_INVALID_MAC:
    return errc::invalid_argument;
  default:
    return errc::io_error;
  }
}

} // namespace

qx::error last_libvirt_error(std::string_view operation, std::string_view precondition_reason) {
  const virError* raw = virGetLastError();
  if (raw == nullptr)
    return {errc::io_error,
            std::string{operation} + " failed without an error from libvirt",
            {{"operation", std::string{operation}}}};
  const int code = raw->code;
  std::string message = raw->message != nullptr ? raw->message : std::string{operation} + " failed";
  virResetLastError();
  qx::error out{code_for(code),
                std::move(message),
                {{"operation", std::string{operation}}, {"libvirt_code", std::to_string(code)}}};
  if (out.code == errc::failed_precondition)
    out.details["reason"] = std::string{precondition_reason};
  else if (out.code == errc::unavailable)
    out.details["reason"] = "NOT_SUPPORTED";
  return out;
}

int libvirt_code(const qx::error& e) {
  const auto it = e.details.find("libvirt_code");
  if (it == e.details.end())
    return -1;
  int value = -1;
  const auto& text = it->second;
  std::from_chars(text.data(), text.data() + text.size(), value);
  return value;
}

void clear_libvirt_error() noexcept {
  virResetLastError();
}

void ignore_libvirt_error(void* /*user_data*/, virErrorPtr /*error*/) {}

} // namespace qx::node::detail
