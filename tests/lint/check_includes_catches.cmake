cmake_minimum_required(VERSION 3.25)
# The include check can fail: a copy of the dependency table and one node/ source that uses
# the event store (forbidden: the agent takes the schema only) must be refused, naming the
# file and the edge. SCRATCH is an empty folder of the build tree.
file(REMOVE_RECURSE ${SCRATCH})
file(MAKE_DIRECTORY ${SCRATCH}/docs ${SCRATCH}/node/src)
file(COPY ${ROOT}/docs/architecture.md DESTINATION ${SCRATCH}/docs)
file(WRITE ${SCRATCH}/node/CMakeLists.txt "")
file(WRITE ${SCRATCH}/node/src/bad.cpp
     "#include <qx/agent/v1/session.pb.h>\n#include <qx/events/event_store.hpp>\n")
execute_process(COMMAND ${CMAKE_COMMAND} -DROOT=${SCRATCH} -P ${CHECK}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(rc EQUAL 0)
  message(FATAL_ERROR "the include check passed a forbidden edge:\n${out}${err}")
endif()
if(NOT err MATCHES "node/src/bad.cpp: #include <qx/events/event_store.hpp> \\(node may not use events\\)")
  message(FATAL_ERROR "the refusal does not name the edge:\n${err}")
endif()
if(err MATCHES "session.pb.h")
  message(FATAL_ERROR "the schema include was refused too:\n${err}")
endif()
message(STATUS "a forbidden edge is refused and named")
