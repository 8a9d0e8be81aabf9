# Install rules: libraries, public headers, the CLI, a pkg-config file and a
# CMake package (find_package(tabledata) gives tabledata::tabledata, the
# shared library, and tabledata::tabledata_static), the documents and the
# man page; the loader cache is refreshed when installing to /usr or
# /usr/local as root; an `uninstall` target removes what install_manifest.txt
# lists.
include(CMakePackageConfigHelpers)

install(TARGETS tabledata_shared tabledata_static EXPORT tabledataTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY ${CMAKE_SOURCE_DIR}/include/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

# The static library's private dependencies, for static consumers.
set(TD_PC_PRIVATE_LIBS "-lzstd -llz4 -lbrotlidec -lz -lsnappy -lpcre2-8 -lm -lpthread -lstdc++")
# libpq and librdkafka are opened with dlopen on first use (src/util/dynlib.h).
if(TD_WITH_POSTGRES OR TD_WITH_KAFKA)
  string(APPEND TD_PC_PRIVATE_LIBS " -ldl")
endif()
if(TD_WITH_KAFKA)
  string(APPEND TD_PC_PRIVATE_LIBS " -ljansson")
endif()
# The .pc file is relocatable (paths relative to where it is installed) and
# gives consumers an RPATH to the library, so they run without
# LD_LIBRARY_PATH whatever the prefix.
file(RELATIVE_PATH TD_PC_TO_PREFIX /p/${CMAKE_INSTALL_LIBDIR}/pkgconfig /p)
configure_file(${CMAKE_SOURCE_DIR}/cmake/tabledata.pc.in ${CMAKE_BINARY_DIR}/tabledata.pc @ONLY)
install(FILES ${CMAKE_BINARY_DIR}/tabledata.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

set_target_properties(tabledata_shared PROPERTIES EXPORT_NAME tabledata)
set_target_properties(tabledata_static PROPERTIES EXPORT_NAME tabledata_static)
install(EXPORT tabledataTargets NAMESPACE tabledata:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/tabledata)
configure_package_config_file(${CMAKE_SOURCE_DIR}/cmake/tabledataConfig.cmake.in
  ${CMAKE_BINARY_DIR}/tabledataConfig.cmake INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/tabledata)
write_basic_package_version_file(${CMAKE_BINARY_DIR}/tabledataConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_BINARY_DIR}/tabledataConfig.cmake ${CMAKE_BINARY_DIR}/tabledataConfigVersion.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/tabledata)

# Documents and the man page.
install(FILES ${CMAKE_SOURCE_DIR}/README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
file(GLOB TD_DOCS ${CMAKE_SOURCE_DIR}/docs/*.md)
install(FILES ${TD_DOCS} DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(FILES ${CMAKE_SOURCE_DIR}/man/tabledata.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)

# A shared library installed into a directory the dynamic loader searches
# needs its cache refreshed before programs find it.
install(CODE [[
  if(NOT "$ENV{DESTDIR}" AND CMAKE_INSTALL_PREFIX MATCHES "^/usr(/local)?/?$")
    execute_process(COMMAND id -u OUTPUT_VARIABLE td_uid OUTPUT_STRIP_TRAILING_WHITESPACE)
    find_program(TD_LDCONFIG ldconfig PATHS /sbin /usr/sbin)
    if(td_uid STREQUAL "0" AND TD_LDCONFIG)
      message(STATUS "Running ldconfig")
      execute_process(COMMAND ${TD_LDCONFIG})
    endif()
  endif()
]])

# cmake --build <dir> --target uninstall (make uninstall): removes every file
# of the last install (install_manifest.txt) and the folders only it made.
add_custom_target(uninstall COMMAND ${CMAKE_COMMAND} -DTD_MANIFEST=${CMAKE_BINARY_DIR}/install_manifest.txt
  -P ${CMAKE_SOURCE_DIR}/cmake/uninstall.cmake)
