# pm_library.cmake: libpoblysh, shared and static, from the objects of the
# core, every backend, every enabled driver and the command line (pm_cli),
# with the generated backend and driver registries.
#   pm_shared  libpoblysh.so.<PM_SOVERSION>, exported as poblysh::poblysh; it
#              exports only the public pm_* symbols (poblysh.map)
#   pm_lib     libpoblysh.a, exported as poblysh::poblysh_static; in-tree
#              tests and tools link it, since they reach internal pm__*
#              functions too
# Neither installs or exports the object libraries: their third-party
# dependencies (OpenSSL, SQLite, jansson, libdbi, ...) are linked directly.
set(pm_lib_parts pm_core pm_cli)
foreach(b IN LISTS PM_BACKENDS)
  list(APPEND pm_lib_parts pm_backend_${b})
endforeach()
foreach(d IN LISTS PM_DRIVERS)
  list(APPEND pm_lib_parts pm_driver_${d})
endforeach()

# What the parts link besides each other: their third-party dependencies.
set(pm_lib_objects "")
set(pm_lib_deps "")
foreach(part IN LISTS pm_lib_parts)
  list(APPEND pm_lib_objects $<TARGET_OBJECTS:${part}>)
  get_target_property(deps ${part} INTERFACE_LINK_LIBRARIES)
  foreach(dep IN LISTS deps)
    if(dep AND NOT dep MATCHES "^pm_|LINK_ONLY:pm_")
      list(APPEND pm_lib_deps ${dep})
    endif()
  endforeach()
endforeach()
list(REMOVE_DUPLICATES pm_lib_deps)

# The same dependencies as plain library names, for the installed static
# library's users and poblysh.pc's Libs.private: libcrypto, inih (the
# configuration file), jansson (the command line), pthread (a fleet's workers)
# and each driver's PM_PC_LIBS.
string(REGEX MATCHALL "-l[^ ]+" pm_static_flags "-lcrypto -linih -ljansson -lpthread ${PM_DRIVERS_PC_LIBS}")
set(PM_STATIC_LIBS "")
foreach(flag IN LISTS pm_static_flags)
  string(SUBSTRING "${flag}" 2 -1 name)
  list(APPEND PM_STATIC_LIBS ${name})
endforeach()
list(REMOVE_DUPLICATES PM_STATIC_LIBS)
set(pm_lib_link "")
foreach(dep IN LISTS pm_lib_deps)
  list(APPEND pm_lib_link "$<BUILD_INTERFACE:${dep}>")
endforeach()
foreach(name IN LISTS PM_STATIC_LIBS)
  list(APPEND pm_lib_link "$<INSTALL_INTERFACE:${name}>")
endforeach()

set(pm_lib_includes
    $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/core/include>
    $<BUILD_INTERFACE:${PROJECT_BINARY_DIR}/include>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)

# The SONAME changes whenever the ABI may: with each major version, and with
# each minor version while the major one is 0 (libpoblysh.so.0.1), as the
# CMake package's SameMinorVersion compatibility says.
if(PROJECT_VERSION_MAJOR EQUAL 0)
  set(PM_SOVERSION ${PROJECT_VERSION_MAJOR}.${PROJECT_VERSION_MINOR})
else()
  set(PM_SOVERSION ${PROJECT_VERSION_MAJOR})
endif()

add_library(pm_shared SHARED ${pm_lib_objects} ${PM_BACKEND_REGISTRY} ${PM_DRIVER_REGISTRY})
set_target_properties(pm_shared PROPERTIES
  OUTPUT_NAME poblysh EXPORT_NAME poblysh
  VERSION ${PROJECT_VERSION} SOVERSION ${PM_SOVERSION}
  LINK_DEPENDS ${PROJECT_SOURCE_DIR}/cmake/poblysh.map)
target_link_options(pm_shared PRIVATE "LINKER:--version-script=${PROJECT_SOURCE_DIR}/cmake/poblysh.map")
if(NOT POBLYSH_SANITIZE) # clang's sanitizer runtimes are the executable's, not the library's
  target_link_options(pm_shared PRIVATE "LINKER:--no-undefined")
endif()
target_include_directories(pm_shared PUBLIC ${pm_lib_includes})
target_link_libraries(pm_shared PRIVATE ${pm_lib_deps} $<BUILD_INTERFACE:pm_options>)

add_library(pm_lib STATIC ${pm_lib_objects} ${PM_BACKEND_REGISTRY} ${PM_DRIVER_REGISTRY})
set_target_properties(pm_lib PROPERTIES OUTPUT_NAME poblysh EXPORT_NAME poblysh_static)
target_include_directories(pm_lib PUBLIC ${pm_lib_includes})
target_link_libraries(pm_lib PUBLIC ${pm_lib_link} PRIVATE $<BUILD_INTERFACE:pm_options>)

add_library(poblysh::poblysh ALIAS pm_shared)
add_library(poblysh::poblysh_static ALIAS pm_lib)
