// SPDX-License-Identifier: Apache-2.0
/* libjpeg (not TurboJPEG) operations; see codec/jpeg_cut.h. libjpeg reports errors by
 * calling error_exit, which must not return: it jumps back to the operation. */
#include "codec/jpeg_cut.h"

#include <math.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>

typedef struct jerr {
    struct jpeg_error_mgr pub;
    jmp_buf jump;
    char message[JMSG_LENGTH_MAX];
} jerr;

static void on_error(j_common_ptr cinfo)
{
    jerr *e = (jerr *)cinfo->err;
    cinfo->err->format_message(cinfo, e->message);
    longjmp(e->jump, 1);
}

// Corrupt data only warns in libjpeg; for a copied frame that is an error.
static void on_message(j_common_ptr cinfo, int level)
{
    if (level < 0) {
        on_error(cinfo);
    }
}

static void init_errors(jerr *e)
{
    jpeg_std_error(&e->pub);
    e->pub.error_exit = on_error;
    e->pub.emit_message = on_message;
    e->message[0] = '\0';
}

void s2d_rgb_to_ycbcr(const uint8_t rgb[3], uint8_t ycc[3])
{
    double r = rgb[0], g = rgb[1], b = rgb[2];
    double v[3] = {0.299 * r + 0.587 * g + 0.114 * b,
                   128 - 0.168735892 * r - 0.331264108 * g + 0.5 * b,
                   128 + 0.5 * r - 0.418687589 * g - 0.081312411 * b};
    for (int c = 0; c < 3; c++) {
        long x = lround(v[c]);
        ycc[c] = (uint8_t)(x < 0 ? 0 : x > 255 ? 255 : x);
    }
}

struct s2d_jpeg_coefs {
    struct jpeg_decompress_struct in;
    jerr err;
    jvirt_barray_ptr *coef;
    uint8_t *src;            // libjpeg's source buffer, kept while `in` lives
    int mcu_w, mcu_h;
};

void s2d_jpeg_coefs_free(s2d_jpeg_coefs *c)
{
    if (c) {
        jpeg_destroy_decompress(&c->in);
        free(c->src);
        free(c);
    }
}

s2d_jpeg_coefs *s2d_jpeg_coefs_read(const uint8_t *src, size_t len, s2d_error *err)
{
    s2d_jpeg_coefs *volatile c = calloc(1, sizeof *c);   // read after longjmp
    if (!c || !(c->src = malloc(len ? len : 1))) {
        free(c);
        s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
        return NULL;
    }
    memcpy(c->src, src, len);
    init_errors(&c->err);
    c->in.err = &c->err.pub;
    jpeg_create_decompress(&c->in);
    if (setjmp(c->err.jump)) {
        s2d_error_set(err, S2D_ERR_INPUT, "JPEG data: %s", c->err.message);
        s2d_jpeg_coefs_free(c);
        return NULL;
    }
    jpeg_mem_src(&c->in, c->src, (unsigned long)len);
    jpeg_read_header(&c->in, TRUE);
    c->coef = jpeg_read_coefficients(&c->in);
    if (c->in.num_components != 3) {
        s2d_error_set(err, S2D_ERR_INPUT, "JPEG has %d components, expected 3",
                      c->in.num_components);
        s2d_jpeg_coefs_free(c);
        return NULL;
    }
    c->mcu_w = c->in.max_h_samp_factor * DCTSIZE;
    c->mcu_h = c->in.max_v_samp_factor * DCTSIZE;
    return c;
}

bool s2d_jpeg_coefs_cut(s2d_jpeg_coefs *c, int x0, int y0, int out_w, int out_h,
                        const uint8_t fill[3], s2d_buf *out, s2d_error *err)
{
    struct jpeg_decompress_struct *in = &c->in;
    struct jpeg_compress_struct dst;
    unsigned char *mem = NULL;
    unsigned long mem_len = 0;
    volatile bool dst_made = false, ok = false;   // read after longjmp
    int mcu_w = c->mcu_w, mcu_h = c->mcu_h;
    if (x0 % mcu_w || y0 % mcu_h || out_w % mcu_w || out_h % mcu_h) {
        return s2d_error_set(err, S2D_ERR_INTERNAL, "cut at (%d,%d) %dx%d is not on %dx%d MCUs",
                             x0, y0, out_w, out_h, mcu_w, mcu_h);
    }
    dst.err = &c->err.pub;
    if (setjmp(c->err.jump)) {
        s2d_error_set(err, S2D_ERR_INPUT, "JPEG data: %s", c->err.message);
        goto out;
    }
    jpeg_create_compress(&dst);
    dst_made = true;
    jpeg_copy_critical_parameters(in, &dst);
    dst.image_width = (JDIMENSION)out_w;
    dst.image_height = (JDIMENSION)out_h;
    jvirt_barray_ptr dst_coef[3];
    for (int k = 0; k < 3; k++) {
        jpeg_component_info *ci = &dst.comp_info[k];
        JDIMENSION bw = (JDIMENSION)(out_w / mcu_w * ci->h_samp_factor);
        JDIMENSION bh = (JDIMENSION)(out_h / mcu_h * ci->v_samp_factor);
        dst_coef[k] = (*dst.mem->request_virt_barray)((j_common_ptr)&dst, JPOOL_IMAGE, FALSE, bw,
                                                      bh, (JDIMENSION)ci->v_samp_factor);
    }
    jpeg_mem_dest(&dst, &mem, &mem_len);
    jpeg_write_coefficients(&dst, dst_coef);   // realizes the arrays; writes the headers

    for (int k = 0; k < 3; k++) {
        jpeg_component_info *si = &in->comp_info[k];
        jpeg_component_info *di = &dst.comp_info[k];
        // A flat block: only the DC coefficient, quantised, level-shifted by 128.
        JQUANT_TBL *q = si->quant_table ? si->quant_table : in->quant_tbl_ptrs[si->quant_tbl_no];
        int q0 = q && q->quantval[0] ? q->quantval[0] : 1;
        JCOEF dc = (JCOEF)lround((fill[k] - 128.0) * 8.0 / q0);
        JDIMENSION bx0 = (JDIMENSION)(x0 / mcu_w * si->h_samp_factor);
        JDIMENSION by0 = (JDIMENSION)(y0 / mcu_h * si->v_samp_factor);
        JDIMENSION src_bh = si->height_in_blocks, src_bw = si->width_in_blocks;
        JDIMENSION bw = (JDIMENSION)(out_w / mcu_w * di->h_samp_factor);
        JDIMENSION bh = (JDIMENSION)(out_h / mcu_h * di->v_samp_factor);
        for (JDIMENSION by = 0; by < bh; by++) {
            JBLOCKARRAY drow = (*dst.mem->access_virt_barray)((j_common_ptr)&dst, dst_coef[k], by,
                                                              1, TRUE);
            JBLOCKROW srow = NULL;
            if (by0 + by < src_bh) {
                srow = (*in->mem->access_virt_barray)((j_common_ptr)in, c->coef[k], by0 + by, 1,
                                                      FALSE)[0];
            }
            for (JDIMENSION bx = 0; bx < bw; bx++) {
                if (srow && bx0 + bx < src_bw) {
                    memcpy(drow[0][bx], srow[bx0 + bx], sizeof(JBLOCK));
                } else {
                    memset(drow[0][bx], 0, sizeof(JBLOCK));
                    drow[0][bx][0] = dc;
                }
            }
        }
    }
    jpeg_finish_compress(&dst);
    out->len = 0;
    s2d_buf_append(out, mem, mem_len);
    ok = !out->failed || s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
out:
    if (dst_made) {
        jpeg_destroy_compress(&dst);
    }
    free(mem);
    return ok;
}

bool s2d_jpeg_encode_rgb(const uint8_t *rgb, int width, int height, int quality, s2d_buf *out,
                         s2d_error *err)
{
    struct jpeg_compress_struct c;
    jerr e;
    unsigned char *mem = NULL;
    unsigned long mem_len = 0;
    volatile bool made = false, ok = false;   // read after longjmp
    init_errors(&e);
    c.err = &e.pub;
    if (setjmp(e.jump)) {
        s2d_error_set(err, S2D_ERR_INTERNAL, "JPEG encoding failed: %s", e.message);
        goto out;
    }
    jpeg_create_compress(&c);
    made = true;
    jpeg_mem_dest(&c, &mem, &mem_len);
    c.image_width = (JDIMENSION)width;
    c.image_height = (JDIMENSION)height;
    c.input_components = 3;
    c.in_color_space = JCS_RGB;
    jpeg_set_defaults(&c);
    // No colour transform: libjpeg then writes the Adobe marker with transform 0.
    jpeg_set_colorspace(&c, JCS_RGB);
    jpeg_set_quality(&c, quality, TRUE);
    jpeg_start_compress(&c, TRUE);
    while (c.next_scanline < c.image_height) {
        JSAMPROW row = (JSAMPROW)(rgb + (size_t)c.next_scanline * (size_t)width * 3);
        jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c);
    out->len = 0;
    s2d_buf_append(out, mem, mem_len);
    ok = !out->failed || s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
out:
    if (made) {
        jpeg_destroy_compress(&c);
    }
    free(mem);
    return ok;
}
