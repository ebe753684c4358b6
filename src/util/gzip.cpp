#include "util/gzip.h"

#include <zlib.h>

#include <algorithm>

namespace daisy {

GunzipResult gunzip(std::string_view compressed, std::size_t max_output, std::string& out) {
  out.clear();
  z_stream zs{};
  // 16 + MAX_WBITS: expect a gzip header and trailer (and check the CRC).
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) return GunzipResult::corrupt;
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(compressed.data()));
  zs.avail_in = static_cast<uInt>(compressed.size());
  GunzipResult result = GunzipResult::ok;
  constexpr std::size_t max_chunk = 1 << 20;  // the most inflated past max_output
  std::size_t chunk = std::clamp<std::size_t>(compressed.size() * 4, 4096, max_chunk);
  for (;;) {
    if (out.size() > max_output) {
      result = GunzipResult::too_large;
      break;
    }
    std::size_t used = out.size();
    out.resize(used + chunk);
    zs.next_out = reinterpret_cast<Bytef*>(out.data() + used);
    zs.avail_out = static_cast<uInt>(chunk);
    int rc = inflate(&zs, Z_NO_FLUSH);
    out.resize(used + (chunk - zs.avail_out));
    if (rc == Z_STREAM_END) {
      if (zs.avail_in == 0) break;
      // Another gzip member follows.
      if (inflateReset(&zs) != Z_OK) {
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
    chunk = std::min(chunk * 2, max_chunk);
  }
  inflateEnd(&zs);
  if (out.size() > max_output) result = GunzipResult::too_large;
  if (result != GunzipResult::ok) out.clear();
  return result;
}

}  // namespace daisy
