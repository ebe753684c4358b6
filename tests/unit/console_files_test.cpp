// The console built into the binary: its pages are there and its scripts and
// styles stay within the budget (250 KB uncompressed).
#include <gtest/gtest.h>

#include "api/console_files.h"

namespace daisy {
namespace {

TEST(ConsoleFiles, PagesAreBuiltIn) {
  bool index = false;
  bool docs = false;
  for (const ConsoleFile& file : console_files()) {
    index = index || file.path == "index.html";
    docs = docs || file.path == "docs.html";
    EXPECT_FALSE(file.bytes.empty()) << file.path;
  }
  EXPECT_TRUE(index);
  EXPECT_TRUE(docs);
}

TEST(ConsoleFiles, ScriptsAndStylesStayUnder250KB) {
  std::size_t total = 0;
  for (const ConsoleFile& file : console_files())
    if (file.path.ends_with(".js") || file.path.ends_with(".css")) total += file.bytes.size();
  EXPECT_GT(total, 0u);
  EXPECT_LT(total, 250u * 1000u) << "JavaScript and CSS of the console: " << total << " bytes";
}

}  // namespace
}  // namespace daisy
