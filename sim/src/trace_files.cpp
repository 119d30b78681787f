// Folder workloads: the file each VM plays. README.md ("Folder workloads") says how files are
// matched to VMs; every file chosen must resolve inside the scenario's folder.
#include "trace_files.hpp"

#include <string>
#include <system_error>
#include <vector>

namespace qx::sim::detail {

namespace {

namespace fs = std::filesystem;

/// A VM with a folder workload, and the path of its workload's field in the scenario.
struct folder_vm {
  vm_spec* vm = nullptr;
  std::string field; ///< "vms[3].workload", "timeline[2].vm.workload"
};

error refuse(const std::string& field, const std::string& message) {
  return {errc::invalid_argument, field + " " + message, {{"field", field}}};
}

/// `file` with its symlinks resolved; refused unless it stays inside `root` (canonical) and is
/// a regular file.
result<fs::path> contained(const fs::path& root, const fs::path& file, const std::string& field) {
  std::error_code ec;
  auto target = fs::weakly_canonical(file, ec);
  if (ec)
    return refuse(field, "cannot resolve " + file.filename().string() + ": " + ec.message());
  const auto rel = target.lexically_relative(root);
  if (rel.empty() || *rel.begin() == "..")
    return refuse(field, "holds " + file.filename().string() +
                             ", which leads out of the scenario's folder (a symlink?)");
  if (!fs::is_regular_file(target, ec))
    return refuse(field, "holds no regular file " + file.filename().string());
  return target;
}

/// The VM's file named after it: `<id>`, else `<id>.txt`.
result<fs::path> by_name(const fs::path& root, const folder_vm& v) {
  const auto& folder = v.vm->workload.path;
  auto file = folder / v.vm->id;
  std::error_code ec;
  if (!fs::is_regular_file(file, ec))
    file = folder / (v.vm->id + ".txt");
  if (!fs::is_regular_file(file, ec) && !fs::is_symlink(file, ec))
    return refuse(v.field + ".path", "holds no file " + v.vm->id + " or " + v.vm->id + ".txt");
  return contained(root, file, v.field + ".path");
}

/// Every VM of the scenario whose workload is a folder, with its field path. Timeline steps
/// are counted in the order written (their indexes are the ones the user sees).
std::vector<folder_vm> folder_vms(scenario& s) {
  std::vector<folder_vm> out;
  for (std::size_t i = 0; i < s.vms.size(); ++i)
    if (s.vms[i].workload.type == "folder")
      out.push_back({&s.vms[i], "vms[" + std::to_string(i) + "].workload"});
  for (std::size_t i = 0; i < s.timeline.size(); ++i)
    if (auto& vm = s.timeline[i].vm; vm && vm->workload.type == "folder")
      out.push_back({&*vm, "timeline[" + std::to_string(i) + "].vm.workload"});
  return out;
}

} // namespace

status assign_trace_files(scenario& s, const fs::path& base) {
  std::error_code ec;
  const auto root =
      fs::weakly_canonical(base.empty() ? fs::current_path() : fs::absolute(base), ec);
  if (ec)
    return refuse("", "the scenario's folder cannot be resolved: " + ec.message());
  for (auto& v : folder_vms(s)) {
    auto file = by_name(root, v);
    if (!file)
      return std::move(file).error();
    v.vm->workload.file = std::move(*file);
  }
  return {};
}

} // namespace qx::sim::detail
