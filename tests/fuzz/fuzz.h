// SPDX-License-Identifier: Apache-2.0
/* What every fuzz target shares: libFuzzer's entry point, which each fuzz_<name>.c defines
 * and which both libFuzzer and the plain replay driver (replay.c) call, and the helper that
 * hands a file-reading parser the input as a file. */
#ifndef S2D_FUZZ_H
#define S2D_FUZZ_H
#include <stddef.h>
#include <stdint.h>

/** Runs one input through the target's parser; returns 0 (libFuzzer's contract). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/** Writes data into a scratch file of this process named name (a bare file name: formats
 *  and tools may look at its extension), replacing what an earlier call wrote there.
 *  @return its path, a static string valid until the next call; the process exits when the
 *  file cannot be written (a fuzzing run cannot go on without it). */
const char *s2d_fuzz_file(const char *name, const uint8_t *data, size_t size);

#endif
