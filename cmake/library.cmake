# libordergate: the installable library of ordergate's embedded gateway (include/ordergate/), as
# libordergate.so.0 (SONAME, VERSION ${PROJECT_VERSION}) and libordergate.a, with a CMake package
# (find_package(ordergate) -> ordergate::ordergate, ordergate::ordergate_static) and a pkg-config
# file. Included from the top CMakeLists.txt after idempotency/, transport/ and gateway/.
#
# One list of sources: each folder's own target (ordergate_idempotency, ordergate_transport,
# ordergate_gateway, the core without the daemon's CLI/TOML/HTTP) compiles its files once, as
# position-independent code; both libraries are linked from those same objects. The folder
# targets stay the internal ones that ordergated, the tools and the tests link.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(ORDERGATE_LIBRARY_PARTS ordergate_idempotency ordergate_transport ordergate_gateway)
# -fno-semantic-interposition: the internal callers (ordergated, the tests) link these objects
# statically, where -fPIC alone would keep GCC from inlining and calling directly across
# functions of default visibility; libordergate.so exports only the public API (ordergate.map),
# so no one could interpose them anyway.
set_target_properties(${ORDERGATE_LIBRARY_PARTS} PROPERTIES POSITION_INDEPENDENT_CODE ON)
foreach(part ${ORDERGATE_LIBRARY_PARTS})
  target_compile_options(${part} PRIVATE
                         $<$<CXX_COMPILER_ID:GNU,Clang>:-fno-semantic-interposition>)
endforeach()
set(ORDERGATE_LIBRARY_OBJECTS
  $<TARGET_OBJECTS:ordergate_idempotency>
  $<TARGET_OBJECTS:ordergate_transport>
  $<TARGET_OBJECTS:ordergate_gateway>)

# What the objects call: the public headers' Abseil types for every consumer, the rest privately.
set(ORDERGATE_LIBRARY_PUBLIC_DEPS absl::status absl::statusor)
set(ORDERGATE_LIBRARY_PRIVATE_DEPS absl::strings absl::time absl::span absl::flat_hash_map
    absl::synchronization cppzmq PkgConfig::SODIUM simdjson::simdjson spdlog::spdlog
    Threads::Threads)

function(ordergate_library_interface target)
  target_include_directories(${target} PUBLIC
    $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  # The public headers use std::optional: C++17 or later for whoever includes them.
  target_compile_features(${target} INTERFACE cxx_std_17)
  set_target_properties(${target} PROPERTIES LINKER_LANGUAGE CXX)
endfunction()

# Shared. Debian's librocksdb.a is built position-dependent (-fPIE: R_X86_64_PC32 relocations
# against global symbols, which a shared object cannot hold), so the shared library links
# librocksdb.so whatever ORDERGATE_ROCKSDB_STATIC says.
add_library(ordergate SHARED ${ORDERGATE_LIBRARY_OBJECTS})
add_library(ordergate::ordergate ALIAS ordergate)
ordergate_library_interface(ordergate)
set_target_properties(ordergate PROPERTIES VERSION ${PROJECT_VERSION} SOVERSION 0
                      LINK_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/ordergate.map)
target_link_libraries(ordergate
  PUBLIC ${ORDERGATE_LIBRARY_PUBLIC_DEPS}
  PRIVATE RocksDB::rocksdb-shared ${ORDERGATE_LIBRARY_PRIVATE_DEPS})
# Only ordergate::Gateway and OutcomeStatusName leave the library (ordergate.map): the internals
# and the header-only code it instantiates (spdlog, simdjson, Abseil templates) stay its own.
# --no-undefined: a dependency missing from the lists above fails here, not in a consumer's link
# (left out under the sanitizers, whose runtimes the executable brings).
target_link_options(ordergate PRIVATE
  -Wl,--version-script=${CMAKE_CURRENT_LIST_DIR}/ordergate.map
  $<$<NOT:$<OR:$<BOOL:${ORDERGATE_SANITIZE}>,$<BOOL:${ORDERGATE_TSAN}>>>:-Wl,--no-undefined>)

# Static: the same objects in libordergate.a; its consumer links the dependencies itself (the
# package's Config finds them for the `static` component; Libs.private in ordergate.pc).
add_library(ordergate_static STATIC ${ORDERGATE_LIBRARY_OBJECTS})
add_library(ordergate::ordergate_static ALIAS ordergate_static)
ordergate_library_interface(ordergate_static)
set_target_properties(ordergate_static PROPERTIES OUTPUT_NAME ordergate)
target_link_libraries(ordergate_static
  PUBLIC ${ORDERGATE_LIBRARY_PUBLIC_DEPS}
  PRIVATE ${ORDERGATE_ROCKSDB_TARGET} ${ORDERGATE_LIBRARY_PRIVATE_DEPS})

option(ORDERGATE_INSTALL "Generate ordergate's install rules" ${ORDERGATE_TOP_LEVEL})
if(NOT ORDERGATE_INSTALL)
  return()
endif()

set(ORDERGATE_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/ordergate)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/ordergate
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} FILES_MATCHING PATTERN "*.h")
install(TARGETS ordergate EXPORT ordergateTargets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(TARGETS ordergate_static EXPORT ordergateStaticTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(EXPORT ordergateTargets NAMESPACE ordergate:: DESTINATION ${ORDERGATE_CMAKE_DIR})
install(EXPORT ordergateStaticTargets NAMESPACE ordergate:: DESTINATION ${ORDERGATE_CMAKE_DIR})
# RocksDB's exported name for the static component's link line (RocksDB::rocksdb or -shared).
set(ORDERGATE_STATIC_ROCKSDB_TARGET ${ORDERGATE_ROCKSDB_TARGET})
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/ordergateConfig.cmake.in
  ${PROJECT_BINARY_DIR}/ordergateConfig.cmake INSTALL_DESTINATION ${ORDERGATE_CMAKE_DIR})
# 0.x: a minor release may change the API (SameMinorVersion); the SONAME says the ABI.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/ordergateConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/ordergateConfig.cmake
              ${PROJECT_BINARY_DIR}/ordergateConfigVersion.cmake
        DESTINATION ${ORDERGATE_CMAKE_DIR})

# pkg-config: prefix relative to the .pc file, so that an installed tree may be moved.
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
  set(ORDERGATE_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
else()
  file(RELATIVE_PATH ORDERGATE_PC_UP "/prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/prefix")
  set(ORDERGATE_PC_PREFIX "\${pcfiledir}/${ORDERGATE_PC_UP}")
endif()
configure_file(${CMAKE_CURRENT_LIST_DIR}/ordergate.pc.in ${PROJECT_BINARY_DIR}/ordergate.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/ordergate.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

# The Python client, one module on python3-zmq, and its example strategy: not a Debian module path
# (no python3-* package owns it); strategies put share/ordergate/python on PYTHONPATH.
install(FILES ${PROJECT_SOURCE_DIR}/clients/python/ordergate_client.py
        DESTINATION ${CMAKE_INSTALL_DATADIR}/ordergate/python)
install(PROGRAMS ${PROJECT_SOURCE_DIR}/examples/python_client_strategy.py
        DESTINATION ${CMAKE_INSTALL_DATADIR}/ordergate/python)
