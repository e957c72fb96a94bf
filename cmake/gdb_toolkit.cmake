# The gdb toolkit's hook into libcoscope (included from the top-level
# CMakeLists.txt, after runtime/): runtime/src/debug/gdb_autoload.cpp puts a
# `.debug_gdb_scripts` entry in the library that finds the Python package
#   - installed: at COSCOPE_INSTALL_GDBDIR, relative to the library's directory;
#   - in a build tree: in this source tree's gdb/ directory.
# The Python files are installed by cmake/install.cmake.

set(_gdb_libdir "${CMAKE_INSTALL_LIBDIR}")
set(_gdb_dir "${COSCOPE_INSTALL_GDBDIR}")
if(NOT IS_ABSOLUTE "${_gdb_libdir}")
  set(_gdb_libdir "/prefix/${_gdb_libdir}")
endif()
if(NOT IS_ABSOLUTE "${_gdb_dir}")
  set(_gdb_dir "/prefix/${_gdb_dir}")
endif()
file(RELATIVE_PATH _gdb_relative_dir "${_gdb_libdir}" "${_gdb_dir}")

target_sources(coscope PRIVATE ${PROJECT_SOURCE_DIR}/runtime/src/debug/gdb_autoload.cpp)
set_source_files_properties(${PROJECT_SOURCE_DIR}/runtime/src/debug/gdb_autoload.cpp
  DIRECTORY ${PROJECT_SOURCE_DIR}/runtime
  PROPERTIES COMPILE_DEFINITIONS
    "COSCOPE_GDB_RELATIVE_DIR=\"${_gdb_relative_dir}\";COSCOPE_GDB_SOURCE_DIR=\"${PROJECT_SOURCE_DIR}/gdb\"")

unset(_gdb_libdir)
unset(_gdb_dir)
unset(_gdb_relative_dir)
