#pragma once
// A page of a listing ordered by id.

#include <cstddef>
#include <string>

namespace daisy {

struct Page {
  std::size_t limit = 50;
  std::string after;  // exclusive cursor: the last id of the previous page
};

}  // namespace daisy
