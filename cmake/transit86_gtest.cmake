# transit86_gtest(TARGET [DISCOVERY_TIMEOUT SECONDS] [PROPERTIES NAME VALUE ...]): registers a
# GoogleTest program (linked with transit86_gtest_main, tests/gtest_main.cpp) with ctest.
#
# Default build: one ctest per test (gtest_discover_tests), so that every failure and every
# skip is named in the summary.
# Sanitizer builds (TRANSIT86_SANITIZE): one ctest per test suite, run with
# --gtest_filter=SUITE.*. An instrumented process costs ~0.2 s of CPU before its first test;
# with ~1,400 tests that was a third of the ASan half of make test on two cores. Nothing is
# lost: every test still runs, a failing one fails its suite and the output names it, and the
# same tests are reported one by one in the default build. A suite is skipped (exit status 77)
# only when every test in it skipped; a failure always fails it (a skip regular expression
# would not: it wins over the exit status).
include(GoogleTest)

function(transit86_gtest target)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "DISCOVERY_TIMEOUT" "PROPERTIES")
  if(NOT arg_DISCOVERY_TIMEOUT)
    set(arg_DISCOVERY_TIMEOUT 5)
  endif()
  if(NOT TRANSIT86_SANITIZE)
    gtest_discover_tests(${target} DISCOVERY_TIMEOUT ${arg_DISCOVERY_TIMEOUT}
                         PROPERTIES SKIP_RETURN_CODE 77 ${arg_PROPERTIES})
    return()
  endif()

  # The suite list is written after each link (the program knows its tests); ctest reads it
  # through an include file written now.
  set(suites_file "${CMAKE_CURRENT_BINARY_DIR}/${target}_suites.cmake")
  set(include_file "${CMAKE_CURRENT_BINARY_DIR}/${target}_include.cmake")
  add_custom_command(
    TARGET ${target} POST_BUILD
    COMMAND ${CMAKE_COMMAND} -D TEST_EXECUTABLE=$<TARGET_FILE:${target}>
            -D SUITES_FILE=${suites_file} -D TIMEOUT=${arg_DISCOVERY_TIMEOUT}
            -P ${PROJECT_SOURCE_DIR}/cmake/gtest_list_suites.cmake
    BYPRODUCTS ${suites_file}
    VERBATIM)
  set(properties "")
  foreach(word IN LISTS arg_PROPERTIES)
    string(APPEND properties " [==[${word}]==]")
  endforeach()
  file(GENERATE OUTPUT ${include_file} CONTENT "\
if(EXISTS [==[${suites_file}]==])
  include([==[${suites_file}]==])
  foreach(suite IN LISTS suites)
    add_test(\"\${suite}.*\" [==[$<TARGET_FILE:${target}>]==] \"--gtest_filter=\${suite}.*\")
    set_tests_properties(\"\${suite}.*\" PROPERTIES SKIP_RETURN_CODE 77${properties})
  endforeach()
else()
  add_test([==[${target}_NOT_BUILT]==] [==[${target}_NOT_BUILT]==])
endif()
")
  set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES ${include_file})
endfunction()
