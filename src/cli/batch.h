// SPDX-License-Identifier: Apache-2.0
/* `slide2dcm batch`: many slides, parallel, resumable; see docs/batch.md. */
#ifndef S2D_CLI_BATCH_H
#define S2D_CLI_BATCH_H

/** The batch command; argv[0] is "batch". Returns the exit status. */
int s2d_cli_batch(int argc, char **argv);

#endif
