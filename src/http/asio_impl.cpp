// Asio and Beast are header-only by default; compiling their sources once here
// (BOOST_ASIO_SEPARATE_COMPILATION, BOOST_BEAST_SEPARATE_COMPILATION) keeps
// every other translation unit that includes them fast to build.
#include <boost/asio/impl/src.hpp>
#include <boost/beast/src.hpp>
