# pm_package.cmake: installs the man pages and shell completions, and sets up
# CPack to make one Debian package, poblysh, of everything `cmake --install`
# installs (`cpack -G DEB`; scripts/package.sh builds and proves it).
# Included at the end of the top-level CMakeLists.txt, after every install().

# ---- Man pages and shell completions -------------------------------------------
install(FILES ${PROJECT_SOURCE_DIR}/man/poblysh.1 ${PROJECT_SOURCE_DIR}/man/poblysh-migrate.1
        DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
install(FILES ${PROJECT_SOURCE_DIR}/completions/poblysh.bash
        DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions
        RENAME poblysh)
install(FILES ${PROJECT_SOURCE_DIR}/completions/_poblysh
        DESTINATION ${CMAKE_INSTALL_DATADIR}/zsh/vendor-completions)

# ---- The Debian package --------------------------------------------------------
set(POBLYSH_PACKAGE_MAINTAINER
    "poblysh maintainers <maintainers@users.noreply.b-seed-fa487fb3.example>"
    CACHE STRING "Maintainer field of the Debian package")

set(CPACK_PACKAGE_NAME poblysh)
set(CPACK_PACKAGE_VENDOR poblysh)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")
set(CPACK_PACKAGE_CONTACT "${POBLYSH_PACKAGE_MAINTAINER}")
# A Debian package installs under /usr whatever prefix the build was
# configured with (configure with -DCMAKE_INSTALL_PREFIX=/usr, as
# scripts/package.sh does, for Debian's multiarch libdir; from another
# prefix the libraries go to /usr/lib, which works too).
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)

set(CPACK_DEBIAN_PACKAGE_NAME poblysh)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${POBLYSH_PACKAGE_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_SECTION database)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# CPACK_DEBIAN_PACKAGE_ARCHITECTURE is left unset: CPack asks dpkg.
# The extended description, unindented: CPack puts the summary
# (CPACK_PACKAGE_DESCRIPTION_SUMMARY) first, indents every line and turns an
# empty line into Debian's " ." paragraph break.
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION "poblysh applies and reverts database schema migrations on SQLite, PostgreSQL
and, through libdbi, MySQL/MariaDB, keeping a SeaORM-compatible history table
(seaql_migrations) with a checksum per migration.

The package holds the poblysh command (migrations from a folder of SQL files,
dbmate or golang-migrate layout), its man pages and shell completions, and
libpoblysh with its headers, pkg-config file and CMake package, for services
that compile their migrations in.")

# Depends: computed by dpkg-shlibdeps from the ELF files when dpkg-dev (and
# file, which CPack uses to find them) is installed; otherwise the Debian 12
# runtime libraries the build links, listed by hand.
find_program(PM_DPKG_SHLIBDEPS dpkg-shlibdeps)
find_program(PM_FILE_PROGRAM file)
if(PM_DPKG_SHLIBDEPS AND PM_FILE_PROGRAM)
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
else()
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS OFF)
  set(_pm_depends "libc6" "libssl3" "libjansson4" "libinih1")
  if(POBLYSH_WITH_SQLITE)
    list(APPEND _pm_depends "libsqlite3-0")
  endif()
  if(POBLYSH_WITH_DBI)
    list(APPEND _pm_depends "libdbi1")
  endif()
  list(JOIN _pm_depends ", " CPACK_DEBIAN_PACKAGE_DEPENDS)
  message(STATUS "pm_package: no dpkg-shlibdeps (dpkg-dev) or file: Depends: ${CPACK_DEBIAN_PACKAGE_DEPENDS}")
endif()

# libpq is loaded with dlopen when a postgres:// URL is first opened, so no
# ELF file names it: Recommends. libdbi reaches MySQL/MariaDB only with its
# driver modules; the -dev packages are what a static link against the
# installed libpoblysh.a needs (the shared library needs none of them).
set(_pm_recommends "")
if(POBLYSH_WITH_POSTGRES)
  list(APPEND _pm_recommends "libpq5")
endif()
list(JOIN _pm_recommends ", " CPACK_DEBIAN_PACKAGE_RECOMMENDS)
set(_pm_suggests "libssl-dev")
if(POBLYSH_WITH_SQLITE)
  list(APPEND _pm_suggests "libsqlite3-dev")
endif()
if(POBLYSH_WITH_DBI)
  list(APPEND _pm_suggests "libdbi-dev" "libdbd-mysql" "libdbd-pgsql" "libdbd-sqlite3")
endif()
list(JOIN _pm_suggests ", " CPACK_DEBIAN_PACKAGE_SUGGESTS)

include(CPack)
