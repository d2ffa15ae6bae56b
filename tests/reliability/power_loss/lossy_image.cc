#include "tests/reliability/power_loss/lossy_image.h"

#include <fcntl.h>
#include <linux/falloc.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>

namespace ordergate::lossyfs {
namespace {

// The components of an absolute path ("/a/b" -> {"a", "b"}); empty ones are skipped.
std::vector<std::string> Components(const std::string& path) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < path.size()) {
    while (i < path.size() && path[i] == '/') ++i;
    size_t j = i;
    while (j < path.size() && path[j] != '/') ++j;
    if (j > i) out.push_back(path.substr(i, j - i));
    i = j;
  }
  return out;
}

// Whether `path` names `ancestor` or lies below it.
bool Within(const std::string& path, const std::string& ancestor) {
  return path == ancestor ||
         (path.size() > ancestor.size() && path.compare(0, ancestor.size(), ancestor) == 0 &&
          path[ancestor.size()] == '/');
}

timespec Now() {
  timespec t{};
  ::clock_gettime(CLOCK_REALTIME, &t);
  return t;
}

}  // namespace

Image::Image(DirSync dir_sync) : dir_sync_(dir_sync) {
  auto root = std::make_unique<Node>();
  root->ino = kRootIno;
  root->dir = true;
  root->mode = 0755;
  root->mtime = root->ctime = Now();
  nodes_[kRootIno] = std::move(root);
}

Image::Node* Image::Find(uint64_t ino) const {
  auto it = nodes_.find(ino);
  return it == nodes_.end() ? nullptr : it->second.get();
}

Image::Node* Image::NewNode(bool dir, uint32_t mode) {
  auto n = std::make_unique<Node>();
  n->ino = next_ino_++;
  n->dir = dir;
  n->mode = mode & 07777;
  n->mtime = n->ctime = Now();
  Node* raw = n.get();
  nodes_[raw->ino] = std::move(n);
  return raw;
}

void Image::Touch(Node* n) { n->mtime = n->ctime = Now(); }

void Image::MarkDirty(Node* n, uint64_t begin, uint64_t end) {
  n->dirty_begin = std::min(n->dirty_begin, begin);
  n->dirty_end = std::max(n->dirty_end, end);
}

int Image::Lookup(const std::string& path, uint64_t* ino) const {
  const Node* n = Find(kRootIno);
  for (const std::string& c : Components(path)) {
    if (!n->dir) return -ENOTDIR;
    auto it = n->entries.find(c);
    if (it == n->entries.end()) return -ENOENT;
    n = Find(it->second);
  }
  *ino = n->ino;
  return 0;
}

int Image::Parent(const std::string& path, Node** dir, std::string* name) const {
  std::vector<std::string> parts = Components(path);
  if (parts.empty()) return -EBUSY;  // the root itself
  *name = parts.back();
  if (name->size() > 255) return -ENAMETOOLONG;
  std::string parent = "/";
  for (size_t i = 0; i + 1 < parts.size(); ++i) parent += parts[i] + "/";
  uint64_t ino = 0;
  if (const int rc = Lookup(parent, &ino); rc != 0) return rc;
  Node* d = Find(ino);
  if (!d->dir) return -ENOTDIR;
  *dir = d;
  return 0;
}

int Image::Create(const std::string& path, uint32_t mode, bool exclusive, uint64_t* ino,
                  bool* created) {
  Node* dir = nullptr;
  std::string name;
  if (const int rc = Parent(path, &dir, &name); rc != 0) return rc;
  if (auto it = dir->entries.find(name); it != dir->entries.end()) {
    if (exclusive) return -EEXIST;
    if (Find(it->second)->dir) return -EISDIR;
    *ino = it->second;
    *created = false;
    return 0;
  }
  Node* n = NewNode(false, mode);
  dir->entries[name] = n->ino;
  Touch(dir);
  *ino = n->ino;
  *created = true;
  return 0;
}

int Image::Mkdir(const std::string& path, uint32_t mode) {
  Node* dir = nullptr;
  std::string name;
  if (const int rc = Parent(path, &dir, &name); rc != 0) return rc;
  if (dir->entries.count(name) != 0) return -EEXIST;
  Node* n = NewNode(true, mode);
  dir->entries[name] = n->ino;
  Touch(dir);
  return 0;
}

int Image::Unlink(const std::string& path) {
  Node* dir = nullptr;
  std::string name;
  if (const int rc = Parent(path, &dir, &name); rc != 0) return rc;
  auto it = dir->entries.find(name);
  if (it == dir->entries.end()) return -ENOENT;
  if (Find(it->second)->dir) return -EISDIR;
  dir->entries.erase(it);  // the node stays: an open file, and the durable entry, may name it
  Touch(dir);
  return 0;
}

int Image::Rmdir(const std::string& path) {
  Node* dir = nullptr;
  std::string name;
  if (const int rc = Parent(path, &dir, &name); rc != 0) return rc;
  auto it = dir->entries.find(name);
  if (it == dir->entries.end()) return -ENOENT;
  const Node* victim = Find(it->second);
  if (!victim->dir) return -ENOTDIR;
  if (!victim->entries.empty()) return -ENOTEMPTY;
  dir->entries.erase(it);
  Touch(dir);
  return 0;
}

int Image::Rename(const std::string& from, const std::string& to, bool no_replace) {
  if (from == to) return 0;
  Node* from_dir = nullptr;
  Node* to_dir = nullptr;
  std::string from_name, to_name;
  if (const int rc = Parent(from, &from_dir, &from_name); rc != 0) return rc;
  if (const int rc = Parent(to, &to_dir, &to_name); rc != 0) return rc;
  auto src = from_dir->entries.find(from_name);
  if (src == from_dir->entries.end()) return -ENOENT;
  const Node* moving = Find(src->second);
  if (moving->dir && Within(to, from)) return -EINVAL;  // into itself
  if (auto dst = to_dir->entries.find(to_name); dst != to_dir->entries.end()) {
    if (no_replace) return -EEXIST;
    const Node* replaced = Find(dst->second);
    if (moving->dir && !replaced->dir) return -ENOTDIR;
    if (!moving->dir && replaced->dir) return -EISDIR;
    if (replaced->dir && !replaced->entries.empty()) return -ENOTEMPTY;
  }
  const uint64_t ino = src->second;
  from_dir->entries.erase(src);
  to_dir->entries[to_name] = ino;
  Touch(from_dir);
  Touch(to_dir);
  return 0;
}

int Image::Stat(uint64_t ino, NodeStat* out) const {
  const Node* n = Find(ino);
  if (n == nullptr) return -ESTALE;
  out->ino = n->ino;
  out->dir = n->dir;
  out->mode = n->mode;
  out->size = n->dir ? 4096 : n->data.size();
  out->nlink = n->dir ? 2 : 1;
  out->mtime = n->mtime;
  out->ctime = n->ctime;
  return 0;
}

int Image::Read(uint64_t ino, char* buf, size_t size, off_t offset, size_t* read) const {
  const Node* n = Find(ino);
  if (n == nullptr) return -ESTALE;
  if (n->dir) return -EISDIR;
  if (offset < 0) return -EINVAL;
  const uint64_t off = static_cast<uint64_t>(offset);
  *read = off >= n->data.size() ? 0 : std::min<uint64_t>(size, n->data.size() - off);
  if (*read > 0) std::memcpy(buf, n->data.data() + off, *read);
  return 0;
}

int Image::Write(uint64_t ino, const char* buf, size_t size, off_t offset) {
  Node* n = Find(ino);
  if (n == nullptr) return -ESTALE;
  if (n->dir) return -EISDIR;
  if (offset < 0) return -EINVAL;
  const uint64_t off = static_cast<uint64_t>(offset);
  if (off + size > n->data.size()) n->data.resize(off + size, '\0');
  if (size > 0) std::memcpy(n->data.data() + off, buf, size);
  MarkDirty(n, off, off + size);
  Touch(n);
  return 0;
}

int Image::Truncate(uint64_t ino, off_t size) {
  Node* n = Find(ino);
  if (n == nullptr) return -ESTALE;
  if (n->dir) return -EISDIR;
  if (size < 0) return -EINVAL;
  const uint64_t old_size = n->data.size();
  const uint64_t new_size = static_cast<uint64_t>(size);
  n->data.resize(new_size, '\0');
  MarkDirty(n, std::min(old_size, new_size), std::max(old_size, new_size));
  Touch(n);
  return 0;
}

int Image::Allocate(uint64_t ino, int mode, off_t offset, off_t length) {
  Node* n = Find(ino);
  if (n == nullptr) return -ESTALE;
  if (n->dir) return -EISDIR;
  if (offset < 0 || length <= 0) return -EINVAL;
  if (mode == FALLOC_FL_KEEP_SIZE) return 0;  // a reservation no reader can see
  if (mode != 0) return -EOPNOTSUPP;
  const uint64_t end = static_cast<uint64_t>(offset) + static_cast<uint64_t>(length);
  if (end > n->data.size()) return Truncate(ino, static_cast<off_t>(end));
  return 0;
}

int Image::SetMode(uint64_t ino, uint32_t mode) {
  Node* n = Find(ino);
  if (n == nullptr) return -ESTALE;
  n->mode = mode & 07777;
  n->ctime = Now();
  return 0;
}

int Image::SetTimes(uint64_t ino, const timespec& mtime) {
  Node* n = Find(ino);
  if (n == nullptr) return -ESTALE;
  n->mtime = mtime;
  n->ctime = Now();
  return 0;
}

int Image::List(uint64_t ino, std::vector<std::pair<std::string, NodeStat>>* out) const {
  const Node* n = Find(ino);
  if (n == nullptr) return -ESTALE;
  if (!n->dir) return -ENOTDIR;
  for (const auto& [name, child] : n->entries) {
    NodeStat st;
    Stat(child, &st);
    out->emplace_back(name, st);
  }
  return 0;
}

int Image::SyncFile(uint64_t ino, const std::string& path) {
  Node* n = Find(ino);
  if (n == nullptr) return -ESTALE;
  if (n->dir) return SyncDir(ino);
  n->durable.resize(n->data.size(), '\0');
  const uint64_t end = std::min<uint64_t>(n->dirty_end, n->data.size());
  if (n->dirty_begin < end) {
    std::memcpy(n->durable.data() + n->dirty_begin, n->data.data() + n->dirty_begin,
                end - n->dirty_begin);
  }
  n->dirty_begin = UINT64_MAX;
  n->dirty_end = 0;
  if (dir_sync_ == DirSync::kLenient && !path.empty()) {
    // The entries on the file's own path, root first, as they are now.
    Node* dir = Find(kRootIno);
    for (const std::string& c : Components(path)) {
      auto it = dir->entries.find(c);
      if (it == dir->entries.end()) break;
      dir->durable_entries[c] = it->second;
      dir = Find(it->second);
      if (!dir->dir) break;
    }
  }
  return 0;
}

int Image::SyncDir(uint64_t ino) {
  Node* n = Find(ino);
  if (n == nullptr) return -ESTALE;
  if (!n->dir) return SyncFile(ino, "");
  n->durable_entries = n->entries;
  return 0;
}

CutReport Image::Cut() {
  CutReport report;
  std::set<uint64_t> reachable;
  std::vector<uint64_t> todo = {kRootIno};
  while (!todo.empty()) {
    const uint64_t ino = todo.back();
    todo.pop_back();
    Node* n = Find(ino);
    if (n == nullptr || !reachable.insert(ino).second) continue;
    if (n->dir) {
      for (const auto& [name, child] : n->entries) {
        auto d = n->durable_entries.find(name);
        if (d == n->durable_entries.end() || d->second != child) ++report.entries_reverted;
      }
      for (const auto& [name, child] : n->durable_entries) {
        if (n->entries.count(name) == 0) ++report.entries_reverted;
        todo.push_back(child);
      }
      n->entries = n->durable_entries;
    } else {
      if (n->data != n->durable) {
        ++report.files_reverted;
        report.bytes_lost += n->data.size() > n->durable.size() ? n->data.size() - n->durable.size()
                                                                : static_cast<uint64_t>(0);
        // Bytes overwritten in place but not synced count too.
        const size_t common = std::min(n->data.size(), n->durable.size());
        for (size_t i = 0; i < common; ++i) report.bytes_lost += n->data[i] != n->durable[i];
      }
      n->data = n->durable;
      n->dirty_begin = UINT64_MAX;
      n->dirty_end = 0;
    }
  }
  for (auto it = nodes_.begin(); it != nodes_.end();) {
    if (reachable.count(it->first) == 0) {
      ++report.nodes_dropped;
      it = nodes_.erase(it);
    } else {
      ++it;
    }
  }
  return report;
}

uint64_t Image::bytes() const {
  uint64_t total = 0;
  for (const auto& [ino, n] : nodes_) total += n->data.size() + n->durable.size();
  return total;
}

}  // namespace ordergate::lossyfs
