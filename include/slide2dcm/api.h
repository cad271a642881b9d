// SPDX-License-Identifier: Apache-2.0
/* What every public header of the slide2dcm library shares: S2D_API marks a function the
 * shared library exports (it is built with hidden visibility, so nothing else is), and
 * S2D_BEGIN_C / S2D_END_C give the declarations C linkage in a C++ program. */
#ifndef SLIDE2DCM_API_H
#define SLIDE2DCM_API_H

#if defined(__GNUC__)
#define S2D_API __attribute__((visibility("default")))
#else
#define S2D_API
#endif

#ifdef __cplusplus
#define S2D_BEGIN_C extern "C" {
#define S2D_END_C }
#else
#define S2D_BEGIN_C
#define S2D_END_C
#endif

#endif
