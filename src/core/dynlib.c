/* See core/dynlib.h. */
#include "core/dynlib.h"

#include <dlfcn.h>
#include <stdio.h>

bool s2d_dynlib_load(const char *soname, const s2d_dynsym *syms, size_t nsyms, char *why,
                     size_t why_len)
{
    // Kept loaded for the life of the process, as a linked library would be.
    void *h = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        snprintf(why, why_len, "cannot load %s: %s", soname, dlerror());
        return false;
    }
    for (size_t i = 0; i < nsyms; i++) {
        if (!(*syms[i].slot = dlsym(h, syms[i].name))) {
            snprintf(why, why_len, "cannot load %s: it has no %s", soname, syms[i].name);
            return false;
        }
    }
    return true;
}
