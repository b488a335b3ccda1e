# Driven by ctest (see CMakeLists.txt): STEP is install, find_package or pkg_config.
cmake_minimum_required(VERSION 3.25)
set(prefix ${WORK_DIR}/prefix)

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  message(STATUS "$ ${ARGN}\n${out}${err}")
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGN}")
  endif()
endfunction()

if(STEP STREQUAL "install")
  file(REMOVE_RECURSE ${WORK_DIR})
  run(${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix})
  foreach(f include/transit86/transit86.h include/transit86/vcpu.hpp
            lib/cmake/transit86/transit86-config.cmake lib/pkgconfig/transit86.pc
            lib/libtransit86.a lib/libtransit86.so)
    if(NOT EXISTS ${prefix}/${f})
      message(FATAL_ERROR "not installed: ${f}")
    endif()
  endforeach()
elseif(STEP STREQUAL "find_package")
  set(build ${WORK_DIR}/find_package)
  file(REMOVE_RECURSE ${build})
  run(${CMAKE_COMMAND} -S ${PROJECT_DIR} -B ${build} -G ${GENERATOR}
      -DCMAKE_BUILD_TYPE=${CONFIG} -DCMAKE_PREFIX_PATH=${prefix}
      -DCMAKE_CXX_COMPILER=${CXX} -DCMAKE_C_COMPILER=${CC})
  run(${CMAKE_COMMAND} --build ${build})
  foreach(exe consumer_shared consumer_static consumer_c)
    run(${build}/${exe} ${SAMPLE})
  endforeach()
  # The static one must not need libtransit86.so at run time.
  execute_process(COMMAND ldd ${build}/consumer_static OUTPUT_VARIABLE deps)
  if(deps MATCHES "libtransit86")
    message(FATAL_ERROR "consumer_static depends on the shared library:\n${deps}")
  endif()
elseif(STEP STREQUAL "pkg_config")
  set(build ${WORK_DIR}/pkg_config)
  file(MAKE_DIRECTORY ${build})
  set(ENV{PKG_CONFIG_PATH} ${prefix}/lib/pkgconfig)
  execute_process(COMMAND pkg-config --cflags --libs transit86 OUTPUT_VARIABLE flags
                  RESULT_VARIABLE rc OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "pkg-config --cflags --libs transit86 failed")
  endif()
  message(STATUS "pkg-config --cflags --libs transit86: ${flags}")
  separate_arguments(flags UNIX_COMMAND "${flags}")
  run(${CC} -std=c11 -Wall -Wextra -Wpedantic -Werror ${PROJECT_DIR}/main.c -o ${build}/consumer_c
      ${flags} -Wl,-rpath,${prefix}/lib)
  run(${build}/consumer_c ${SAMPLE})
  # Static: `pkg-config --static` adds the private dependencies (Zydis, fmt, the C++ runtime);
  # the archive is named explicitly so the linker cannot pick the shared library instead.
  execute_process(COMMAND pkg-config --static --cflags --libs transit86 OUTPUT_VARIABLE static_flags
                  RESULT_VARIABLE rc OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(NOT rc EQUAL 0 OR NOT static_flags MATCHES "-lZydis" OR NOT static_flags MATCHES "-lfmt")
    message(FATAL_ERROR "pkg-config --static --libs transit86: '${static_flags}'")
  endif()
  string(REPLACE "-ltransit86" "${prefix}/lib/libtransit86.a" static_flags "${static_flags}")
  separate_arguments(static_flags UNIX_COMMAND "${static_flags}")
  run(${CXX} -std=c++20 ${PROJECT_DIR}/main.cpp -o ${build}/consumer_static ${static_flags})
  run(${build}/consumer_static ${SAMPLE})
else()
  message(FATAL_ERROR "unknown STEP '${STEP}'")
endif()
