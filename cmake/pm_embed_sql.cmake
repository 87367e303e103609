# pm_embed_sql.cmake: pm_embed_sql(OUT SYMBOL FILES...) generates OUT, a C
# file holding the SQL migration files as the array SYMBOL[] of
# pm_embedded_sql (and SYMBOL_count), checked at build time by the
# pm_embed_sql tool (tools/embed_sql.c), so a malformed file fails the build
# naming its line. Installed with the CMake package; poblysh_add_migrations()
# uses it.
include_guard(GLOBAL)
function(pm_embed_sql out symbol)
  add_custom_command(
    OUTPUT ${out}
    COMMAND poblysh::pm_embed_sql ${out} ${symbol} ${ARGN}
    DEPENDS poblysh::pm_embed_sql ${ARGN}
    COMMENT "Embedding SQL migrations (${symbol})"
    VERBATIM)
endfunction()
