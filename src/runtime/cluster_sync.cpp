#include "runtime/cluster_sync.h"

#include <spdlog/spdlog.h>

#include "observability/log_value.h"
#include "util/thread_name.h"

namespace daisy {

ClusterSync::ClusterSync(ClusterStore& store, std::chrono::milliseconds interval)
    : store_(store), interval_(interval) {}

ClusterSync::~ClusterSync() { stop(); }

void ClusterSync::on(std::string kind, Reload reload) { reloads_.emplace_back(std::move(kind), std::move(reload)); }

const ClusterSync::Reload* ClusterSync::reload_for(const std::string& kind) const {
  for (const auto& [prefix, reload] : reloads_) {
    bool matches = prefix.ends_with(':') ? kind.starts_with(prefix) : kind == prefix;
    if (matches) return &reload;
  }
  return nullptr;
}

void ClusterSync::mark_current() {
  auto versions = store_.change_versions();
  if (!versions.is_ok()) return;
  for (const auto& [kind, version] : versions.value()) seen_[kind] = version;
}

void ClusterSync::keep_node_claim() {
  Status kept = store_.keep_node_claim();
  if (kept.is_ok()) {
    if (!claim_ok_) spdlog::warn("msg=\"node id claimed again\"");
    claim_ok_ = true;
    return;
  }
  if (claim_ok_ || kept.code() == Status::Code::conflict) {
    spdlog::error("msg=\"node id claim lost\" error={}", log_value(kept.message()));
  }
  claim_ok_ = false;
}

void ClusterSync::poll() {
  keep_node_claim();
  auto versions = store_.change_versions();
  if (!versions.is_ok()) {
    spdlog::debug("msg=\"cannot read change versions\" error={}", log_value(versions.status().message()));
    return;
  }
  for (const auto& [kind, version] : versions.value()) {
    auto it = seen_.find(kind);
    if (it != seen_.end() && it->second == version) continue;
    const Reload* reload = reload_for(kind);
    if (reload && !(*reload)(kind)) continue;
    seen_[kind] = version;
  }
}

void ClusterSync::start() {
  thread_ = std::thread([this] {
    name_this_thread("daisy-cluster");
    std::unique_lock lock(mu_);
    while (!stopping_) {
      lock.unlock();
      poll();
      lock.lock();
      cv_.wait_for(lock, interval_, [this] { return stopping_; });
    }
  });
}

void ClusterSync::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace daisy
