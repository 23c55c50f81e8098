# sd_unit_test(<unit> <module> [LIBS ...]): tests/unit/<module>/test_<unit>.c
# becomes one cmocka binary, registered as CTest "<module>.<unit>".
function(sd_unit_test unit module)
    cmake_parse_arguments(T "" "TIMEOUT" "LIBS" ${ARGN})
    if(NOT T_TIMEOUT)
        set(T_TIMEOUT 120)
    endif()
    set(exe test_${module}_${unit})
    add_executable(${exe} ${CMAKE_CURRENT_SOURCE_DIR}/test_${unit}.c)
    target_link_libraries(${exe} PRIVATE sd_flags sd_${module} ${T_LIBS} PkgConfig::CMOCKA)
    target_compile_definitions(${exe} PRIVATE
        SD_TEST_VECTORS="${CMAKE_SOURCE_DIR}/tests/vectors")
    add_test(NAME ${module}.${unit} COMMAND ${exe})
    set_tests_properties(${module}.${unit} PROPERTIES
        LABELS "unit;${module}" TIMEOUT ${T_TIMEOUT} SKIP_RETURN_CODE 77)
endfunction()

# sd_fuzz_target(<name> LIBS ...): tests/fuzz/fuzz_<name>.c as a libFuzzer
# binary when SD_FUZZ is on.  In every build, the corpus is replayed through
# a small driver so the regression files run under the plain and asan suites.
function(sd_fuzz_target name)
    cmake_parse_arguments(F "" "" "LIBS" ${ARGN})
    set(src ${CMAKE_SOURCE_DIR}/tests/fuzz/fuzz_${name}.c)
    if(SD_FUZZ)
        add_executable(fuzz_${name} ${src})
        target_link_libraries(fuzz_${name} PRIVATE sd_flags ${F_LIBS})
        target_compile_options(fuzz_${name} PRIVATE -fsanitize=fuzzer)
        target_link_options(fuzz_${name} PRIVATE -fsanitize=fuzzer)
        if(NOT TARGET fuzz_all)
            add_custom_target(fuzz_all)
        endif()
        add_dependencies(fuzz_all fuzz_${name})
    else()
        add_executable(replay_${name} ${src} ${CMAKE_SOURCE_DIR}/tests/fuzz/replay.c)
        target_link_libraries(replay_${name} PRIVATE sd_flags ${F_LIBS})
        add_test(NAME fuzz.${name}
                 COMMAND replay_${name} ${CMAKE_SOURCE_DIR}/tests/fuzz/corpus/${name})
        set_tests_properties(fuzz.${name} PROPERTIES LABELS "fuzz" TIMEOUT 300)
    endif()
endfunction()
