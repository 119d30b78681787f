# Runs clang-tidy (the repo's .clang-tidy, warnings are errors) over the production sources of
# FOLDERS (a comma-separated list of top-level folders; all of them when empty).
string(REPLACE "," ";" FOLDERS "${FOLDERS}")
if(NOT FOLDERS)
  set(FOLDERS events actors projections api node sim app net security)
endif()
set(globs)
foreach(folder IN LISTS FOLDERS)
  list(APPEND globs ${ROOT}/${folder}/*.cpp)
endforeach()
file(GLOB_RECURSE files ${globs})
# GCC-only flags in the compile commands (-Wno-restrict) are unknown to clang: ignore them.
execute_process(COMMAND ${CLANG_TIDY} -p ${BUILD} --quiet --extra-arg=-Wno-unknown-warning-option
                        ${files} RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "clang-tidy reported the problems above")
endif()
