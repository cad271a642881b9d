// SPDX-License-Identifier: Apache-2.0
/* See core/dynlib.h. */
#include "core/dynlib.h"

#include <dlfcn.h>

bool s2d_dynlib_load(const char *soname, const s2d_dynsym *syms, size_t nsyms, s2d_error *err)
{
    // Kept loaded for the life of the process, as a linked library would be.
    void *h = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        return s2d_error_set(err, S2D_ERR_IO, "cannot load %s: %s", soname, dlerror());
    }
    for (size_t i = 0; i < nsyms; i++) {
        if (!(*syms[i].slot = dlsym(h, syms[i].name))) {
            return s2d_error_set(err, S2D_ERR_IO, "cannot load %s: it has no %s", soname,
                                 syms[i].name);
        }
    }
    return true;
}
