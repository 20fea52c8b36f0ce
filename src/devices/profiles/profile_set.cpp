// Device profiles: the shipped ones and a site's directory. See profile.hpp.
//
// A load builds a complete new map and swaps the pointer under the mutex, so a
// reader holding the old map (or a profile of it) is never disturbed, and a
// failed load leaves the current set as it was.
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/log.hpp"
#include "devices/profiles/profile.hpp"
#include "devices/profiles/profile_internal.hpp"

namespace urbis::devices {

namespace fs = std::filesystem;

std::vector<Profile> ProfileSet::builtin() {
  std::vector<Profile> out;
  for (const profile_detail::BuiltinProfileFile& f : profile_detail::builtin_profile_files()) {
    Result<Profile> p = parse_profile(f.text, "builtin profile " + std::string(f.file));
    if (!p.ok()) {
      // Unreachable in a tested build (tests/unit/devices/profile_test.cpp parses every one).
      ULOG_ERROR("{}", p.status().message());
      continue;
    }
    p->source = "builtin";
    out.push_back(std::move(p).value());
  }
  return out;
}

Status ProfileSet::load(const std::string& dir) {
  auto next = std::make_shared<Map>();
  for (Profile& p : builtin()) {
    std::string name = p.name;
    (*next)[name] = std::make_shared<const Profile>(std::move(p));
  }

  if (!dir.empty()) {
    std::error_code ec;
    const fs::file_status st = fs::status(dir, ec);
    if (ec || !fs::exists(st)) return NotFound("profiles_dir: " + dir + ": no such directory");
    if (!fs::is_directory(st)) return InvalidArgument("profiles_dir: " + dir + ": not a directory");

    std::vector<fs::path> files;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
      if (it->path().extension() == ".toml" && it->is_regular_file()) files.push_back(it->path());
    }
    if (ec) return IoError("profiles_dir: " + dir + ": " + ec.message());
    std::sort(files.begin(), files.end());  // same order, same messages, on every load

    std::map<std::string, std::string, std::less<>> from_dir;  // profile name -> file
    for (const fs::path& path : files) {
      const std::string file = path.string();
      std::ifstream in(path, std::ios::binary);
      std::ostringstream text;
      if (in) text << in.rdbuf();
      if (!in || in.bad()) return IoError("cannot read " + file + ": " + std::strerror(errno));
      Result<Profile> p = parse_profile(text.str(), file);
      if (!p.ok()) return p.status();
      if (auto [it, fresh] = from_dir.emplace(p->name, file); !fresh)
        return InvalidArgument(file + ": name: \"" + p->name + "\" is also the name of the profile in " + it->second);
      std::string name = p->name;
      (*next)[name] = std::make_shared<const Profile>(std::move(p).value());
    }
  }

  std::lock_guard lock(mu_);
  profiles_ = std::move(next);
  return Status::Ok();
}

std::shared_ptr<const Profile> ProfileSet::find(std::string_view name) const {
  std::shared_ptr<const Map> map;
  {
    std::lock_guard lock(mu_);
    map = profiles_;
  }
  auto it = map->find(name);
  return it == map->end() ? nullptr : it->second;
}

std::vector<std::shared_ptr<const Profile>> ProfileSet::all() const {
  std::shared_ptr<const Map> map;
  {
    std::lock_guard lock(mu_);
    map = profiles_;
  }
  std::vector<std::shared_ptr<const Profile>> out;
  out.reserve(map->size());
  for (const auto& [name, p] : *map) out.push_back(p);
  return out;
}

}  // namespace urbis::devices
