# Fails when any C++ file of the project differs from what clang-format would write.
file(GLOB_RECURSE files
  ${ROOT}/events/*.cpp ${ROOT}/events/*.hpp
  ${ROOT}/app/*.cpp ${ROOT}/app/*.hpp
  ${ROOT}/tests/*.cpp ${ROOT}/tests/*.hpp)
execute_process(COMMAND ${CLANG_FORMAT} --dry-run --Werror ${files} RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "clang-format: files above need formatting (run scripts/format)")
endif()
