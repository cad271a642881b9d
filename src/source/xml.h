// SPDX-License-Identifier: Apache-2.0
/* A small XML reader for the vendors' descriptions that nest elements of one name (Philips'
 * DataObject inside DataObject, Leica's image inside collection): the document as a tree of
 * elements, each with its attributes and its own character data, entities decoded. No
 * libxml: declarations, comments, processing instructions and DOCTYPE are skipped, CDATA is
 * text, namespaces are left as written (names compare by local name). */
#ifndef S2D_XML_H
#define S2D_XML_H

#include <stdbool.h>
#include <stddef.h>

#include "slide2dcm/error.h"

typedef struct s2d_xml_node s2d_xml_node;
struct s2d_xml_node {
    char *name;                   // as written, prefix included
    char **attrs;                 // name, value, name, value ...
    size_t nattrs;
    char *text;                   // the element's own character data, joined; NULL when none
    size_t text_len, text_cap;
    s2d_xml_node *parent, *first_child, *last_child, *next;
};

/** Parses the document xml (len bytes, need not end in NUL).
 *  @return its root element, which the caller frees with s2d_xml_free(); NULL with err set
 *  (S2D_ERR_INPUT naming what is malformed and where, or S2D_ERR_NOMEM). */
s2d_xml_node *s2d_xml_parse(const char *xml, size_t len, s2d_error *err);
/** NULL is a no-op. */
void s2d_xml_free(s2d_xml_node *root);

/** Whether the node's name, after any "prefix:", is local. */
bool s2d_xml_is(const s2d_xml_node *node, const char *local);
/** The node's own character data, "" when it has none (or node is NULL). Owned by the tree. */
const char *s2d_xml_text(const s2d_xml_node *node);
/** The value of attribute `name` (compared by local name), or NULL. Owned by the tree. */
const char *s2d_xml_attr(const s2d_xml_node *node, const char *name);
/** The first child of that local name, or NULL. Owned by the tree. */
const s2d_xml_node *s2d_xml_child(const s2d_xml_node *node, const char *local);
/** The next sibling after node of that local name, or NULL. Owned by the tree. */
const s2d_xml_node *s2d_xml_next(const s2d_xml_node *node, const char *local);

#endif
