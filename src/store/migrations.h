#pragma once
// Versioned schema migrations, embedded in the binary at build time from
// src/store/migrations/<dialect>/NNNN_name.sql (see cmake/embed_files.cmake).

#include <string_view>
#include <vector>

namespace daisy {

struct Migration {
  int version;
  const char* name;
  const char* sql;
};

// In ascending version order.
const std::vector<Migration>& sqlite_migrations();
const std::vector<Migration>& postgres_migrations();

}  // namespace daisy
