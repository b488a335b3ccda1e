# Build-time step of transit86_gtest() in suite mode (cmake/transit86_gtest.cmake): asks a
# GoogleTest program for its tests and writes SUITES_FILE, which sets `suites` to the names of
# the suites that have at least one test not DISABLED_ (a suite of disabled tests runs nothing).
#   cmake -D TEST_EXECUTABLE=... -D SUITES_FILE=... -D TIMEOUT=seconds -P gtest_list_suites.cmake
cmake_minimum_required(VERSION 3.25)
execute_process(COMMAND "${TEST_EXECUTABLE}" --gtest_list_tests
                OUTPUT_VARIABLE listing ERROR_VARIABLE errors RESULT_VARIABLE status
                TIMEOUT ${TIMEOUT})
if(NOT status EQUAL 0)
  message(FATAL_ERROR "${TEST_EXECUTABLE} --gtest_list_tests failed (${status}): ${errors}")
endif()

set(suites "")
set(suite "")
string(REPLACE "\n" ";" lines "${listing}")
foreach(line IN LISTS lines)
  # "Suite.", "Instance/Suite.", "Suite/0.  # TypeParam = ..." start a suite; "  Test" (maybe
  # with "  # GetParam() = ...") is one of its tests.
  if(line MATCHES "^([^ #][^ ]*)\\.( |$)")
    set(suite "${CMAKE_MATCH_1}")
  elseif(line MATCHES "^  ([^ ]+)" AND NOT suite STREQUAL "")
    if(NOT suite MATCHES "(^|/)DISABLED_" AND NOT CMAKE_MATCH_1 MATCHES "^DISABLED_"
       AND NOT suite IN_LIST suites)
      list(APPEND suites "${suite}")
    endif()
  endif()
endforeach()
list(JOIN suites "]=] [=[" quoted)
file(WRITE "${SUITES_FILE}" "set(suites [=[${quoted}]=])\n")
