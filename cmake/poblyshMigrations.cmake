# poblyshMigrations.cmake: poblysh_add_migrations(), how a program gets its
# own compiled-in migration set. Installed with the CMake package (so
# find_package(poblysh) provides it); this repository's migrations/ uses it
# too.
#
#   poblysh_add_migrations(<target> REGISTRY <registry.def>
#                          [SQL_DIR <dir>] [LIBRARY <poblysh library target>])
#
# compiles into <target> the C migrations <registry.def> lists (one
# PM_REGISTER(mYYYY_MM_DD_HHMMSS_name) line each, the file <name>.c beside
# the registry) and the SQL migrations (m*.sql) of SQL_DIR, checked and
# embedded at build time; computes each one's checksum at build time; and
# defines pm_builtin_migrations() (<poblysh/migrations.h>) for <target>
# alone, so two targets of one project may have different sets. <target>
# is linked with LIBRARY, by default poblysh::poblysh (the shared library;
# pass poblysh::poblysh_static to link statically); a library target passes
# it on to what links it.
include_guard(GLOBAL)
include(${CMAKE_CURRENT_LIST_DIR}/pm_embed_sql.cmake)
set(_POBLYSH_CMAKE_DIR ${CMAKE_CURRENT_LIST_DIR})

# The C files a registry lists, checked at configure time so a mistake names
# the registry's line: each name a valid migration name, listed once, its
# file there.
function(_poblysh_registry_sources registry out_sources out_names)
  file(STRINGS ${registry} lines)
  get_filename_component(dir ${registry} DIRECTORY)
  set(sources "")
  set(names "")
  set(number 0)
  foreach(line IN LISTS lines)
    math(EXPR number "${number} + 1")
    if(NOT line MATCHES "^[ \t]*PM_REGISTER\\(")
      continue()
    endif()
    if(NOT line MATCHES "^[ \t]*PM_REGISTER\\(([a-z0-9_]+)\\)[ \t]*(/\\*.*\\*/)?[ \t]*$")
      message(FATAL_ERROR "${registry}:${number}: expected PM_REGISTER(mYYYY_MM_DD_HHMMSS_name), "
                          "found: ${line}")
    endif()
    set(name ${CMAKE_MATCH_1})
    # SeaORM's two styles: mYYYY_MM_DD_HHMMSS_x and its generator's mYYYYMMDD_HHMMSS_x.
    set(d "[0-9]")
    if(NOT name MATCHES "^m(${d}${d}${d}${d}_${d}${d}_${d}${d}|${d}${d}${d}${d}${d}${d}${d}${d})_${d}${d}${d}${d}${d}${d}_[a-z0-9_]+$")
      message(FATAL_ERROR "${registry}:${number}: \"${name}\" is not a migration name "
                          "(mYYYY_MM_DD_HHMMSS_description or mYYYYMMDD_HHMMSS_description, "
                          "description of a-z, 0-9 and _)")
    endif()
    if(name IN_LIST names)
      message(FATAL_ERROR "${registry}:${number}: ${name} is registered twice")
    endif()
    set(file ${dir}/${name}.c)
    if(NOT EXISTS ${file})
      message(FATAL_ERROR "${registry}:${number}: registers ${name}, but ${file} "
                          "does not exist")
    endif()
    list(APPEND names ${name})
    list(APPEND sources ${file})
  endforeach()
  set(${out_sources} ${sources} PARENT_SCOPE)
  set(${out_names} ${names} PARENT_SCOPE)
endfunction()

function(poblysh_add_migrations target)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "REGISTRY;SQL_DIR;LIBRARY" "")
  if(arg_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "poblysh_add_migrations: unexpected arguments: ${arg_UNPARSED_ARGUMENTS}")
  endif()
  if(NOT TARGET ${target})
    message(FATAL_ERROR "poblysh_add_migrations: ${target} is not a target; "
                        "add_executable() or add_library() it first")
  endif()
  if(NOT arg_REGISTRY)
    message(FATAL_ERROR "poblysh_add_migrations(${target}): REGISTRY <registry.def> is required")
  endif()
  get_filename_component(registry ${arg_REGISTRY} ABSOLUTE BASE_DIR ${CMAKE_CURRENT_SOURCE_DIR})
  if(NOT EXISTS ${registry})
    message(FATAL_ERROR "poblysh_add_migrations(${target}): REGISTRY ${registry} does not exist")
  endif()
  get_target_property(previous ${target} POBLYSH_MIGRATIONS_REGISTRY)
  if(previous)
    message(FATAL_ERROR "poblysh_add_migrations(${target}): ${target} already has a set "
                        "(${previous}); a target has one")
  endif()
  set_property(TARGET ${target} PROPERTY POBLYSH_MIGRATIONS_REGISTRY ${registry})
  set(library poblysh::poblysh)
  if(arg_LIBRARY)
    set(library ${arg_LIBRARY})
  endif()
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${registry})
  _poblysh_registry_sources(${registry} sources names)

  set(sql "")
  if(arg_SQL_DIR)
    get_filename_component(sql_dir ${arg_SQL_DIR} ABSOLUTE BASE_DIR ${CMAKE_CURRENT_SOURCE_DIR})
    if(NOT IS_DIRECTORY ${sql_dir})
      message(FATAL_ERROR "poblysh_add_migrations(${target}): SQL_DIR ${sql_dir} is not a folder")
    endif()
    file(GLOB sql CONFIGURE_DEPENDS ${sql_dir}/m*.sql)
    list(SORT sql)
    foreach(file IN LISTS sql)
      get_filename_component(name ${file} NAME_WE)
      if(name IN_LIST names)
        message(FATAL_ERROR "poblysh_add_migrations(${target}): ${name} is both a C migration "
                            "(${registry}) and an SQL one (${file}); rename one")
      endif()
    endforeach()
  endif()

  set(out ${CMAKE_CURRENT_BINARY_DIR}/${target}_migrations)
  file(CONFIGURE OUTPUT ${out}/registry.c CONTENT
"/* Generated by poblysh_add_migrations() for ${target}. Do not edit. */
#define PM_REGISTRY_FILE \"${registry}\"
#include \"${_POBLYSH_CMAKE_DIR}/pm_registry.c\"
")
  add_custom_command(
    OUTPUT ${out}/checksums.c
    COMMAND poblysh::pm_checksums ${out}/checksums.c ${sources}
    DEPENDS poblysh::pm_checksums ${sources}
    COMMENT "Computing migration checksums (${target})"
    VERBATIM)
  pm_embed_sql(${out}/embedded_sql.c pm_embedded_migrations ${sql})

  target_sources(${target} PRIVATE ${out}/registry.c ${sources} ${out}/checksums.c
                                   ${out}/embedded_sql.c)
  # Appended to the properties rather than through target_link_libraries(),
  # so a target that already used either signature of that command works.
  # A library holding a set passes the library on to what links it.
  find_package(Threads REQUIRED)
  set_property(TARGET ${target} APPEND PROPERTY LINK_LIBRARIES ${library} Threads::Threads)
  get_target_property(type ${target} TYPE)
  if(type MATCHES "LIBRARY$")
    set_property(TARGET ${target} APPEND PROPERTY INTERFACE_LINK_LIBRARIES ${library}
                                                                           Threads::Threads)
  endif()
endfunction()
