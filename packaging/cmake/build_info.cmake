# What `ipfsacc --version` reports besides the version: the git revision and
# how the binary is linked. Both are compile definitions of apps/version.cpp
# alone, so a new revision recompiles one file.

# The revision is read at configure time ("unknown" outside git), and the
# configuration is redone when HEAD or the branch it points to moves, so the
# binary does not report a stale revision.
set(IPFSACC_GIT_REVISION unknown)
find_package(Git QUIET)
if(GIT_FOUND)
  execute_process(
    COMMAND ${GIT_EXECUTABLE} rev-parse --short HEAD
    WORKING_DIRECTORY ${CMAKE_SOURCE_DIR}
    OUTPUT_VARIABLE revision
    OUTPUT_STRIP_TRAILING_WHITESPACE
    RESULT_VARIABLE failed
    ERROR_QUIET)
  if(NOT failed AND revision)
    set(IPFSACC_GIT_REVISION ${revision})
    execute_process(
      COMMAND ${GIT_EXECUTABLE} rev-parse --git-path HEAD
      WORKING_DIRECTORY ${CMAKE_SOURCE_DIR}
      OUTPUT_VARIABLE head_file
      OUTPUT_STRIP_TRAILING_WHITESPACE
      ERROR_QUIET)
    execute_process(
      COMMAND ${GIT_EXECUTABLE} symbolic-ref -q HEAD
      WORKING_DIRECTORY ${CMAKE_SOURCE_DIR}
      OUTPUT_VARIABLE branch
      OUTPUT_STRIP_TRAILING_WHITESPACE
      ERROR_QUIET)
    set(watched ${head_file})
    if(branch)
      execute_process(
        COMMAND ${GIT_EXECUTABLE} rev-parse --git-path ${branch}
        WORKING_DIRECTORY ${CMAKE_SOURCE_DIR}
        OUTPUT_VARIABLE branch_file
        OUTPUT_STRIP_TRAILING_WHITESPACE
        ERROR_QUIET)
      list(APPEND watched ${branch_file})
    endif()
    foreach(file ${watched})
      get_filename_component(file ${file} ABSOLUTE BASE_DIR ${CMAKE_SOURCE_DIR})
      if(EXISTS ${file})
        set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${file})
      endif()
    endforeach()
  endif()
endif()

# How each library is linked: an archive found by find_library is static.
# (IPFSACC_LINKAGE describes the dynamic program when there are two.)
if(IPFSACC_STATIC)
  set(IPFSACC_LINKAGE "fully static")
else()
  set(static_parts)
  set(shared_parts libc)
  if(IPFSACC_SANITIZE)
    list(APPEND shared_parts libstdc++)
  else()
    list(APPEND static_parts libstdc++)
  endif()
  foreach(lib LMDB SODIUM PCRE2 HIREDIS ZSTD)
    set(name ${lib})
    if(lib STREQUAL SODIUM)
      set(name libsodium)
    elseif(lib STREQUAL HIREDIS)
      set(name hiredis)
    elseif(lib STREQUAL ZSTD)
      set(name libzstd)
    endif()
    if(${lib}_LIBRARY MATCHES "\\.a$")
      list(APPEND static_parts ${name})
    else()
      list(APPEND shared_parts ${name})
    endif()
  endforeach()
  list(JOIN static_parts ", " static_text)
  list(JOIN shared_parts ", " shared_text)
  set(IPFSACC_LINKAGE "static (${static_text}), dynamic (${shared_text})")
  if(NOT static_parts)
    set(IPFSACC_LINKAGE "dynamic (${shared_text})")
  endif()
endif()
if(IPFSACC_SANITIZE)
  string(APPEND IPFSACC_LINKAGE " (AddressSanitizer and UBSan build)")
endif()

# The linking of each program is a definition of its own (ipfsacc_program in
# CMakeLists.txt): the static front and its dynamic twin share version.cpp.
set_property(SOURCE ${CMAKE_SOURCE_DIR}/apps/version.cpp APPEND PROPERTY
  COMPILE_DEFINITIONS IPFSACC_GIT_REVISION="${IPFSACC_GIT_REVISION}")
