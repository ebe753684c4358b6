// Boost.JSON compiled here from its sources instead of linking Debian's
// libboost_json, so the parser and serializer are instrumented too (coverage
// for libFuzzer, ASan, UBSan). The same Boost 1.81 as the main build.
#include <boost/json/src.hpp>
