# Fails unless BINARY calls every function in SYMBOLS (comma-separated) from
# a shared library: each must be an undefined dynamic symbol of it.
#
#   cmake -DNM=nm -DBINARY=prog -DSYMBOLS=__read_chk,fcntl64 -P check_undefined_symbols.cmake
execute_process(COMMAND ${NM} -D --undefined-only ${BINARY}
                OUTPUT_VARIABLE undefined RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${NM} failed on ${BINARY}")
endif()
string(REPLACE "," ";" symbols "${SYMBOLS}")
set(missing "")
foreach(symbol IN LISTS symbols)
  if(NOT undefined MATCHES "[ \t]${symbol}(@[^\n]*)?\n")
    list(APPEND missing ${symbol})
  endif()
endforeach()
if(missing)
  message(FATAL_ERROR "${BINARY} does not call: ${missing}")
endif()
message(STATUS "${BINARY} calls: ${symbols}")
