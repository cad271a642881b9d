// SPDX-License-Identifier: Apache-2.0
// A C++ program against the installed library, built by tests/install/check.sh through
// CMake's find_package(slide2dcm): the headers' C linkage and the imported target.
// usage: version_cpp DIR (a folder of .dcm files, listed through the send API)
#include <cstdio>
#include <string>

#include <slide2dcm/send.h>
#include <slide2dcm/slide2dcm.h>

int main(int argc, char **argv)
{
    if (argc != 2) {
        std::fprintf(stderr, "usage: version_cpp DIR\n");
        return 2;
    }
    std::string version = s2d_version();
    char **paths = nullptr;
    size_t n = 0;
    s2d_error err = {};
    if (!s2d_send_list_dir(argv[1], &paths, &n, &err)) {
        std::fprintf(stderr, "list failed: %s\n", err.message);
        return 1;
    }
    std::printf("slide2dcm %s from C++: %zu .dcm files, status name %s\n", version.c_str(), n,
                s2d_send_status_name(S2D_SENT_STORED));
    s2d_send_free_paths(paths, n);
    return n > 0 && !version.empty() ? 0 : 1;
}
