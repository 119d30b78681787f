#pragma once

#include "qx/base/error.hpp"

#include <string>
#include <string_view>

/// Checks of untrusted input before it reaches libvirt. Each failure is an
/// errc::invalid_argument with details["field"] = the field given.
namespace qx::node {

/// A name libvirt and a file system can both hold: [A-Za-z0-9._-]{1,64}, not starting with
/// '.' or '-'. Used for domain ids and the names of snapshots, pools, volumes and networks.
[[nodiscard]] status validate_name(std::string_view field, std::string_view name);

/// Whether text can travel through libvirt's XML unchanged: valid UTF-8 (no overlong forms, no
/// surrogates), no NUL, no control character U+0001..U+001F other than tab (and LF when
/// `multi_line`), no U+FFFE or U+FFFF. Such text is refused, never stripped.
/// CR is refused too although XML 1.0 allows it: libvirt writes it back unescaped and every
/// XML parser turns a literal CR into LF, so it would not come back as sent. Single-line text
/// (a title) refuses LF as libvirt does.
[[nodiscard]] status validate_xml_text(std::string_view field, std::string_view text,
                                       bool multi_line);

/// An absolute path of XML-safe text without "." or ".." components.
[[nodiscard]] status validate_path(std::string_view field, std::string_view path);

/// A unicast MAC address "xx:xx:xx:xx:xx:xx" (hex digits, either case).
[[nodiscard]] status validate_mac(std::string_view field, std::string_view mac);

} // namespace qx::node
