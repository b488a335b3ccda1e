# The installable library and its packaging (docs/embedding.md, "Building against transit86").
#
# libtransit86 is decoder/ + vmx_checks/ + emu/ in one library, built from the object files of
# those three targets, twice: shared (target transit86_shared, exported as
# transit86::transit86) and static (transit86_static, exported as transit86::transit86_static).
# Zydis and fmt stay private: no public header includes them. The shared library records them
# as DT_NEEDED; the static one carries them as link-only dependencies, which the package config
# finds with find_dependency() and transit86.pc lists in Libs.private / Requires.private.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(TRANSIT86_LIBRARY_PARTS transit86_decoder transit86_vmx_checks transit86_emu)

add_library(transit86_shared SHARED)
add_library(transit86_static STATIC)
foreach(lib transit86_shared transit86_static)
  foreach(part IN LISTS TRANSIT86_LIBRARY_PARTS)
    target_sources(${lib} PRIVATE $<TARGET_OBJECTS:${part}>)
  endforeach()
  target_include_directories(${lib} PUBLIC $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
                                           $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  target_link_libraries(${lib} PRIVATE Zydis::Zydis fmt::fmt)
  target_compile_features(${lib} PUBLIC cxx_std_20)
  set_target_properties(${lib} PROPERTIES OUTPUT_NAME transit86 LINKER_LANGUAGE CXX)
endforeach()
set_target_properties(transit86_shared PROPERTIES EXPORT_NAME transit86
                                                  VERSION ${PROJECT_VERSION}
                                                  SOVERSION ${PROJECT_VERSION_MAJOR})
set_target_properties(transit86_static PROPERTIES EXPORT_NAME transit86_static)
# Under clang's sanitizers the runtime lives in the executable, so the library has undefined
# __asan_* / __ubsan_* references by design.
if(NOT TRANSIT86_SANITIZE)
  target_link_options(transit86_shared PRIVATE LINKER:--no-undefined)
endif()
# In-tree users (examples/) see the same names as installed ones.
add_library(transit86::transit86 ALIAS transit86_shared)
add_library(transit86::transit86_static ALIAS transit86_static)

set(TRANSIT86_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/transit86)
install(TARGETS transit86_shared transit86_static EXPORT transit86Targets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/transit86 DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        FILES_MATCHING PATTERN "*.hpp" PATTERN "*.h")
install(EXPORT transit86Targets NAMESPACE transit86:: DESTINATION ${TRANSIT86_CMAKE_DIR})

configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/transit86-config.cmake.in
                              ${PROJECT_BINARY_DIR}/cmake/transit86-config.cmake
                              INSTALL_DESTINATION ${TRANSIT86_CMAKE_DIR})
# 0.x: minor versions may break the API.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/cmake/transit86-config-version.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/cmake/transit86-config.cmake
              ${PROJECT_BINARY_DIR}/cmake/transit86-config-version.cmake
        DESTINATION ${TRANSIT86_CMAKE_DIR})

# transit86.pc is relocatable: its prefix is found from the .pc file's own directory, so
# `cmake --install --prefix` anywhere gives a working file.
file(RELATIVE_PATH TRANSIT86_PC_TO_PREFIX /${CMAKE_INSTALL_LIBDIR}/pkgconfig /)
string(REGEX REPLACE "/$" "" TRANSIT86_PC_TO_PREFIX "${TRANSIT86_PC_TO_PREFIX}")
configure_file(${PROJECT_SOURCE_DIR}/cmake/transit86.pc.in ${PROJECT_BINARY_DIR}/cmake/transit86.pc
               @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/cmake/transit86.pc
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
