# Fails when a C or C++ source of the project is not as clang-format (with the
# repository's .clang-format) would write it, naming each such file.
#
#   cmake -DCLANG_FORMAT=clang-format -DSOURCE_DIR=<repository> -P check_format.cmake
#
# Fix with: clang-format -i FILE...
set(folders runtime hooks tests bench walkthroughs)
set(files)
foreach(folder ${folders})
  file(GLOB_RECURSE found LIST_DIRECTORIES false
       "${SOURCE_DIR}/${folder}/*.cpp" "${SOURCE_DIR}/${folder}/*.h" "${SOURCE_DIR}/${folder}/*.c")
  list(APPEND files ${found})
endforeach()
list(LENGTH files count)
if(count EQUAL 0)
  message(FATAL_ERROR "no sources found under ${SOURCE_DIR}")
endif()

set(unformatted)
foreach(file ${files})
  execute_process(COMMAND ${CLANG_FORMAT} --dry-run -Werror ${file}
                  WORKING_DIRECTORY ${SOURCE_DIR}
                  RESULT_VARIABLE result OUTPUT_QUIET ERROR_QUIET)
  if(NOT result EQUAL 0)
    file(RELATIVE_PATH relative ${SOURCE_DIR} ${file})
    list(APPEND unformatted ${relative})
  endif()
endforeach()

if(unformatted)
  list(JOIN unformatted "\n  " listing)
  message(FATAL_ERROR "not clang-formatted (clang-format -i FILE...):\n  ${listing}")
endif()
message(STATUS "${count} sources are clang-formatted")
