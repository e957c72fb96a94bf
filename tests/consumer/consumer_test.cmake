# Tests that an installed coscope can be used (included from tests/CMakeLists.txt).
#
#   consumer_install    cmake --install <this build> --prefix <build>/tests/consumer/prefix
#   consumer_cmake      find_package(coscope) project in tests/consumer, built and run
#   consumer_pkgconfig  c++ main.cpp $(pkg-config --cflags --libs coscope), built and run
#   libgo_compat_*      the libgo-style programs of tests/libgo_compat
#
# Both check that the consumer is compiled with -fstack-clash-protection from
# the package when coscope's compiler has it (EXPECT_STACK_CLASH_PROTECTION).
#
# They install what has been built, so run them after the build (as ctest is).

set(_consumer_script ${CMAKE_CURRENT_LIST_DIR}/run_consumer_test.sh)
set(_consumer_work ${CMAKE_CURRENT_BINARY_DIR}/consumer)

# A sanitized libcoscope needs a consumer built with the same sanitizer.
set(_consumer_flags "")
if(COSCOPE_ASAN)
  set(_consumer_flags "-fsanitize=address,undefined -fno-omit-frame-pointer")
elseif(COSCOPE_TSAN)
  set(_consumer_flags "-fsanitize=thread")
endif()

set(_consumer_expect_clash 0)
if(COSCOPE_HAVE_STACK_CLASH_PROTECTION)
  set(_consumer_expect_clash 1)
endif()

add_test(NAME consumer_install
  COMMAND bash ${_consumer_script} install ${PROJECT_BINARY_DIR} ${_consumer_work})
set_tests_properties(consumer_install PROPERTIES
  FIXTURES_SETUP coscope_installed
  TIMEOUT 120)

foreach(_mode cmake pkgconfig)
  add_test(NAME consumer_${_mode}
    COMMAND bash ${_consumer_script} ${_mode} ${PROJECT_BINARY_DIR} ${_consumer_work}
            ${CMAKE_INSTALL_LIBDIR})
  set_tests_properties(consumer_${_mode} PROPERTIES
    FIXTURES_REQUIRED coscope_installed
    TIMEOUT 300
    ENVIRONMENT "CXX=${CMAKE_CXX_COMPILER};CONSUMER_CXXFLAGS=${_consumer_flags};EXPECT_STACK_CLASH_PROTECTION=${_consumer_expect_clash}")
endforeach()

# The libgo-style programs use the same installed package and flags.
include(${CMAKE_CURRENT_LIST_DIR}/../libgo_compat/libgo_compat_test.cmake)

unset(_consumer_script)
unset(_consumer_work)
unset(_consumer_flags)
unset(_consumer_expect_clash)
unset(_mode)
