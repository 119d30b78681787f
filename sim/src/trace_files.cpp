// Folder workloads: the file each VM plays, by the workload's `match` (README.md, "Folder
// workloads"): by name, by order of file names, or by a `file,vm` mapping file. Every file
// chosen must resolve inside the scenario's folder; a mapping file is untrusted input, checked
// line by line, each refusal naming the workload's `mapping` field and the line.
#include "trace_files.hpp"

#include <algorithm>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace qx::sim::detail {

namespace {

namespace fs = std::filesystem;

constexpr std::size_t max_files = 200'000; ///< per folder, as scenario VMs
constexpr std::uintmax_t max_mapping_bytes = std::uintmax_t{16} << 20U;

/// A VM with a folder workload, and the path of its workload's field in the scenario.
struct folder_vm {
  vm_spec* vm = nullptr;
  std::string field; ///< "vms[3].workload", "timeline[2].vm.workload"
};

/// The VMs that share a folder and a way of matching (and, for a mapping, its file).
using group = std::vector<folder_vm>;

error refuse(const std::string& field, const std::string& message) {
  return {errc::invalid_argument, field + " " + message, {{"field", field}}};
}

error refuse_line(const std::string& field, std::size_t line, const std::string& message) {
  return {errc::invalid_argument,
          field + " line " + std::to_string(line) + ": " + message,
          {{"field", field}, {"line", std::to_string(line)}}};
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

/// The files of `folder` a VM may play, sorted by name: every entry but folders and names
/// starting with "." (symlinks included: contained() checks where they lead).
result<std::vector<std::string>> file_names(const fs::path& folder, const std::string& field) {
  std::vector<std::string> out;
  std::error_code ec;
  for (fs::directory_iterator it{folder, ec}, end; !ec && it != end; it.increment(ec)) {
    auto name = it->path().filename().string();
    std::error_code kind;
    if (name.empty() || name.front() == '.' || (!it->is_symlink(kind) && it->is_directory(kind)))
      continue;
    if (out.size() == max_files)
      return refuse(field, "holds more than " + std::to_string(max_files) + " files");
    out.push_back(std::move(name));
  }
  if (ec)
    return refuse(field, "cannot be listed: " + ec.message());
  std::sort(out.begin(), out.end());
  return out;
}

/// match: order. The i-th VM of the group (in scenario order) plays the i-th file.
status by_order(const fs::path& root, const group& vms) {
  const auto& folder = vms.front().vm->workload.path;
  const auto names = file_names(folder, vms.front().field + ".path");
  if (!names)
    return names.error();
  for (std::size_t i = 0; i < vms.size(); ++i) {
    const auto& v = vms[i];
    if (i >= names->size())
      return refuse(v.field + ".path", "holds " + std::to_string(names->size()) +
                                           " files, too few for the " + std::to_string(vms.size()) +
                                           " VMs that take its files in order");
    auto file = contained(root, folder / (*names)[i], v.field + ".path");
    if (!file)
      return std::move(file).error();
    v.vm->workload.file = std::move(*file);
  }
  return {};
}

/// A name of a file of the folder, as a mapping line gives it: relative, without "..".
bool stays_in_folder(std::string_view name) {
  if (name.empty() || name.find('\0') != std::string_view::npos)
    return false;
  const fs::path p{name};
  return !p.is_absolute() && std::none_of(p.begin(), p.end(), [](const fs::path& part) {
    return part == ".." || part == ".";
  });
}

/// The rows of a mapping file: file -> (VM, line), each file and each VM once.
struct mapping_rows {
  std::map<std::string, std::pair<std::string, std::size_t>> vm_of_file;
  std::map<std::string, std::string> file_of_vm;
};

/// One `file,vm` line into `rows`: refused when malformed, escaping the folder, naming a VM
/// the scenario lacks, or repeating a file or a VM.
status add_row(std::string_view line, std::size_t n, const std::set<std::string>& known,
               const std::string& field, mapping_rows& rows) {
  const auto comma = line.rfind(',');
  if (comma == std::string_view::npos)
    return refuse_line(field, n, "expected file,vm");
  const std::string file{line.substr(0, comma)};
  const std::string vm{line.substr(comma + 1)};
  if (!stays_in_folder(file))
    return refuse_line(field, n, "the file must be named relative to the folder, without ..");
  if (known.count(vm) == 0)
    return refuse_line(field, n, "names no VM of the scenario: " + vm);
  if (!rows.vm_of_file.emplace(file, std::pair{vm, n}).second)
    return refuse_line(field, n, "maps the file " + file + " a second time");
  if (!rows.file_of_vm.emplace(vm, file).second)
    return refuse_line(field, n, "maps the VM " + vm + " a second time");
  return {};
}

/// The mapping file's rows; an optional header `file,vm`, blank lines and `#` comments aside.
result<mapping_rows> read_mapping(const fs::path& mapping, const std::set<std::string>& known,
                                  const std::string& field) {
  std::error_code ec;
  const auto size = fs::file_size(mapping, ec);
  if (ec || size > max_mapping_bytes)
    return refuse(field, ec ? "cannot be read: " + ec.message() : "is larger than 16 MiB");
  std::ifstream in{mapping, std::ios::binary};
  mapping_rows rows;
  std::string line;
  for (std::size_t n = 1; std::getline(in, line); ++n) {
    if (!line.empty() && line.back() == '\r')
      line.pop_back();
    if (line.empty() || line.front() == '#' || (n == 1 && line == "file,vm"))
      continue;
    if (auto ok = add_row(line, n, known, field, rows); !ok)
      return std::move(ok).error();
  }
  return rows;
}

/// match: mapping. Each VM of the group plays the file its line names; every line names a VM
/// of this group.
status by_mapping(const fs::path& root, const group& vms, const std::set<std::string>& known) {
  const auto& spec = vms.front().vm->workload;
  const auto field = vms.front().field + ".mapping";
  auto rows = read_mapping(spec.mapping, known, field);
  if (!rows)
    return std::move(rows).error();
  std::set<std::string> in_group;
  for (const auto& v : vms)
    in_group.insert(v.vm->id);
  for (const auto& [file, vm] : rows->vm_of_file)
    if (in_group.count(vm.first) == 0)
      return refuse_line(field, vm.second,
                         "maps " + vm.first +
                             ", whose workload does not take this folder's files "
                             "by this mapping");
  for (const auto& v : vms) {
    const auto it = rows->file_of_vm.find(v.vm->id);
    if (it == rows->file_of_vm.end())
      return refuse(v.field + ".mapping", "does not map the VM " + v.vm->id);
    auto file = contained(root, spec.path / it->second, v.field + ".mapping");
    if (!file)
      return std::move(file).error();
    v.vm->workload.file = std::move(*file);
  }
  return {};
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

/// The ids of every VM of the scenario, those add_vm steps add included.
std::set<std::string> vm_ids(const scenario& s) {
  std::set<std::string> out;
  for (const auto& v : s.vms)
    out.insert(v.id);
  for (const auto& st : s.timeline)
    if (st.vm)
      out.insert(st.vm->id);
  return out;
}

} // namespace

status assign_trace_files(scenario& s, const fs::path& base) {
  std::error_code ec;
  const auto root =
      fs::weakly_canonical(base.empty() ? fs::current_path() : fs::absolute(base), ec);
  if (ec)
    return refuse("", "the scenario's folder cannot be resolved: " + ec.message());
  // Grouped by (folder, mapping file), each group's VMs in the order written: the order
  // `match: order` gives the files in.
  using key = std::pair<fs::path, fs::path>;
  std::map<key, group> ordered;
  std::map<key, group> mapped;
  for (auto& v : folder_vms(s)) {
    const auto& w = v.vm->workload;
    if (w.match == "order") {
      ordered[{w.path, {}}].push_back(v);
    } else if (w.match == "mapping") {
      mapped[{w.path, w.mapping}].push_back(v);
    } else {
      auto file = by_name(root, v);
      if (!file)
        return std::move(file).error();
      v.vm->workload.file = std::move(*file);
    }
  }
  for (const auto& g : ordered)
    if (auto ok = by_order(root, g.second); !ok)
      return ok;
  const auto known = vm_ids(s);
  for (const auto& g : mapped)
    if (auto ok = by_mapping(root, g.second, known); !ok)
      return ok;
  return {};
}

} // namespace qx::sim::detail
