# Install rules: libraries, public headers, the CLI, a pkg-config file and a
# CMake package (find_package(tabledata) gives tabledata::tabledata).
include(CMakePackageConfigHelpers)

install(TARGETS tabledata_shared tabledata_static EXPORT tabledataTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY ${CMAKE_SOURCE_DIR}/include/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

# The static library's private dependencies, for static consumers.
set(TD_PC_PRIVATE_LIBS "-lzstd -llz4 -lbrotlidec -lz -lsnappy -lm -lpthread")
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
