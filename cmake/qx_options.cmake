# The one INTERFACE target that carries the language standard, warnings and sanitizer flags.
set(CMAKE_EXPORT_COMPILE_COMMANDS ON)

option(QX_SANITIZE "Build with AddressSanitizer and UndefinedBehaviorSanitizer" OFF)
# Warnings are errors when the CI environment variable is set, or when asked explicitly.
if(DEFINED ENV{CI})
  set(_qx_werror_default ON)
else()
  set(_qx_werror_default OFF)
endif()
option(QX_WERROR "Treat compiler warnings as errors" ${_qx_werror_default})

find_program(QX_CCACHE ccache)
if(QX_CCACHE)
  set(CMAKE_CXX_COMPILER_LAUNCHER ${QX_CCACHE})
endif()

# lld links the big executables about five times faster than ld.bfd (the sanitizer build's
# qvdc: 34 s -> 7 s on this machine); scripts/install-deps installs it.
find_program(QX_LLD ld.lld)
if(QX_LLD)
  add_link_options(-fuse-ld=lld)
endif()

if(NOT CMAKE_BUILD_TYPE AND NOT CMAKE_CONFIGURATION_TYPES)
  set(CMAKE_BUILD_TYPE RelWithDebInfo CACHE STRING "Build type" FORCE)
endif()

add_library(qx_options INTERFACE)
target_compile_features(qx_options INTERFACE cxx_std_20)
set(CMAKE_CXX_EXTENSIONS OFF)
target_compile_options(qx_options INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast -Wcast-align
  -Woverloaded-virtual -Wimplicit-fallthrough
  # GCC 12 reports -Wrestrict false positives inside std::string at -O2/-O3 (GCC bug 105329).
  $<$<CXX_COMPILER_ID:GNU>:-Wno-restrict>)
if(QX_WERROR)
  target_compile_options(qx_options INTERFACE -Werror)
endif()
if(QX_SANITIZE)
  target_compile_options(qx_options INTERFACE
    -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
  target_link_options(qx_options INTERFACE -fsanitize=address,undefined)
endif()

# Generated code (protobuf) gets the standard and sanitizers but not our warning set.
add_library(qx_generated_options INTERFACE)
target_compile_features(qx_generated_options INTERFACE cxx_std_20)
if(QX_SANITIZE)
  target_compile_options(qx_generated_options INTERFACE
    -fsanitize=address,undefined -fno-omit-frame-pointer)
  target_link_options(qx_generated_options INTERFACE -fsanitize=address,undefined)
endif()
