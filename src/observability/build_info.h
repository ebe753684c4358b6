#pragma once
// What this binary was built from. The commit is read by CMake when the build
// is configured (cmake/build_info.cpp.in); "unknown" outside a git checkout
// (a source package).

namespace daisy {

const char* build_commit();

}  // namespace daisy
