# Driver of the package tests: cmake -DSETTINGS=<file> -DMODE=<mode> -DWORK=<dir>
#   [-DCONFIG=<config>] -P run_consumer.cmake
#
# SETTINGS (written by tests/package/CMakeLists.txt) carries the compiler, flags and paths of
# the build tree running the tests, so consumers are built exactly like herald's own tests
# (sanitizer presets included).
#
# Modes:
#   install        install the build tree into a fresh prefix and check what is in it
#   find_package   consumer with find_package(herald CONFIG REQUIRED) against that prefix,
#                  plus version and component checks
#   build_tree     consumer against the build tree's export (herald_DIR=<build dir>)
#   subdirectory   consumer with add_subdirectory(<herald source>)
#   pkg_config     consumer compiled with `pkg-config --cflags --libs herald` from the prefix
#   plain_include  consumer compiled with a plain -I<herald source>/include
#   vcpkg_port     the vcpkg port's configure/install options, its post-install fix-ups, then
#                  find_package against the result
#   conan_recipe   the Conan recipe's configure/install options and package() steps, then
#                  the recipe's test_package against what its package_info() declares

cmake_minimum_required(VERSION 3.23)

foreach(var SETTINGS MODE WORK)
    if(NOT DEFINED ${var})
        message(FATAL_ERROR "run_consumer.cmake: -D${var}=... is required")
    endif()
endforeach()
include("${SETTINGS}")
if(NOT DEFINED CONFIG OR CONFIG STREQUAL "")
    set(CONFIG "${HERALD_BUILD_TYPE}")
endif()
set(consumer_source "${HERALD_SOURCE_DIR}/tests/package/consumer")
set(prefix "${HERALD_PACKAGE_TEST_DIR}/install/prefix")

# ---- helpers ------------------------------------------------------------------------------

# run(<what> <command...>): runs a command, shows its output, stops on failure.
function(run what)
    message(STATUS "[${MODE}] ${what}")
    execute_process(COMMAND ${ARGN}
        RESULT_VARIABLE result
        OUTPUT_VARIABLE output
        ERROR_VARIABLE output)
    if(NOT result EQUAL 0)
        message("${output}")
        message(FATAL_ERROR "[${MODE}] ${what}: failed (${result})")
    endif()
    set(run_output "${output}" PARENT_SCOPE)
endfunction()

# expect_configure_failure(<what> <regex> <cmake args...>): the configure must fail and say
# something matching <regex>.
function(expect_configure_failure what regex)
    message(STATUS "[${MODE}] ${what}")
    execute_process(COMMAND ${ARGN}
        RESULT_VARIABLE result
        OUTPUT_VARIABLE output
        ERROR_VARIABLE output)
    if(result EQUAL 0)
        message("${output}")
        message(FATAL_ERROR "[${MODE}] ${what}: configure succeeded, it should have failed")
    endif()
    # CMake wraps its error messages: a space in <regex> matches any run of blanks/newlines.
    string(REPLACE " " "[ \n]+" regex "${regex}")
    if(NOT output MATCHES "${regex}")
        message("${output}")
        message(FATAL_ERROR "[${MODE}] ${what}: failed, but without saying '${regex}'")
    endif()
endfunction()

set(toolchain_args
    -G "${HERALD_GENERATOR}"
    "-DCMAKE_CXX_COMPILER=${HERALD_CXX_COMPILER}"
    "-DCMAKE_CXX_FLAGS=${HERALD_CXX_FLAGS}"
    "-DCMAKE_EXE_LINKER_FLAGS=${HERALD_EXE_LINKER_FLAGS}"
    "-DCMAKE_BUILD_TYPE=${CONFIG}"
    # Only the package under test may be found: no user or system package registries.
    -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF
    -DCMAKE_FIND_USE_SYSTEM_PACKAGE_REGISTRY=OFF)
if(HERALD_GENERATOR_PLATFORM)
    list(APPEND toolchain_args -A "${HERALD_GENERATOR_PLATFORM}")
endif()
if(HERALD_MAKE_PROGRAM)
    list(APPEND toolchain_args "-DCMAKE_MAKE_PROGRAM=${HERALD_MAKE_PROGRAM}")
endif()
if(HERALD_FMT_DIR)
    # The fmt herald was configured with, for the fmt component.
    list(APPEND toolchain_args "-Dfmt_DIR=${HERALD_FMT_DIR}")
endif()

# build_consumer(<name> <source dir> <cmake args...>): configure, build and run a consumer
# project in a fresh build directory; runs every program it built.
function(build_consumer name source)
    set(build "${WORK}/${name}")
    file(REMOVE_RECURSE "${build}")
    run("configure ${name}" "${CMAKE_COMMAND}" -S "${source}" -B "${build}" ${toolchain_args}
        ${ARGN})
    run("build ${name}" "${CMAKE_COMMAND}" --build "${build}" --config "${CONFIG}")
    set(found_program FALSE)
    foreach(program consumer consumer_fmt consumer_redis consumer_asio test_package)
        foreach(candidate "${build}/${program}" "${build}/${CONFIG}/${program}"
                "${build}/${program}.exe" "${build}/${CONFIG}/${program}.exe")
            if(EXISTS "${candidate}" AND NOT IS_DIRECTORY "${candidate}")
                run("run ${name}/${program}" "${candidate}")
                message(STATUS "${run_output}")
                set(found_program TRUE)
                break()
            endif()
        endforeach()
    endforeach()
    if(NOT found_program)
        message(FATAL_ERROR "[${MODE}] ${name}: no program was built")
    endif()
endfunction()

# compile_directly(<name> <flags...>): compiles the consumer with the compiler alone, as a
# Makefile or a shell user would, and runs it.
function(compile_directly name)
    set(build "${WORK}/${name}")
    file(REMOVE_RECURSE "${build}")
    file(MAKE_DIRECTORY "${build}")
    separate_arguments(cxx_flags NATIVE_COMMAND "${HERALD_CXX_FLAGS}")
    separate_arguments(linker_flags NATIVE_COMMAND "${HERALD_EXE_LINKER_FLAGS}")
    run("compile ${name}" "${HERALD_CXX_COMPILER}" ${cxx_flags} -std=c++20 ${ARGN}
        "${consumer_source}/main.cpp" -o "${build}/consumer" ${linker_flags} ${HERALD_DIRECT_LIBS})
    run("run ${name}" "${build}/consumer")
    message(STATUS "${run_output}")
endfunction()

# check_tree(<root> <required files...> ALLOWED <regexes...>): every file under <root> must
# match one of the regexes (relative paths) and every required file must exist.
function(check_tree root)
    cmake_parse_arguments(PARSE_ARGV 1 arg "" "" "ALLOWED")
    file(GLOB_RECURSE files LIST_DIRECTORIES FALSE RELATIVE "${root}" "${root}/*")
    set(unexpected "")
    foreach(file IN LISTS files)
        set(allowed FALSE)
        foreach(regex IN LISTS arg_ALLOWED)
            if(file MATCHES "^${regex}$")
                set(allowed TRUE)
                break()
            endif()
        endforeach()
        if(NOT allowed)
            list(APPEND unexpected "${file}")
        endif()
    endforeach()
    if(unexpected)
        list(JOIN unexpected "\n  " unexpected)
        message(FATAL_ERROR "[${MODE}] unexpected files in ${root}:\n  ${unexpected}")
    endif()
    foreach(required IN LISTS arg_UNPARSED_ARGUMENTS)
        if(NOT EXISTS "${root}/${required}")
            list(JOIN files "\n  " files)
            message(FATAL_ERROR "[${MODE}] ${root}/${required} is missing; the tree holds:\n  ${files}")
        endif()
    endforeach()
    # Every public and detail header of the source tree, at the same path.
    file(GLOB_RECURSE headers RELATIVE "${HERALD_SOURCE_DIR}/include"
        "${HERALD_SOURCE_DIR}/include/herald/*.hpp")
    foreach(header IN LISTS headers)
        if(NOT EXISTS "${root}/include/${header}")
            message(FATAL_ERROR "[${MODE}] header ${header} is missing from ${root}/include")
        endif()
    endforeach()
    list(LENGTH files count)
    message(STATUS "[${MODE}] ${root}: ${count} files, all expected")
endfunction()

# What the recipes pass to CMake, read from the recipes themselves so the check cannot drift
# from them: every HERALD_* option set in <file> (-DHERALD_X=V in the port,
# "HERALD_X": "V" in the Conan recipe).
function(recipe_options file regex out)
    file(STRINGS "${file}" lines REGEX "${regex}")
    set(options "")
    foreach(line IN LISTS lines)
        string(REGEX MATCHALL "${regex}" matches "${line}")
        foreach(match IN LISTS matches)
            string(REGEX REPLACE "${regex}" "-D\\1=\\2" option "${match}")
            list(APPEND options "${option}")
        endforeach()
    endforeach()
    if(NOT options)
        message(FATAL_ERROR "[${MODE}] no HERALD_* options found in ${file}")
    endif()
    message(STATUS "[${MODE}] options from ${file}: ${options}")
    set(${out} "${options}" PARENT_SCOPE)
endfunction()

# configure_and_install_from_source(<build> <destdir-prefix> <options...>)
function(configure_and_install_from_source build install_prefix)
    file(REMOVE_RECURSE "${build}" "${install_prefix}")
    run("configure herald with the recipe's options" "${CMAKE_COMMAND}"
        -S "${HERALD_SOURCE_DIR}" -B "${build}" ${toolchain_args}
        "-DCMAKE_INSTALL_PREFIX=${install_prefix}" ${ARGN})
    run("build herald" "${CMAKE_COMMAND}" --build "${build}" --config "${CONFIG}")
    run("install herald" "${CMAKE_COMMAND}" --install "${build}" --config "${CONFIG}")
endfunction()

set(install_allowed
    "include/herald/[a-z0-9_]+\\.hpp"
    "include/herald/detail/[a-z0-9_]+\\.hpp"
    "include/herald/detail/redis/[a-z0-9_]+\\.hpp"
    "share/cmake/herald/heraldConfig\\.cmake"
    "share/cmake/herald/heraldConfigVersion\\.cmake"
    "share/cmake/herald/heraldTargets\\.cmake"
    "share/cmake/herald/heraldTargets-[a-z]*\\.cmake"
    "share/cmake/herald/herald-[a-z0-9_]+-component\\.cmake"
    "share/cmake/herald/herald-[a-z0-9_]+-targets(-[a-z]*)?\\.cmake"
    "share/cmake/herald/Findasio\\.cmake"
    "share/pkgconfig/herald\\.pc"
    "share/doc/herald/LICENSE")
set(install_required
    include/herald/herald.hpp
    include/herald/version.hpp
    share/cmake/herald/heraldConfig.cmake
    share/cmake/herald/heraldConfigVersion.cmake
    share/cmake/herald/heraldTargets.cmake
    share/pkgconfig/herald.pc
    share/doc/herald/LICENSE)

# ---- the modes ----------------------------------------------------------------------------

if(MODE STREQUAL "install")
    file(REMOVE_RECURSE "${prefix}")
    run("install the build tree into a fresh prefix" "${CMAKE_COMMAND}"
        --install "${HERALD_BINARY_DIR}" --prefix "${prefix}" --config "${CONFIG}")
    check_tree("${prefix}" ${install_required} ALLOWED ${install_allowed})
    if(HERALD_HAS_FMT AND NOT EXISTS "${prefix}/share/cmake/herald/herald-fmt-component.cmake")
        message(FATAL_ERROR "[${MODE}] herald::fmt exists but its component was not installed")
    endif()
    if(HERALD_HAS_REDIS AND NOT EXISTS "${prefix}/share/cmake/herald/herald-redis-component.cmake")
        message(FATAL_ERROR "[${MODE}] herald::redis exists but its component was not installed")
endif()
    if(HERALD_HAS_ASIO AND NOT EXISTS "${prefix}/share/cmake/herald/herald-asio-component.cmake")
        message(FATAL_ERROR "[${MODE}] herald::asio exists but its component was not installed")
    endif()

elseif(MODE STREQUAL "find_package")
    set(components "")
    if(HERALD_HAS_FMT)
        list(APPEND components fmt)
    endif()
    if(HERALD_HAS_REDIS)
        list(APPEND components redis redis_json)
    endif()
    if(HERALD_HAS_ASIO)
        list(APPEND components asio)
    endif()
    # Commas: a list would be split into separate arguments on its way to the configure.
    string(REPLACE ";" "," components "${components}")
    build_consumer(find_package "${consumer_source}"
        "-DCMAKE_PREFIX_PATH=${prefix}"
        "-DHERALD_CONSUMER_VERSION=${HERALD_VERSION_MAJOR_MINOR}"
        "-DHERALD_CONSUMER_COMPONENTS=${components}"
        "-DHERALD_CONSUMER_EXPECT_DIR=${prefix}/share/cmake/herald")
    # Version and component rules of the package, each in a fresh configure.
    set(checks "${HERALD_SOURCE_DIR}/tests/package/find_checks")
    foreach(check
            "exact_version=${HERALD_VERSION}"
            "same_minor=${HERALD_VERSION_MAJOR_MINOR}"
            "optional_unknown_component=")
        string(REGEX REPLACE "=.*" "" name "${check}")
        string(REGEX REPLACE "^[^=]*=" "" value "${check}")
        file(REMOVE_RECURSE "${WORK}/check-${name}")
        run("package check ${name}" "${CMAKE_COMMAND}" -S "${checks}" -B "${WORK}/check-${name}"
            ${toolchain_args} "-DCMAKE_PREFIX_PATH=${prefix}" "-DCHECK=${name}"
            "-DVALUE=${value}")
    endforeach()
    math(EXPR next_minor "${HERALD_VERSION_MINOR} + 1")
    set(failing_checks
        "newer_minor=${HERALD_VERSION_MAJOR}.${next_minor}|compatible with requested version"
        "unknown_component=|herald component 'no_such_component': not part of this installation")
    if(HERALD_HAS_FMT)
        list(APPEND failing_checks "fmt_missing_required=|herald component 'fmt': needs fmt")
        file(REMOVE_RECURSE "${WORK}/check-fmt_missing_optional")
        run("package check fmt_missing_optional" "${CMAKE_COMMAND}" -S "${checks}"
            -B "${WORK}/check-fmt_missing_optional" ${toolchain_args}
            "-DCMAKE_PREFIX_PATH=${prefix}" -DCHECK=fmt_missing_optional
            -DCMAKE_DISABLE_FIND_PACKAGE_fmt=ON)
    endif()
    foreach(check IN LISTS failing_checks)
        string(REGEX REPLACE "=.*" "" name "${check}")
        string(REGEX REPLACE "^[^=]*=" "" rest "${check}")
        string(REGEX REPLACE "\\|.*" "" value "${rest}")
        string(REGEX REPLACE "^[^|]*\\|" "" regex "${rest}")
        file(REMOVE_RECURSE "${WORK}/check-${name}")
        expect_configure_failure("package check ${name} fails" "${regex}"
            "${CMAKE_COMMAND}" -S "${checks}" -B "${WORK}/check-${name}"
            ${toolchain_args} "-DCMAKE_PREFIX_PATH=${prefix}" "-DCHECK=${name}"
            "-DVALUE=${value}" -DCMAKE_DISABLE_FIND_PACKAGE_fmt=ON)
    endforeach()

elseif(MODE STREQUAL "build_tree")
    set(components "")
    if(HERALD_HAS_FMT)
        list(APPEND components fmt)
    endif()
    if(HERALD_HAS_REDIS)
        list(APPEND components redis redis_json)
    endif()
    if(HERALD_HAS_ASIO)
        list(APPEND components asio)
    endif()
    # Commas: a list would be split into separate arguments on its way to the configure.
    string(REPLACE ";" "," components "${components}")
    build_consumer(build_tree "${consumer_source}"
        "-Dherald_DIR=${HERALD_BINARY_DIR}"
        "-DHERALD_CONSUMER_VERSION=${HERALD_VERSION_MAJOR_MINOR}"
        "-DHERALD_CONSUMER_COMPONENTS=${components}"
        "-DHERALD_CONSUMER_EXPECT_DIR=${HERALD_BINARY_DIR}")

elseif(MODE STREQUAL "subdirectory")
    build_consumer(subdirectory "${consumer_source}"
        -DHERALD_CONSUMER_VIA=subdirectory
        "-DHERALD_SOURCE_DIR=${HERALD_SOURCE_DIR}")

elseif(MODE STREQUAL "pkg_config")
    if(NOT HERALD_PKG_CONFIG)
        message(FATAL_ERROR "[${MODE}] pkg-config was not found when the tests were configured")
    endif()
    # Only the prefix under test: no system .pc files.
    set(ENV{PKG_CONFIG_LIBDIR} "${prefix}/share/pkgconfig")
    set(ENV{PKG_CONFIG_PATH} "")
    run("pkg-config --modversion herald" "${HERALD_PKG_CONFIG}" --modversion herald)
    string(STRIP "${run_output}" version)
    if(NOT version STREQUAL HERALD_VERSION)
        message(FATAL_ERROR "[${MODE}] herald.pc says version '${version}', not ${HERALD_VERSION}")
    endif()
    run("pkg-config --cflags herald" "${HERALD_PKG_CONFIG}" --cflags herald)
    string(STRIP "${run_output}" cflags)
    file(REAL_PATH "${prefix}/include" prefix_include)
    set(include_seen FALSE)
    separate_arguments(cflags NATIVE_COMMAND "${cflags}")
    foreach(flag IN LISTS cflags)
        if(flag MATCHES "^-I(.+)$")
            file(REAL_PATH "${CMAKE_MATCH_1}" dir)
            if(dir STREQUAL prefix_include)
                set(include_seen TRUE)
            endif()
        endif()
    endforeach()
    if(NOT include_seen)
        message(FATAL_ERROR "[${MODE}] pkg-config --cflags herald (${cflags}) does not point at "
                            "${prefix_include}: is herald.pc relocatable?")
    endif()
    run("pkg-config --libs herald" "${HERALD_PKG_CONFIG}" --libs herald)
    string(STRIP "${run_output}" libs)
    separate_arguments(libs NATIVE_COMMAND "${libs}")
    set(HERALD_DIRECT_LIBS ${libs}) # what herald.pc says, nothing else
    compile_directly(pkg_config ${cflags})

elseif(MODE STREQUAL "plain_include")
    compile_directly(plain_include "-I${HERALD_SOURCE_DIR}/include")

elseif(MODE STREQUAL "vcpkg_port")
    # What packaging/vcpkg/ports/herald/portfile.cmake does, step by step, without vcpkg.
    set(port "${HERALD_SOURCE_DIR}/packaging/vcpkg/ports/herald")
    set(packages "${WORK}/vcpkg/packages") # CURRENT_PACKAGES_DIR
    recipe_options("${port}/portfile.cmake" "-D(HERALD_[A-Z_]+)=([A-Za-z0-9]+)" port_options)
    # vcpkg_check_features() turns the 'fmt' feature into HERALD_WITH_FMT; test the feature on
    # when fmt is here, off otherwise.
    if(HERALD_HAS_FMT)
        list(APPEND port_options -DHERALD_WITH_FMT=ON)
    else()
        list(APPEND port_options -DHERALD_WITH_FMT=OFF)
    endif()
    # Likewise the 'redis' feature and HERALD_WITH_REDIS.
    if(HERALD_HAS_REDIS)
        list(APPEND port_options -DHERALD_WITH_REDIS=ON)
    else()
        list(APPEND port_options -DHERALD_WITH_REDIS=OFF)
    endif()
    # VCPKG_BUILD_TYPE release: one configuration only.
    configure_and_install_from_source("${WORK}/vcpkg/build" "${packages}" ${port_options}
        -DCMAKE_BUILD_TYPE=Release)

    # vcpkg_cmake_config_fixup(PACKAGE_NAME herald CONFIG_PATH share/cmake/herald): the
    # package files move to share/herald, share/cmake goes, and the import prefix is now two
    # directories up instead of three.
    file(GLOB config_files "${packages}/share/cmake/herald/*")
    file(COPY ${config_files} DESTINATION "${packages}/share/herald")
    file(REMOVE_RECURSE "${packages}/share/cmake")
    file(GLOB moved "${packages}/share/herald/*.cmake")
    foreach(file IN LISTS moved)
        file(READ "${file}" text)
        string(REGEX REPLACE
            "(get_filename_component\\(_IMPORT_PREFIX \"\\\${CMAKE_CURRENT_LIST_FILE}\" PATH\\))(\nget_filename_component\\(_IMPORT_PREFIX \"\\\${_IMPORT_PREFIX}\" PATH\\))*"
            "\\1\nget_filename_component(_IMPORT_PREFIX \"\${_IMPORT_PREFIX}\" PATH)\nget_filename_component(_IMPORT_PREFIX \"\${_IMPORT_PREFIX}\" PATH)"
            text "${text}")
        string(REGEX REPLACE
            "get_filename_component\\(PACKAGE_PREFIX_DIR \"\\\${CMAKE_CURRENT_LIST_DIR}/\\.\\./(\\.\\./)*\" ABSOLUTE\\)"
            "get_filename_component(PACKAGE_PREFIX_DIR \"\${CMAKE_CURRENT_LIST_DIR}/../../\" ABSOLUTE)"
            text "${text}")
        # Absolute references to the packages dir would break once vcpkg moves the files.
        string(FIND "${text}" "${packages}" absolute_reference)
        if(NOT absolute_reference EQUAL -1)
            message(FATAL_ERROR "[${MODE}] ${file} refers to the absolute install path")
        endif()
        file(WRITE "${file}" "${text}")
    endforeach()
    # The rest of the portfile: no lib/ or debug/, the license as share/herald/copyright
    # (vcpkg_install_copyright), no second copy under share/doc, the usage file.
    file(REMOVE_RECURSE "${packages}/debug" "${packages}/lib" "${packages}/share/doc")
    file(COPY_FILE "${HERALD_SOURCE_DIR}/LICENSE" "${packages}/share/herald/copyright")
    file(COPY_FILE "${port}/usage" "${packages}/share/herald/usage")

    check_tree("${packages}"
        include/herald/herald.hpp
        share/herald/heraldConfig.cmake
        share/herald/heraldConfigVersion.cmake
        share/herald/heraldTargets.cmake
        share/herald/copyright
        share/herald/usage
        share/pkgconfig/herald.pc
        ALLOWED
        "include/herald/[a-z0-9_]+\\.hpp"
        "include/herald/detail/[a-z0-9_]+\\.hpp"
    "include/herald/detail/redis/[a-z0-9_]+\\.hpp"
        "share/herald/[A-Za-z0-9_-]+\\.cmake"
        "share/herald/copyright"
        "share/herald/usage"
        "share/pkgconfig/herald\\.pc")

    # A consumer as a vcpkg toolchain sets it up: the installed tree is on CMAKE_PREFIX_PATH.
    set(components "")
    if(HERALD_HAS_FMT)
        list(APPEND components fmt)
    endif()
    if(HERALD_HAS_REDIS)
        list(APPEND components redis redis_json)
    endif()
    if(HERALD_HAS_ASIO)
        list(APPEND components asio)
    endif()
    # Commas: a list would be split into separate arguments on its way to the configure.
    string(REPLACE ";" "," components "${components}")
    build_consumer(vcpkg_consumer "${consumer_source}"
        "-DCMAKE_PREFIX_PATH=${packages}"
        "-DHERALD_CONSUMER_VERSION=${HERALD_VERSION_MAJOR_MINOR}"
        "-DHERALD_CONSUMER_COMPONENTS=${components}"
        "-DHERALD_CONSUMER_EXPECT_DIR=${packages}/share/herald")

elseif(MODE STREQUAL "conan_recipe")
    # What packaging/conan/conanfile.py does, step by step, without Conan.
    set(recipe "${HERALD_SOURCE_DIR}/packaging/conan")
    set(package "${WORK}/conan/package") # package_folder
    recipe_options("${recipe}/conanfile.py" "\"(HERALD_[A-Z_]+)\": \"([A-Za-z0-9]+)\""
        recipe_options)
    # export_sources(): Conan builds from a copy of only these files, so the check does too.
    file(STRINGS "${recipe}/conanfile.py" export_line REGEX "for pattern in \\(.*\\):")
    string(REGEX MATCHALL "\"[^\"]+\"" export_patterns "${export_line}")
    if(NOT export_patterns)
        message(FATAL_ERROR "[${MODE}] no export_sources patterns found in conanfile.py")
    endif()
    set(exported "${WORK}/conan/source")
    file(REMOVE_RECURSE "${exported}")
    foreach(pattern IN LISTS export_patterns)
        string(REPLACE "\"" "" pattern "${pattern}")
        file(GLOB_RECURSE matches RELATIVE "${HERALD_SOURCE_DIR}" "${HERALD_SOURCE_DIR}/${pattern}")
        if(NOT matches)
            message(FATAL_ERROR "[${MODE}] export_sources pattern ${pattern} matches nothing")
        endif()
        foreach(match IN LISTS matches)
            get_filename_component(match_dir "${exported}/${match}" DIRECTORY)
            file(COPY "${HERALD_SOURCE_DIR}/${match}" DESTINATION "${match_dir}")
        endforeach()
    endforeach()
    message(STATUS "[${MODE}] exported sources: ${export_patterns}")
    # build(): cmake.configure(variables=...), package(): cmake.install()
    set(HERALD_SOURCE_DIR_SAVED "${HERALD_SOURCE_DIR}")
    set(HERALD_SOURCE_DIR "${exported}")
    configure_and_install_from_source("${WORK}/conan/build" "${package}" ${recipe_options})
    set(HERALD_SOURCE_DIR "${HERALD_SOURCE_DIR_SAVED}")
    # package(): the license under licenses/, no CMake or pkg-config files of our own (Conan's
    # generators write those from package_info()).
    file(COPY "${HERALD_SOURCE_DIR}/LICENSE" DESTINATION "${package}/licenses")
    file(REMOVE_RECURSE "${package}/share")
    check_tree("${package}"
        include/herald/herald.hpp
        licenses/LICENSE
        ALLOWED
        "include/herald/[a-z0-9_]+\\.hpp"
        "include/herald/detail/[a-z0-9_]+\\.hpp"
    "include/herald/detail/redis/[a-z0-9_]+\\.hpp"
        "licenses/LICENSE")

    # What CMakeDeps makes of package_info(): herald-config.cmake with herald::herald (include
    # dir, the thread library, C++20 left to the consumer). Written by hand here; the recipe's
    # test_package is then built against it exactly as `conan create` would build it.
    set(deps "${WORK}/conan/generators")
    file(REMOVE_RECURSE "${deps}")
    file(MAKE_DIRECTORY "${deps}")
    file(WRITE "${deps}/herald-config.cmake" "
set(herald_FOUND TRUE)
find_package(Threads REQUIRED)
if(NOT TARGET herald::herald)
    add_library(herald::herald INTERFACE IMPORTED)
    set_target_properties(herald::herald PROPERTIES
        INTERFACE_INCLUDE_DIRECTORIES \"${package}/include\"
        INTERFACE_LINK_LIBRARIES Threads::Threads)
endif()
")
    build_consumer(conan_test_package "${recipe}/test_package" "-Dherald_DIR=${deps}")

else()
    message(FATAL_ERROR "run_consumer.cmake: unknown MODE '${MODE}'")
endif()
