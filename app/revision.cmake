# Writes OUT, the source revision `ledgerflow --version` prints, on every build; the
# file changes (and the binary relinks) only when the revision does.
execute_process(COMMAND git rev-parse --short=12 HEAD
                WORKING_DIRECTORY ${SOURCE_DIR}
                OUTPUT_VARIABLE revision OUTPUT_STRIP_TRAILING_WHITESPACE
                ERROR_QUIET RESULT_VARIABLE revision_status)
if(NOT revision_status EQUAL 0 OR revision STREQUAL "")
  set(revision "unknown")
else()
  # Tracked files changed since that commit: the binary is not that revision.
  execute_process(COMMAND git status --porcelain --untracked-files=no
                  WORKING_DIRECTORY ${SOURCE_DIR}
                  OUTPUT_VARIABLE changes ERROR_QUIET)
  if(NOT changes STREQUAL "")
    string(APPEND revision "-modified")
  endif()
endif()
file(WRITE ${OUT}.new
     "#include \"app/revision.h\"\n\nconst char kSourceRevision[] = \"${revision}\";\n")
execute_process(COMMAND ${CMAKE_COMMAND} -E copy_if_different ${OUT}.new ${OUT})
file(REMOVE ${OUT}.new)
