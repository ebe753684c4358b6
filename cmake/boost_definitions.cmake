# Compile definitions every Daisy build shares (the main build and the fuzz
# build in tests/fuzz): Asio and Beast compiled once (src/http/asio_impl.cpp),
# no deprecated Asio, spdlog on Debian's fmt. (Beast 1.81's string_view is
# boost::core::string_view, which converts to and from std::string_view; the
# old BOOST_BEAST_USE_STD_STRING_VIEW only printed a deprecation note.)
add_compile_definitions(
  BOOST_ASIO_SEPARATE_COMPILATION
  BOOST_BEAST_SEPARATE_COMPILATION
  BOOST_ASIO_NO_DEPRECATED
  SPDLOG_FMT_EXTERNAL)
