# Every dependency comes from a Debian package (see scripts/install-deps).
find_package(Threads REQUIRED)
find_package(RocksDB CONFIG REQUIRED)
find_package(Protobuf REQUIRED)
find_package(OpenSSL REQUIRED)
find_package(CLI11 CONFIG REQUIRED)
find_package(nlohmann_json CONFIG REQUIRED)

# qx_protobuf_library(NAME ROOT DIR PROTOS files... [IMPORTS dirs...] [DEPENDS targets...]): compiles .proto files under ROOT into a
# static library whose include path mirrors the proto package layout (qx/events/v1/x.pb.h).
function(qx_protobuf_library name)
  cmake_parse_arguments(ARG "" "ROOT" "PROTOS;IMPORTS;DEPENDS" ${ARGN})
  set(import_flags)
  foreach(dir ${ARG_IMPORTS})
    list(APPEND import_flags -I ${dir})
  endforeach()
  set(out_dir ${CMAKE_CURRENT_BINARY_DIR}/proto_gen)
  set(sources)
  foreach(proto ${ARG_PROTOS})
    get_filename_component(abs ${proto} ABSOLUTE)
    file(RELATIVE_PATH rel ${ARG_ROOT} ${abs})
    string(REGEX REPLACE "\\.proto$" "" stem ${rel})
    set(cc ${out_dir}/${stem}.pb.cc)
    set(h ${out_dir}/${stem}.pb.h)
    add_custom_command(
      OUTPUT ${cc} ${h}
      COMMAND ${CMAKE_COMMAND} -E make_directory ${out_dir}
      COMMAND protobuf::protoc --cpp_out=${out_dir} -I ${ARG_ROOT} ${import_flags} ${abs}
      DEPENDS ${abs} protobuf::protoc
      COMMENT "protoc ${rel}"
      VERBATIM)
    list(APPEND sources ${cc})
  endforeach()
  add_library(${name} STATIC ${sources})
  target_include_directories(${name} SYSTEM PUBLIC ${out_dir})
  target_link_libraries(${name} PUBLIC protobuf::libprotobuf ${ARG_DEPENDS} PRIVATE qx_generated_options)
  # protoc's files each define file-local tables of the same names: one translation unit each.
  set_target_properties(${name} PROPERTIES POSITION_INDEPENDENT_CODE ON UNITY_BUILD OFF)
endfunction()
