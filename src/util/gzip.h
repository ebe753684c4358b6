#pragma once
// Decompression of gzip request bodies (Content-Encoding: gzip) with zlib.

#include <cstddef>
#include <string>
#include <string_view>

namespace daisy {

enum class GunzipResult { ok, too_large, corrupt };

// Inflates a gzip stream (up to 1024 concatenated members) into out, stopping
// with too_large as soon as the output would exceed max_output bytes, so a
// small "zip bomb" costs at most max_output of memory.
GunzipResult gunzip(std::string_view compressed, std::size_t max_output, std::string& out);

}  // namespace daisy
