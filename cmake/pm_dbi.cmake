# pm_dbi.cmake: defines the imported target PkgConfig::DBI from libdbi's
# dbi.pc. Not pkg_check_modules(IMPORTED_TARGET): Debian's dbi.pc names an
# include directory that does not exist, which CMake rejects, so only the
# directories that exist are kept.
find_package(PkgConfig REQUIRED)
pkg_check_modules(DBI REQUIRED dbi)
if(NOT TARGET PkgConfig::DBI)
  set(_pm_dbi_includes "")
  foreach(dir IN LISTS DBI_INCLUDE_DIRS)
    if(EXISTS "${dir}")
      list(APPEND _pm_dbi_includes "${dir}")
    endif()
  endforeach()
  add_library(PkgConfig::DBI INTERFACE IMPORTED GLOBAL)
  set_target_properties(PkgConfig::DBI PROPERTIES
    INTERFACE_INCLUDE_DIRECTORIES "${_pm_dbi_includes}"
    INTERFACE_LINK_LIBRARIES "${DBI_LINK_LIBRARIES}")
endif()
