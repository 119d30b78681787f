# Fails when any C++ file of the project differs from what clang-format would write.
file(GLOB_RECURSE files
  ${ROOT}/events/*.cpp ${ROOT}/events/*.hpp ${ROOT}/actors/*.cpp ${ROOT}/actors/*.hpp
  ${ROOT}/projections/*.cpp ${ROOT}/projections/*.hpp ${ROOT}/api/*.cpp ${ROOT}/api/*.hpp
  ${ROOT}/net/*.cpp ${ROOT}/net/*.hpp ${ROOT}/security/*.cpp ${ROOT}/security/*.hpp
  ${ROOT}/node/*.cpp ${ROOT}/node/*.hpp ${ROOT}/sim/*.cpp ${ROOT}/sim/*.hpp
  ${ROOT}/app/*.cpp ${ROOT}/app/*.hpp
  ${ROOT}/tests/*.cpp ${ROOT}/tests/*.hpp)
execute_process(COMMAND ${CLANG_FORMAT} --dry-run --Werror ${files} RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "clang-format: files above need formatting (run scripts/format)")
endif()
