// SPDX-License-Identifier: Apache-2.0
/* The exit statuses of the slide2dcm command line, in one place: the CLI returns them, and
 * the batch reads them back from its children (`convert` exec'd, `send` forked). The
 * library never exits; s2d_cli_exit_status() maps its error codes onto these. */
#ifndef S2D_EXIT_STATUS_H
#define S2D_EXIT_STATUS_H

enum {
    S2D_EXIT_OK = 0,
    S2D_EXIT_FAILED = 1,        // bad or unsupported input, or any other failure
    S2D_EXIT_USAGE = 2,         // options that cannot work together: the same for every slide
    S2D_EXIT_IO = 3,            // reading or writing failed, or out of memory
    S2D_EXIT_NOT_STORED = 4,    // sending: an archive did not store every file
    // A batch child that never ran its body: its log or /dev/null could not be opened, or
    // the exec failed (the shell's status for a command that cannot run).
    S2D_EXIT_CHILD_SETUP = 127,
    S2D_EXIT_INTERRUPTED = 130, // SIGINT or SIGTERM (the shell's 128 + SIGINT)
    // A batch child whose batch died before the child could tie itself to it (128 +
    // SIGKILL: what the kernel's parent-death signal would have made of it).
    S2D_EXIT_CHILD_ORPHANED = 137,
};

#endif
