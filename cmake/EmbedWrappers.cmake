# Compiles the rule files in wrappers/ into the binary: a generated .cpp holds
# each file's text as a raw string literal, so the hit path reads no file.
file(GLOB WRAPPER_FILES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/wrappers/*.json)
set(EMBEDDED_WRAPPERS_CPP ${CMAKE_BINARY_DIR}/embedded_wrappers.cpp)
add_custom_command(
  OUTPUT ${EMBEDDED_WRAPPERS_CPP}
  COMMAND ${CMAKE_COMMAND} -DOUT=${EMBEDDED_WRAPPERS_CPP}
          -DDIR=${CMAKE_SOURCE_DIR}/wrappers -P ${CMAKE_SOURCE_DIR}/cmake/GenerateWrappers.cmake
  DEPENDS ${WRAPPER_FILES} ${CMAKE_SOURCE_DIR}/cmake/GenerateWrappers.cmake
  COMMENT "Embedding wrappers/*.json"
  VERBATIM)
