# Fails if LIBRARY depends on a GLIBC_PRIVATE symbol version: glibc's
# internals, which a later glibc may drop (as 2.34 dropped __libc_dlsym and
# broke every program that used it).
#
#   cmake -DOBJDUMP=objdump -DLIBRARY=libcoscope.so -P check_no_glibc_private.cmake
execute_process(COMMAND ${OBJDUMP} -T ${LIBRARY} OUTPUT_VARIABLE symbols RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${OBJDUMP} -T failed on ${LIBRARY}")
endif()
string(REGEX MATCHALL "[^\n]*GLIBC_PRIVATE[^\n]*" private "${symbols}")
if(private)
  string(REPLACE ";" "\n" private "${private}")
  message(FATAL_ERROR "${LIBRARY} depends on GLIBC_PRIVATE:\n${private}")
endif()
message(STATUS "${LIBRARY}: no GLIBC_PRIVATE dependency")
