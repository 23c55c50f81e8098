# sd_flags: the one place that states warnings, hardening and sanitizers.
# Every module and test links it, so no target can be built with less.
add_library(sd_flags INTERFACE)

target_compile_options(sd_flags INTERFACE
    -Wall -Wextra -Wshadow -Wvla -Wformat=2 -Wformat-security -Wundef
    -Wstrict-prototypes -Wmissing-prototypes -Wold-style-definition -Wpointer-arith
    -Wcast-qual -Wwrite-strings -Wimplicit-fallthrough -fno-common
    -fstack-protector-strong -fstack-clash-protection)
if(CMAKE_C_COMPILER_ID STREQUAL "GNU")
    target_compile_options(sd_flags INTERFACE -Wlogical-op -Wduplicated-cond -Wduplicated-branches)
endif()
if(SD_WERROR)
    target_compile_options(sd_flags INTERFACE -Werror)
endif()
target_compile_definitions(sd_flags INTERFACE _GNU_SOURCE)
if(CMAKE_BUILD_TYPE STREQUAL "Release")
    target_compile_options(sd_flags INTERFACE -U_FORTIFY_SOURCE -D_FORTIFY_SOURCE=3)
endif()
if(SD_FAULTS)
    target_compile_definitions(sd_flags INTERFACE SD_FAULTS=1)
endif()
target_link_options(sd_flags INTERFACE -Wl,-z,relro,-z,now,-z,noexecstack)
target_include_directories(sd_flags INTERFACE ${CMAKE_SOURCE_DIR}/src)

if(SD_SANITIZE)
    target_compile_definitions(sd_flags INTERFACE SD_SANITIZE=1)
    target_compile_options(sd_flags INTERFACE
        -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
    target_link_options(sd_flags INTERFACE -fsanitize=address,undefined)
endif()
if(SD_FUZZ)
    target_compile_options(sd_flags INTERFACE -fsanitize=fuzzer-no-link)
endif()
