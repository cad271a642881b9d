// SPDX-License-Identifier: Apache-2.0
/* Libraries loaded by the first call that needs them rather than at start-up. OpenSlide and
 * libcurl bring ~35 and ~25 libraries of their own; loading them cost every run ~18 and
 * ~15 ms, paid for nothing by the slides the TIFF backend reads and by conversions that do
 * not send. */
#ifndef S2D_DYNLIB_H
#define S2D_DYNLIB_H

#include <stdbool.h>
#include <stddef.h>

#include "slide2dcm/error.h"

/** A function to resolve: its name and the function pointer to set. POSIX guarantees that
 *  dlsym's object pointer converts to a function pointer. */
typedef struct s2d_dynsym {
    const char *name;
    void **slot;
} s2d_dynsym;

#define S2D_DYNSYM(name, fnptr) {(name), (void **)&(fnptr)}

/** dlopens `soname` and resolves every symbol. On failure err (S2D_ERR_IO) names the
 *  library and the reason; the slots may then be partly set. */
bool s2d_dynlib_load(const char *soname, const s2d_dynsym *syms, size_t nsyms, s2d_error *err);

#endif
