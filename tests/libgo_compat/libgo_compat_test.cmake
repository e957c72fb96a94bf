# The libgo-style programs, built against the installed package (included
# from consumer/consumer_test.cmake, whose install and flags they share):
#
#   libgo_compat_build      configures and builds tests/libgo_compat
#   libgo_compat_<program>  runs one program; it checks its own behaviour

set(_libgo_work ${CMAKE_CURRENT_BINARY_DIR}/consumer)

add_test(NAME libgo_compat_build
  COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/../consumer/run_consumer_test.sh libgo
          ${PROJECT_BINARY_DIR} ${_libgo_work} ${CMAKE_INSTALL_LIBDIR})
set_tests_properties(libgo_compat_build PROPERTIES
  FIXTURES_REQUIRED coscope_installed
  FIXTURES_SETUP libgo_compat_built
  TIMEOUT 600
  ENVIRONMENT "CXX=${CMAKE_CXX_COMPILER};CONSUMER_CXXFLAGS=${_consumer_flags}")

foreach(_program sleep_yield go_options channel mutex timer local_storage defer options cxx20)
  add_test(NAME libgo_compat_${_program} COMMAND ${_libgo_work}/libgo-build/${_program})
  set_tests_properties(libgo_compat_${_program} PROPERTIES
    FIXTURES_REQUIRED libgo_compat_built
    TIMEOUT 60
    ENVIRONMENT "LD_LIBRARY_PATH=${_libgo_work}/prefix/${CMAKE_INSTALL_LIBDIR}")
endforeach()

unset(_libgo_work)
unset(_program)
