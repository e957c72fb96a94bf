# Installation and export of libcoscope (included from runtime/CMakeLists.txt,
# after target `coscope` is defined).
#
#   cmake --install build [--prefix DIR]
#
# installs
#   include/coscope/**                      the public headers
#   lib/libcoscope.{so*,a}                  shared or static (BUILD_SHARED_LIBS)
#   lib/cmake/coscope/coscope*.cmake        find_package(coscope) -> coscope::coscope
#   lib/pkgconfig/coscope.pc                pkg-config --cflags --libs coscope
#   share/coscope/gdb/**                    the gdb toolkit, which libcoscope makes
#                                           gdb load by itself (docs/gdb.md)
#
# Both the CMake package and the .pc file locate the prefix relative to
# themselves, so an installed tree can be moved (or installed with --prefix
# or DESTDIR) without editing them.

include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(COSCOPE_INSTALL_CMAKEDIR "${CMAKE_INSTALL_LIBDIR}/cmake/coscope"
    CACHE STRING "Where to install the CMake package files of coscope (relative to the prefix)")
mark_as_advanced(COSCOPE_INSTALL_CMAKEDIR)
# Read at build time too: libcoscope finds the toolkit relative to itself
# (cmake/gdb_toolkit.cmake).
set(COSCOPE_INSTALL_GDBDIR "${CMAKE_INSTALL_DATADIR}/coscope/gdb"
    CACHE STRING "Where to install the gdb toolkit of coscope (relative to the prefix)")
mark_as_advanced(COSCOPE_INSTALL_GDBDIR)

get_target_property(_coscope_type coscope TYPE)
if(_coscope_type STREQUAL "STATIC_LIBRARY")
  set(COSCOPE_INSTALLED_STATIC ON)
else()
  set(COSCOPE_INSTALLED_STATIC OFF)
endif()

# ---- library and headers ----------------------------------------------------
# The private link of $<BUILD_INTERFACE:coscope_build_flags> is dropped from the
# export, as is coscope_logging (spdlog and fmt, compiled in); Boost::context
# appears in it as $<LINK_ONLY:...> for a static library only, and the package
# config finds it in that case.
install(TARGETS coscope
  EXPORT coscopeTargets
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT coscope_runtime
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT coscope_runtime
          NAMELINK_COMPONENT coscope_development
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT coscope_development)
# (The include directory comes from the target's $<INSTALL_INTERFACE:...>.)

install(DIRECTORY ${PROJECT_SOURCE_DIR}/runtime/include/coscope
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
  COMPONENT coscope_development
  FILES_MATCHING PATTERN "*.h" PATTERN "*.hpp")

# ---- gdb toolkit -------------------------------------------------------------
install(FILES ${PROJECT_SOURCE_DIR}/gdb/coscope.py
  DESTINATION ${COSCOPE_INSTALL_GDBDIR}
  COMPONENT coscope_runtime)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/gdb/coscope
  DESTINATION ${COSCOPE_INSTALL_GDBDIR}
  COMPONENT coscope_runtime
  FILES_MATCHING PATTERN "*.py"
  PATTERN "__pycache__" EXCLUDE)

# ---- CMake package ----------------------------------------------------------
install(EXPORT coscopeTargets
  NAMESPACE coscope::
  FILE coscopeTargets.cmake
  DESTINATION ${COSCOPE_INSTALL_CMAKEDIR}
  COMPONENT coscope_development)

configure_package_config_file(
  ${PROJECT_SOURCE_DIR}/cmake/coscopeConfig.cmake.in
  ${PROJECT_BINARY_DIR}/cmake/coscopeConfig.cmake
  INSTALL_DESTINATION ${COSCOPE_INSTALL_CMAKEDIR})
# 0.x: a minor release may break the API, so only the same minor version matches.
write_basic_package_version_file(
  ${PROJECT_BINARY_DIR}/cmake/coscopeConfigVersion.cmake
  VERSION ${PROJECT_VERSION}
  COMPATIBILITY SameMinorVersion)
install(FILES
  ${PROJECT_BINARY_DIR}/cmake/coscopeConfig.cmake
  ${PROJECT_BINARY_DIR}/cmake/coscopeConfigVersion.cmake
  DESTINATION ${COSCOPE_INSTALL_CMAKEDIR}
  COMPONENT coscope_development)

# ---- pkg-config -------------------------------------------------------------
# The prefix is found from the .pc file's own location (${pcfiledir}).
set(_coscope_pc_dir "${CMAKE_INSTALL_LIBDIR}/pkgconfig")
if(IS_ABSOLUTE "${_coscope_pc_dir}")
  set(COSCOPE_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
else()
  file(RELATIVE_PATH _coscope_pc_up "/prefix/${_coscope_pc_dir}" "/prefix")
  string(REGEX REPLACE "/$" "" _coscope_pc_up "${_coscope_pc_up}")
  set(COSCOPE_PC_PREFIX "\${pcfiledir}/${_coscope_pc_up}")
endif()
foreach(_dir LIBDIR INCLUDEDIR)
  if(IS_ABSOLUTE "${CMAKE_INSTALL_${_dir}}")
    set(COSCOPE_PC_${_dir} "${CMAKE_INSTALL_${_dir}}")
  else()
    set(COSCOPE_PC_${_dir} "\${prefix}/${CMAKE_INSTALL_${_dir}}")
  endif()
endforeach()

# What libcoscope itself links: public (threads, dl) and private (Boost.Context;
# spdlog and fmt are compiled in). A static archive cannot carry its
# dependencies, so for a static build the private one moves to Libs.
set(_coscope_pc_public "-pthread")
foreach(_lib IN LISTS CMAKE_DL_LIBS)
  string(APPEND _coscope_pc_public " -l${_lib}")
endforeach()
set(_coscope_pc_private "-lboost_context")
if(COSCOPE_INSTALLED_STATIC)
  set(COSCOPE_PC_LIBS "-L\${libdir} -lcoscope ${_coscope_pc_private} ${_coscope_pc_public}")
  set(COSCOPE_PC_LIBS_PRIVATE "")
else()
  set(COSCOPE_PC_LIBS "-L\${libdir} -lcoscope ${_coscope_pc_public}")
  set(COSCOPE_PC_LIBS_PRIVATE "${_coscope_pc_private}")
endif()

# Programs built with pkg-config get stack clash protection too (see
# runtime/CMakeLists.txt), when the compiler coscope was built with knows it.
set(COSCOPE_PC_CFLAGS "")
if(COSCOPE_HAVE_STACK_CLASH_PROTECTION)
  set(COSCOPE_PC_CFLAGS " -fstack-clash-protection")
endif()

configure_file(${PROJECT_SOURCE_DIR}/cmake/coscope.pc.in
               ${PROJECT_BINARY_DIR}/cmake/coscope.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/cmake/coscope.pc
  DESTINATION ${_coscope_pc_dir}
  COMPONENT coscope_development)

unset(_coscope_type)
unset(_coscope_pc_dir)
unset(_coscope_pc_up)
unset(_coscope_pc_public)
unset(_coscope_pc_private)
