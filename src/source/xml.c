// SPDX-License-Identifier: Apache-2.0
/* The small XML reader of xml.h: one pass over the text with an explicit stack (the parent
 * links), so a hostile document cannot exhaust the C stack; its depth is bounded too. */
#include "source/xml.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

// Far deeper than any vendor's description nests (Philips: 6 levels).
#define XML_MAX_DEPTH 256

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool ends_name(char c)
{
    return is_space(c) || c == '>' || c == '/' || c == '=' || c == '\0';
}

static const char *find(const char *p, const char *end, const char *what)
{
    size_t n = strlen(what);
    for (; p + n <= end; p++) {
        if (memcmp(p, what, n) == 0) {
            return p;
        }
    }
    return NULL;
}

static bool starts(const char *p, const char *end, const char *what)
{
    size_t n = strlen(what);
    return (size_t)(end - p) >= n && memcmp(p, what, n) == 0;
}

// Appends code point cp as UTF-8 at out; returns the bytes written (0: not a character).
static size_t put_utf8(char *out, unsigned long cp)
{
    if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
        return 0;
    }
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | cp >> 6);
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | cp >> 12);
        out[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | cp >> 18);
    out[1] = (char)(0x80 | (cp >> 12 & 0x3F));
    out[2] = (char)(0x80 | (cp >> 6 & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

// Decodes the entities of [p, end) into out (room for end - p bytes: a decoded entity is
// never longer than its reference); returns the length. An unknown reference stays as is.
static size_t decode_into(const char *p, const char *end, char *out)
{
    static const struct { const char *name; char c; } named[] = {
        {"lt;", '<'}, {"gt;", '>'}, {"amp;", '&'}, {"quot;", '"'}, {"apos;", '\''}};
    size_t k = 0;
    while (p < end) {
        if (*p != '&') {
            out[k++] = *p++;
            continue;
        }
        size_t used = 0;
        for (size_t i = 0; i < sizeof named / sizeof *named && !used; i++) {
            if (starts(p + 1, end, named[i].name)) {
                out[k++] = named[i].c;
                used = 1 + strlen(named[i].name);
            }
        }
        if (!used && p + 2 < end && p[1] == '#') {
            bool hex = p[2] == 'x' || p[2] == 'X';
            const char *q = p + (hex ? 3 : 2);
            unsigned long cp = 0;
            int digits = 0;
            for (; q < end && digits < 8; q++, digits++) {
                int d = *q >= '0' && *q <= '9'                ? *q - '0'
                        : hex && *q >= 'a' && *q <= 'f' ? *q - 'a' + 10
                        : hex && *q >= 'A' && *q <= 'F' ? *q - 'A' + 10
                                                        : -1;
                if (d < 0) {
                    break;
                }
                cp = cp * (hex ? 16 : 10) + (unsigned long)d;
            }
            // The reference is at least "&#N;" (4 bytes), its UTF-8 at most 4.
            size_t n = digits && q < end && *q == ';' ? put_utf8(out + k, cp) : 0;
            if (n) {
                k += n;
                used = (size_t)(q + 1 - p);
            }
        }
        if (!used) {
            out[k++] = *p;
            used = 1;
        }
        p += used;
    }
    return k;
}

static char *decoded_copy(const char *p, const char *end)
{
    char *out = malloc((size_t)(end - p) + 1);
    if (out) {
        out[decode_into(p, end, out)] = '\0';
    }
    return out;
}

static bool append_text(s2d_xml_node *node, const char *p, const char *end, bool decode)
{
    size_t n = (size_t)(end - p);
    if (node->text_len + n + 1 > node->text_cap) {
        size_t want = node->text_len + n + 1;
        size_t grown = node->text_cap * 2 > want ? node->text_cap * 2 : want;
        char *text = realloc(node->text, grown);
        if (!text) {
            return false;
        }
        node->text = text;
        node->text_cap = grown;
    }
    if (decode) {
        node->text_len += decode_into(p, end, node->text + node->text_len);
    } else {
        memcpy(node->text + node->text_len, p, n);
        node->text_len += n;
    }
    node->text[node->text_len] = '\0';
    return true;
}

static void free_node(s2d_xml_node *n)
{
    for (size_t i = 0; i < 2 * n->nattrs; i++) {
        free(n->attrs[i]);
    }
    free(n->attrs);
    free(n->name);
    free(n->text);
    free(n);
}

void s2d_xml_free(s2d_xml_node *root)
{
    // Depth first without recursion: free a node once its children are gone.
    s2d_xml_node *n = root;
    while (n) {
        if (n->first_child) {
            s2d_xml_node *child = n->first_child;
            n->first_child = child->next;
            n = child;
            continue;
        }
        s2d_xml_node *parent = n->parent;
        free_node(n);
        n = parent;
    }
}

// Reads the attributes of a start tag from p up to its '>' or "/>"; *p is left there.
static bool read_attributes(s2d_xml_node *node, const char **at, const char *end,
                            s2d_error *err)
{
    const char *p = *at;
    size_t cap = 0;
    for (;;) {
        while (p < end && is_space(*p)) {
            p++;
        }
        if (p >= end || *p == '>' || *p == '/') {
            *at = p;
            return true;
        }
        const char *name = p;
        while (p < end && !ends_name(*p)) {
            p++;
        }
        const char *name_end = p;
        while (p < end && is_space(*p)) {
            p++;
        }
        if (name_end == name || p >= end || *p != '=') {
            return s2d_error_set(err, S2D_ERR_INPUT, "attribute without a value in <%s>",
                                 node->name);
        }
        p++;
        while (p < end && is_space(*p)) {
            p++;
        }
        if (p >= end || (*p != '"' && *p != '\'')) {
            return s2d_error_set(err, S2D_ERR_INPUT, "attribute value not quoted in <%s>",
                                 node->name);
        }
        const char *close = memchr(p + 1, *p, (size_t)(end - p - 1));
        if (!close) {
            return s2d_error_set(err, S2D_ERR_INPUT, "attribute value not closed in <%s>",
                                 node->name);
        }
        if (2 * node->nattrs + 2 > cap) {
            cap = cap ? cap * 2 : 8;
            char **attrs = realloc(node->attrs, cap * sizeof *attrs);
            if (!attrs) {
                return s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
            }
            node->attrs = attrs;
        }
        char *key = malloc((size_t)(name_end - name) + 1);
        char *value = decoded_copy(p + 1, close);
        if (!key || !value) {
            free(key);
            free(value);
            return s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
        }
        memcpy(key, name, (size_t)(name_end - name));
        key[name_end - name] = '\0';
        node->attrs[2 * node->nattrs] = key;
        node->attrs[2 * node->nattrs + 1] = value;
        node->nattrs++;
        p = close + 1;
    }
}

// Skips a DOCTYPE declaration at p, internal subset included; NULL when it does not end.
static const char *skip_doctype(const char *p, const char *end)
{
    int brackets = 0;
    for (; p < end; p++) {
        if (*p == '[') {
            brackets++;
        } else if (*p == ']') {
            brackets--;
        } else if (*p == '>' && brackets <= 0) {
            return p + 1;
        }
    }
    return NULL;
}

s2d_xml_node *s2d_xml_parse(const char *xml, size_t len, s2d_error *err)
{
    const char *p = xml, *end = xml + len;
    s2d_xml_node *root = NULL, *cur = NULL;
    int depth = 0;
    bool ok = true;
    while (ok && p < end) {
        if (*p != '<') {
            const char *lt = memchr(p, '<', (size_t)(end - p));
            lt = lt ? lt : end;
            if (cur) {
                ok = append_text(cur, p, lt, true) ||
                     s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
            }
            for (; ok && !cur && p < lt; p++) {
                ok = is_space(*p) || *p == '\0' ||
                     s2d_error_set(err, S2D_ERR_INPUT, "text outside the root element");
            }
            p = lt;
            continue;
        }
        const char *next = NULL;
        if (starts(p, end, "<!--")) {
            next = find(p + 4, end, "-->");
            next = next ? next + 3 : NULL;
        } else if (starts(p, end, "<![CDATA[")) {
            // Character data as it is; outside the root it is an error ("does not end").
            const char *close = find(p + 9, end, "]]>");
            if (close && cur && !append_text(cur, p + 9, close, false)) {
                ok = s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
                continue;
            }
            next = close && cur ? close + 3 : NULL;
        } else if (starts(p, end, "<?")) {
            next = find(p + 2, end, "?>");
            next = next ? next + 2 : NULL;
        } else if (starts(p, end, "<!")) {
            next = skip_doctype(p + 2, end);
        } else if (starts(p, end, "</")) {
            const char *name = p + 2, *q = name;
            while (q < end && !ends_name(*q)) {
                q++;
            }
            size_t n = (size_t)(q - name);
            while (q < end && is_space(*q)) {
                q++;
            }
            if (!cur || q >= end || *q != '>' || strlen(cur->name) != n ||
                memcmp(cur->name, name, n) != 0) {
                ok = s2d_error_set(err, S2D_ERR_INPUT, "end tag at byte %zu does not close "
                                   "the open element", (size_t)(p - xml));
                continue;
            }
            next = q + 1;
            cur = cur->parent;
            depth--;
        } else {
            const char *name = p + 1, *q = name;
            while (q < end && !ends_name(*q)) {
                q++;
            }
            if (q == name) {
                ok = s2d_error_set(err, S2D_ERR_INPUT, "a tag without a name at byte %zu",
                                   (size_t)(p - xml));
                continue;
            }
            if (root && !cur) {
                ok = s2d_error_set(err, S2D_ERR_INPUT, "a second root element at byte %zu",
                                   (size_t)(p - xml));
                continue;
            }
            if (depth >= XML_MAX_DEPTH) {
                ok = s2d_error_set(err, S2D_ERR_INPUT, "elements nested deeper than %d",
                                   XML_MAX_DEPTH);
                continue;
            }
            s2d_xml_node *node = calloc(1, sizeof *node);
            char *copy = malloc((size_t)(q - name) + 1);
            if (!node || !copy) {
                free(node);
                free(copy);
                ok = s2d_error_set(err, S2D_ERR_NOMEM, "out of memory");
                continue;
            }
            memcpy(copy, name, (size_t)(q - name));
            copy[q - name] = '\0';
            node->name = copy;
            node->parent = cur;
            if (!cur) {
                root = node;
            } else if (cur->last_child) {
                cur->last_child->next = node;
                cur->last_child = node;
            } else {
                cur->first_child = cur->last_child = node;
            }
            ok = read_attributes(node, &q, end, err);
            if (!ok) {
                continue;
            }
            if (q < end && *q == '/' && q + 1 < end && q[1] == '>') {
                next = q + 2;
            } else if (q < end && *q == '>') {
                next = q + 1;
                cur = node;
                depth++;
            }
        }
        ok = next || s2d_error_set(err, S2D_ERR_INPUT, "markup at byte %zu does not end",
                                   (size_t)(p - xml));
        p = next;
    }
    if (ok && cur) {
        ok = s2d_error_set(err, S2D_ERR_INPUT, "the text ends inside <%s>", cur->name);
    }
    if (ok && !root) {
        ok = s2d_error_set(err, S2D_ERR_INPUT, "no element");
    }
    if (!ok) {
        s2d_xml_free(root);
        return NULL;
    }
    return root;
}

static const char *local_of(const char *name)
{
    const char *colon = strrchr(name, ':');
    return colon ? colon + 1 : name;
}

bool s2d_xml_is(const s2d_xml_node *node, const char *local)
{
    return node && strcmp(local_of(node->name), local) == 0;
}

const char *s2d_xml_text(const s2d_xml_node *node)
{
    return node && node->text ? node->text : "";
}

const char *s2d_xml_attr(const s2d_xml_node *node, const char *name)
{
    for (size_t i = 0; node && i < node->nattrs; i++) {
        if (strcmp(local_of(node->attrs[2 * i]), name) == 0) {
            return node->attrs[2 * i + 1];
        }
    }
    return NULL;
}

static const s2d_xml_node *first_named(const s2d_xml_node *n, const char *local)
{
    while (n && !s2d_xml_is(n, local)) {
        n = n->next;
    }
    return n;
}

const s2d_xml_node *s2d_xml_child(const s2d_xml_node *node, const char *local)
{
    return node ? first_named(node->first_child, local) : NULL;
}

const s2d_xml_node *s2d_xml_next(const s2d_xml_node *node, const char *local)
{
    return node ? first_named(node->next, local) : NULL;
}
