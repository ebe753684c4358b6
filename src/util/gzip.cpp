#include "util/gzip.h"

#include <zlib.h>

#include <array>

namespace daisy {

namespace {

// A body of many tiny gzip members costs a reset each: bound them.
constexpr int max_members = 1024;

}  // namespace

GunzipResult gunzip(std::string_view compressed, std::size_t max_output, std::string& out) {
  out.clear();
  z_stream zs{};
  // 16 + MAX_WBITS: expect a gzip header and trailer (and check the CRC).
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) return GunzipResult::corrupt;
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(compressed.data()));
  zs.avail_in = static_cast<uInt>(compressed.size());
  // Inflated into a fixed buffer and appended as produced: memory follows the
  // output, never a guess of it.
  std::array<unsigned char, 64 * 1024> buffer;
  GunzipResult result = GunzipResult::ok;
  int members = 1;
  for (;;) {
    zs.next_out = buffer.data();
    zs.avail_out = static_cast<uInt>(buffer.size());
    int rc = inflate(&zs, Z_NO_FLUSH);
    std::size_t produced = buffer.size() - zs.avail_out;
    if (out.size() + produced > max_output) {
      result = GunzipResult::too_large;
      break;
    }
    out.append(reinterpret_cast<const char*>(buffer.data()), produced);
    if (rc == Z_STREAM_END) {
      if (zs.avail_in == 0) break;
      // Another gzip member follows.
      if (++members > max_members || inflateReset(&zs) != Z_OK) {
        result = GunzipResult::corrupt;
        break;
      }
      continue;
    }
    if (rc == Z_BUF_ERROR && zs.avail_in == 0) {  // input ended before the stream did
      result = GunzipResult::corrupt;
      break;
    }
    if (rc != Z_OK && rc != Z_BUF_ERROR) {
      result = GunzipResult::corrupt;
      break;
    }
  }
  inflateEnd(&zs);
  if (result != GunzipResult::ok) out.clear();
  return result;
}

}  // namespace daisy
