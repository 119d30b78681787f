#pragma once

// Text put into HTML we write (the simulator's report, the console's "no console" page):
// escaped so that it is shown as text and never read as markup.

#include <string>
#include <string_view>

namespace qx {

/// `text` with & < > " ' replaced by their character references.
[[nodiscard]] std::string html_escape(std::string_view text);

} // namespace qx
