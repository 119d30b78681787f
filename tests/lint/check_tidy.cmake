# Runs clang-tidy (the repo's .clang-tidy, warnings are errors) over every production source.
file(GLOB_RECURSE files
  ${ROOT}/events/src/*.cpp ${ROOT}/actors/*.cpp ${ROOT}/projections/*.cpp ${ROOT}/api/*.cpp
  ${ROOT}/node/*.cpp ${ROOT}/sim/*.cpp ${ROOT}/app/*.cpp ${ROOT}/net/*.cpp ${ROOT}/security/*.cpp)
# GCC-only flags in the compile commands (-Wno-restrict) are unknown to clang: ignore them.
execute_process(COMMAND ${CLANG_TIDY} -p ${BUILD} --quiet --extra-arg=-Wno-unknown-warning-option
                        ${files} RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "clang-tidy reported the problems above")
endif()
