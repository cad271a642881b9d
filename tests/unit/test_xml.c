// SPDX-License-Identifier: Apache-2.0
/* The small XML reader (src/source/xml.c): the tree of a vendor-like document, entities,
 * CDATA, comments and declarations, and the documents it refuses. */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "source/xml.h"

static s2d_xml_node *parse(const char *text, s2d_error *err)
{
    memset(err, 0, sizeof *err);
    return s2d_xml_parse(text, strlen(text), err);
}

static void test_tree(void)
{
    const char *doc =
        "<?xml version=\"1.0\" encoding=\"UTF-8\" ?>\n<!-- a <comment> -->\n"
        "<!DOCTYPE x [ <!ENTITY e \"v\"> ]>\n"
        "<DataObject ObjectType='DPUfsImport'>\n"
        " <Attribute Name=\"A\" Group=\"0x0008\">&quot;1&quot; &amp; &lt;2&gt; &#65;&#x42;"
        "</Attribute>\n"
        " <Attribute Name = \"B\"><Array><DataObject ObjectType=\"inner\">"
        "<Attribute Name=\"C\">deep</Attribute></DataObject><DataObject/></Array></Attribute>\n"
        " <ns:Attribute ns:Name=\"D\"><![CDATA[<raw & text>]]> and more</ns:Attribute>\n"
        "</DataObject>\n";
    s2d_error err;
    s2d_xml_node *root = parse(doc, &err);
    CHECK(root && err.code == S2D_OK);
    if (!root) {
        return;
    }
    CHECK(s2d_xml_is(root, "DataObject"));
    CHECK(strcmp(s2d_xml_attr(root, "ObjectType"), "DPUfsImport") == 0);
    const s2d_xml_node *a = s2d_xml_child(root, "Attribute");
    CHECK(a && strcmp(s2d_xml_attr(a, "Name"), "A") == 0);
    CHECK(a && strcmp(s2d_xml_text(a), "\"1\" & <2> AB") == 0);
    const s2d_xml_node *b = s2d_xml_next(a, "Attribute");
    CHECK(b && strcmp(s2d_xml_attr(b, "Name"), "B") == 0);
    // Nested elements of one name: the inner DataObject is the Array's, not the root's end.
    const s2d_xml_node *inner = s2d_xml_child(s2d_xml_child(b, "Array"), "DataObject");
    CHECK(inner && strcmp(s2d_xml_attr(inner, "ObjectType"), "inner") == 0);
    CHECK(inner && strcmp(s2d_xml_text(s2d_xml_child(inner, "Attribute")), "deep") == 0);
    const s2d_xml_node *empty = s2d_xml_next(inner, "DataObject");
    CHECK(empty && !empty->first_child && s2d_xml_text(empty)[0] == '\0');
    const s2d_xml_node *d = s2d_xml_next(b, "Attribute");   // by local name
    CHECK(d && strcmp(s2d_xml_attr(d, "Name"), "D") == 0);
    CHECK(d && strcmp(s2d_xml_text(d), "<raw & text> and more") == 0);
    CHECK(!s2d_xml_next(d, "Attribute") && !s2d_xml_child(root, "Missing"));
    s2d_xml_free(root);
}

static void test_refused(void)
{
    static const struct { const char *doc, *message; } bad[] = {
        {"", "no element"},
        {"  <!-- only a comment -->", "no element"},
        {"<a><b></a></b>", "end tag at byte 6 does not close"},
        {"<a></b>", "end tag at byte 3 does not close"},
        {"<a>text", "the text ends inside <a>"},
        {"<a/><b/>", "a second root element"},
        {"text<a/>", "text outside the root element"},
        {"<a x=1/>", "attribute value not quoted in <a>"},
        {"<a x/>", "attribute without a value in <a>"},
        {"<a x=\"1/>", "attribute value not closed in <a>"},
        {"<a><!-- open", "markup at byte 3 does not end"},
        {"< a/>", "a tag without a name"},
        {"<a", "markup at byte 0 does not end"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        s2d_error err;
        s2d_xml_node *root = parse(bad[i].doc, &err);
        bool ok = !root && err.code == S2D_ERR_INPUT &&
                  strncmp(err.message, bad[i].message, strlen(bad[i].message)) == 0;
        if (!ok) {
            fprintf(stderr, "\"%s\": \"%s\"\n", bad[i].doc, err.message);
        }
        CHECK(ok);
        s2d_xml_free(root);
    }
}

// Nesting is bounded, and what is within the bound parses: no recursion to exhaust.
static void test_depth(void)
{
    char doc[4096] = "";
    for (int i = 0; i < 256; i++) {
        strcat(doc, "<a>");
    }
    for (int i = 0; i < 256; i++) {
        strcat(doc, "</a>");
    }
    s2d_error err;
    s2d_xml_node *root = parse(doc, &err);
    CHECK(root != NULL);
    s2d_xml_free(root);
    char deeper[4096] = "";
    for (int i = 0; i < 257; i++) {
        strcat(deeper, "<a>");
    }
    root = parse(deeper, &err);
    CHECK(!root && strstr(err.message, "nested deeper than 256"));
}

int main(void)
{
    RUN(test_tree);
    RUN(test_refused);
    RUN(test_depth);
    return harness_failures != 0;
}
