# Compile definitions every Daisy build shares (the main build and the fuzz
# build in tests/fuzz): Asio and Beast compiled once (src/http/asio_impl.cpp),
# no deprecated Asio, std::string_view in Beast, spdlog on Debian's fmt.
add_compile_definitions(
  BOOST_ASIO_SEPARATE_COMPILATION
  BOOST_BEAST_SEPARATE_COMPILATION
  BOOST_ASIO_NO_DEPRECATED
  BOOST_BEAST_USE_STD_STRING_VIEW
  SPDLOG_FMT_EXTERNAL)
