# pm_install.cmake: what `cmake --install` puts in a prefix, which is what an
# outside project needs and nothing more (examples/ is built from it in
# .ci/run):
#   lib/libpoblysh.so.* and libpoblysh.a        poblysh::poblysh, poblysh::poblysh_static
#   libexec/poblysh/pm_checksums, pm_embed_sql   poblysh_add_migrations()'s build tools
#   bin/poblysh                                  the standalone command line
#   include/poblysh/*.h                          the public headers (version.h generated)
#   lib/pkgconfig/poblysh.pc                     links the shared library
#   lib/cmake/poblysh/                           find_package(poblysh), the exported
#                                                targets and poblysh_add_migrations()
include(CMakePackageConfigHelpers)
set(PM_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/poblysh)

install(TARGETS pm_shared pm_lib EXPORT poblyshTargets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} NAMELINK_COMPONENT Development
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(TARGETS pm_checksums pm_embed_sql EXPORT poblyshTargets
        RUNTIME DESTINATION ${CMAKE_INSTALL_LIBEXECDIR}/poblysh)
install(TARGETS poblysh RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY core/include/poblysh DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        PATTERN "*.in" EXCLUDE)
install(FILES ${PROJECT_BINARY_DIR}/include/poblysh/version.h
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/poblysh)
install(EXPORT poblyshTargets NAMESPACE poblysh:: DESTINATION ${PM_CMAKE_DIR})

# The package looks up no other package: the shared library records its own
# dependencies, and poblysh::poblysh_static names them as plain libraries
# (PM_STATIC_LIBS, pm_library.cmake), as poblysh.pc's Libs.private does.
configure_package_config_file(cmake/poblyshConfig.cmake.in
  ${PROJECT_BINARY_DIR}/poblyshConfig.cmake INSTALL_DESTINATION ${PM_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/poblyshConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/poblyshConfig.cmake
              ${PROJECT_BINARY_DIR}/poblyshConfigVersion.cmake
              cmake/poblyshMigrations.cmake cmake/pm_embed_sql.cmake cmake/pm_registry.c
        DESTINATION ${PM_CMAKE_DIR})

list(JOIN PM_STATIC_LIBS " -l" PM_PC_LIBS_PRIVATE)
set(PM_PC_LIBS_PRIVATE "-l${PM_PC_LIBS_PRIVATE}")
file(RELATIVE_PATH PM_PC_TO_PREFIX ${CMAKE_INSTALL_FULL_LIBDIR}/pkgconfig ${CMAKE_INSTALL_PREFIX})
string(REGEX REPLACE "/$" "" PM_PC_TO_PREFIX "${PM_PC_TO_PREFIX}")
configure_file(cmake/poblysh.pc.in ${PROJECT_BINARY_DIR}/poblysh.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/poblysh.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
