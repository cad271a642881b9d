// SPDX-License-Identifier: Apache-2.0
/* ICC profiles (ICC.1, versions 2 and 4) as slide2dcm writes them into ICC Profile
 * (0028,2000): the header's creation date made fixed, and under --deidentify what a
 * profile says of who made it, where and when taken out, the colour transform kept. */
#ifndef S2D_DICOM_ICC_H
#define S2D_DICOM_ICC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Whether the len bytes at profile start like an ICC profile (a 128-byte header saying
 *  "acsp"); nothing past the header is read. */
bool s2d_icc_is_profile(const uint8_t *profile, size_t len);

/** Sets the header's creation date (bytes 24-35) to 2000-01-01 00:00:00, the date every
 *  profile slide2dcm makes or cleans carries. profile holds at least the 128-byte header. */
void s2d_icc_fix_date(uint8_t *profile);

/** Cleans profile (len bytes, a profile by s2d_icc_is_profile; changed in place) of its
 *  free text and dates, leaving every byte a colour transform reads as it was: the
 *  header's creation date fixed, its Profile ID zero (ICC.1: not calculated; the MD5 is
 *  stale now) and its reserved bytes zero; the text of every tag whose type holds text
 *  (textDescriptionType, multiLocalizedUnicodeType, textType, the UTF-8/16 types, the
 *  names, values and descriptions of dictType, profileSequenceDescType and
 *  profileSequenceIdentifierType) overwritten with zero bytes, its lengths and counts
 *  kept, so that every offset stays; dateTimeType tags (the calibration date) fixed like
 *  the header. Tag data that lies outside the profile is skipped; text tag data that does
 *  not parse is zeroed past its type signature. */
void s2d_icc_deidentify(uint8_t *profile, size_t len);

#endif
