// SPDX-License-Identifier: Apache-2.0
/* The sending options shared by `slide2dcm send` and `slide2dcm convert --send-*`, and the
 * send command itself. Credentials come from the environment or a file, never argv. */
#ifndef S2D_CLI_SEND_H
#define S2D_CLI_SEND_H

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>

#include "slide2dcm/send.h"

enum {
    S2D_OPT_SEND_FIRST = 1000,
    S2D_OPT_STOW = S2D_OPT_SEND_FIRST, S2D_OPT_CSTORE, S2D_OPT_AET, S2D_OPT_AEC,
    S2D_OPT_BEARER_FILE, S2D_OPT_BASIC_FILE, S2D_OPT_CACERT, S2D_OPT_RETRIES,
    S2D_OPT_RETRY_WAIT, S2D_OPT_TIMEOUT, S2D_OPT_MAX_PDU, S2D_OPT_DEADLINE,
    S2D_OPT_SEND_LAST = S2D_OPT_DEADLINE,
};

// getopt_long entries of the options `send` shares with convert and batch, which name the
// destinations --send-stow and --send-cstore (cli/options.c) where `send` has --stow and
// --cstore.
#define S2D_SEND_SHARED_OPTIONS                                                                 \
    {"aet", required_argument, NULL, S2D_OPT_AET},                                              \
    {"aec", required_argument, NULL, S2D_OPT_AEC},                                              \
    {"bearer-token-file", required_argument, NULL, S2D_OPT_BEARER_FILE},                        \
    {"basic-auth-file", required_argument, NULL, S2D_OPT_BASIC_FILE},                           \
    {"cacert", required_argument, NULL, S2D_OPT_CACERT},                                        \
    {"retries", required_argument, NULL, S2D_OPT_RETRIES},                                      \
    {"retry-wait", required_argument, NULL, S2D_OPT_RETRY_WAIT},                                \
    {"timeout", required_argument, NULL, S2D_OPT_TIMEOUT},                                      \
    {"max-pdu", required_argument, NULL, S2D_OPT_MAX_PDU},                                      \
    {"deadline", required_argument, NULL, S2D_OPT_DEADLINE}

#define S2D_SEND_USAGE                                                                          \
    "  --aet AE                our AE title for C-STORE (default SLIDE2DCM)\n"                 \
    "  --aec AE                the peer's AE title for C-STORE (default ANY-SCP)\n"            \
    "  --bearer-token-file F   STOW-RS bearer token from file F (default: the\n"              \
    "                          SLIDE2DCM_BEARER_TOKEN environment variable)\n"                \
    "  --basic-auth-file F     STOW-RS USER:PASSWORD from file F (default: the\n"             \
    "                          SLIDE2DCM_BASIC_AUTH environment variable)\n"                  \
    "  --cacert F              extra CA certificates (TLS is always verified)\n"               \
    "  --retries N             attempts after the first on connection errors, 5xx and\n"      \
    "                          timeouts (default 3)\n"                                         \
    "  --retry-wait SECONDS    wait before the first retry, doubled each time (default 1)\n"   \
    "  --timeout SECONDS       give up on a silent connection after this (default 60);\n"      \
    "                          a transfer under 1 KiB/s for 30 s (or the timeout) is\n"        \
    "                          given up too\n"                                                  \
    "  --deadline SECONDS      stop sending after this; the files left are not sent\n"         \
    "                          (batch: for each slide's files; default: none)\n"               \
    "  --max-pdu BYTES         largest PDU we accept in C-STORE (default 65536)\n"

typedef struct s2d_cli_send {
    s2d_send_options opts;
    bool wanted;               // --stow or --cstore given
    char destination[512];     // for messages and the report
    char *bearer_file, *basic_file;
    char *secret;              // the credential read, freed by s2d_cli_send_free
    char host[256];
    const char *progress_file;   // a batch's sending child: BYTES_SENT BYTES_TOTAL kept there
} s2d_cli_send;

void s2d_cli_send_init(s2d_cli_send *cs);
void s2d_cli_send_free(s2d_cli_send *cs);

/** Handles one getopt result in the send range. @return 0 when handled, 2 after printing
 *  a usage error. */
int s2d_cli_send_option(s2d_cli_send *cs, int opt, const char *arg);

/** Reads the credentials (environment or file) once all options are parsed.
 *  @return 0, or the exit status after printing the error. */
int s2d_cli_send_prepare(s2d_cli_send *cs);

/** Sends paths, printing one line per file that was not stored (and per stored file unless
 *  quiet). When report_path is set, the per-instance JSON goes into *sent_json (jansson
 *  json_t *, caller decrefs). @return the exit status (0 = all stored). */
int s2d_cli_send_run(s2d_cli_send *cs, const char *const *paths, size_t n, bool quiet,
                     void **sent_json);

/** send --help's text. */
void s2d_cli_print_send_usage(FILE *out);

/** `slide2dcm send ...`: argv[0] is "send". */
int s2d_cmd_send(int argc, char **argv);

#endif
