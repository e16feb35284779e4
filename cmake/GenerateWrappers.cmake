# Script mode: writes OUT, a C++ file defining ipfsacc::embedded_wrappers().
file(GLOB FILES ${DIR}/*.json)
list(SORT FILES)
set(body "")
foreach(f ${FILES})
  get_filename_component(name ${f} NAME)
  file(READ ${f} text)
  string(FIND "${text}" ")IPFSACCRULES\"" bad)
  if(NOT bad EQUAL -1)
    message(FATAL_ERROR "${f} contains the raw-string delimiter")
  endif()
  string(APPEND body "    {\"${name}\", R\"IPFSACCRULES(${text})IPFSACCRULES\"},\n")
endforeach()
file(WRITE ${OUT}.tmp "// Generated from wrappers/*.json. Do not edit.
#include \"core/embedded.hpp\"

namespace ipfsacc {

std::span<const EmbeddedFile> embedded_wrappers() {
  static const EmbeddedFile files[] = {
${body}    {\"\", \"\"}, // keeps the array non-empty
  };
  return std::span(files, std::size(files) - 1);
}

} // namespace ipfsacc
")
file(COPY_FILE ${OUT}.tmp ${OUT} ONLY_IF_DIFFERENT)
