# cmake -DBUILD_DIR=<dir> -DCONFIG=<config> -DCONTROL=<target> [-DERROR_TARGET=<target>
#       -DEXPECT=<regex>] -P check_compile_fail.cmake
#
# Builds CONTROL, which must compile (the same source without its defect). Then, if given,
# builds ERROR_TARGET, which must fail to compile with a message matching EXPECT: the
# diagnostic has to point at herald's concept or static_assert, not only at template noise.

execute_process(
    COMMAND "${CMAKE_COMMAND}" --build "${BUILD_DIR}" --target "${CONTROL}" --config "${CONFIG}"
    RESULT_VARIABLE result OUTPUT_VARIABLE output ERROR_VARIABLE output)
if(NOT result EQUAL 0)
    message("${output}")
    message(FATAL_ERROR "control ${CONTROL} does not compile: the harness, not herald, is broken")
endif()
message(STATUS "${CONTROL} compiles")

if(NOT DEFINED ERROR_TARGET)
    return()
endif()
execute_process(
    COMMAND "${CMAKE_COMMAND}" --build "${BUILD_DIR}" --target "${ERROR_TARGET}"
            --config "${CONFIG}"
    RESULT_VARIABLE result OUTPUT_VARIABLE output ERROR_VARIABLE output)
if(result EQUAL 0)
    message(FATAL_ERROR "${ERROR_TARGET} compiled, but herald must reject it")
endif()
if(NOT output MATCHES "${EXPECT}")
    message("${output}")
    message(FATAL_ERROR "${ERROR_TARGET} failed to compile, but the diagnostic does not "
                        "mention '${EXPECT}'")
endif()
string(REGEX MATCH "[^\n]*(${EXPECT})[^\n]*" line "${output}")
message(STATUS "${ERROR_TARGET} is rejected as it should be:\n  ${line}")
