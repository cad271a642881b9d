// SPDX-License-Identifier: Apache-2.0
/* Image Pixel; see modules.h. */
#include "dicom/modules/modules.h"

bool s2d_module_image_pixel(s2d_ds *ds, const s2d_image_pixel *p, s2d_error *err)
{
    if (p->samples_per_pixel > 1 && !s2d_put_number(ds, S2D_KW_PlanarConfiguration, 0, err)) {
        return false;
    }
    return s2d_put_number(ds, S2D_KW_SamplesPerPixel, p->samples_per_pixel, err) &&
           s2d_put_str(ds, S2D_KW_PhotometricInterpretation, p->photometric, err) &&
           s2d_put_number(ds, S2D_KW_Rows, p->rows, err) &&
           s2d_put_number(ds, S2D_KW_Columns, p->columns, err) &&
           s2d_put_number(ds, S2D_KW_BitsAllocated, p->bits_allocated, err) &&
           s2d_put_number(ds, S2D_KW_BitsStored, p->bits_stored, err) &&
           s2d_put_number(ds, S2D_KW_HighBit, p->bits_stored - 1, err) &&
           s2d_put_number(ds, S2D_KW_PixelRepresentation, p->is_signed ? 1 : 0, err);
}
