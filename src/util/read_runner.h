#pragma once
// How an operation below the API runs its heavy reads where the API wants
// them (on the readers, http/reader_pool.h) without knowing about threads:
// the runner runs the read elsewhere and resumes the caller on its own
// executor. It answers false when the read was refused (the readers are
// busy) and not run. An empty runner: the caller reads on its own thread.

#include <boost/asio/awaitable.hpp>

#include <functional>

namespace daisy {

using ReadRunner = std::function<boost::asio::awaitable<bool>(std::function<void()>)>;

}  // namespace daisy
