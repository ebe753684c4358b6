#include "net/fetcher.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

namespace {

using daisy::net::is_internal_address;

bool internal(const char* text) {
  sockaddr_storage storage{};
  if (inet_pton(AF_INET, text, &reinterpret_cast<sockaddr_in*>(&storage)->sin_addr) == 1) {
    storage.ss_family = AF_INET;
  } else if (inet_pton(AF_INET6, text, &reinterpret_cast<sockaddr_in6*>(&storage)->sin6_addr) == 1) {
    storage.ss_family = AF_INET6;
  } else {
    ADD_FAILURE() << "not an address: " << text;
  }
  return is_internal_address(reinterpret_cast<const sockaddr*>(&storage));
}

TEST(Fetcher, RefusesInternalAddresses) {
  for (const char* a : {"127.0.0.1", "10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1", "169.254.169.254",
                        "100.64.0.1", "0.0.0.0", "224.0.0.1", "::1", "::", "fe80::1", "fd00::1", "::ffff:127.0.0.1",
                        "::ffff:10.0.0.1", "64:ff9b::7f00:1", "64:ff9b::a00:1"}) {
    EXPECT_TRUE(internal(a)) << a;
  }
}

TEST(Fetcher, AllowsPublicAddresses) {
  for (const char* a : {"8.8.8.8", "172.32.0.1", "192.169.0.1", "1.1.1.1", "2001:4860:4860::8888", "::ffff:8.8.8.8",
                        "64:ff9b::808:808"}) {
    EXPECT_FALSE(internal(a)) << a;
  }
}

}  // namespace
