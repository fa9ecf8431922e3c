/* Unit tests for the scst.conf parser and tree writer (no core needed). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config/conf_default.h"
#include "config/conf_parser.h"

/* The realistic example of scst-notes 3.1 (scst.conf(5) and scstadmin examples). */
static const char full_example[] =
    "# /etc/scst.conf\n"
    "setup_id 0x1234\n"
    "\n"
    "HANDLER vdisk_fileio {\n"
    "\tDEVICE disk1 {\n"
    "\t\tfilename /srv/luns/disk1.img\n"
    "\t\tblocksize 4096\n"
    "\t\tnv_cache 0\n"
    "\t\twrite_through 0\n"
    "\t\tthin_provisioned 1\n"
    "\t\trotational 0\n"
    "\t\tprod_id SCST            # same prod_id on all datastores for VMware XCOPY\n"
    "\t\tt10_dev_id disk1-0001    # keep stable; cluster_mode lockspace uses it\n"
    "\t}\n"
    "}\n"
    "\n"
    "HANDLER vdisk_blockio {\n"
    "\tDEVICE blockio1 {\n"
    "\t\tfilename /dev/vg0/lun1\n"
    "\t\tthin_provisioned 1\n"
    "\t\tcluster_mode 0\n"
    "\t}\n"
    "}\n"
    "\n"
    "HANDLER vdisk_nullio {\n"
    "\tDEVICE dummy {\n"
    "\t\tdummy 1                 # LUN-0 placeholder\n"
    "\t}\n"
    "}\n"
    "\n"
    "HANDLER vcdrom {\n"
    "\tDEVICE cdrom1 {\n"
    "\t\tfilename /srv/iso/install.iso\n"
    "\t}\n"
    "}\n"
    "\n"
    "HANDLER dev_disk {\n"
    "\tDEVICE 2:0:0:0              # pass-through real SCSI disk\n"
    "}\n"
    "\n"
    "TARGET_DRIVER copy_manager {\n"
    "\tallow_not_connected_copy 0\n"
    "\tTARGET copy_manager_tgt {\n"
    "\t\tLUN 0 disk1\n"
    "\t\tLUN 1 blockio1\n"
    "\t}\n"
    "}\n"
    "\n"
    "TARGET_DRIVER iscsi {\n"
    "\tenabled 1\n"
    "\tIncomingUser \"discuser 12charsecret0\"          # discovery CHAP\n"
    "\tiSNSServer \"192.168.1.16 AccessControl\"\n"
    "\tinternal_portal 192.168.9.1\n"
    "\n"
    "\tTARGET iqn.2006-10.net.vlnb:tgt {\n"
    "\t\tenabled 1\n"
    "\t\trel_tgt_id 1\n"
    "\t\talias \"Primary storage\"\n"
    "\t\tIncomingUser \"joe 12charsecret\"\n"
    "\t\tIncomingUser \"fred 12charsecret2\"\n"
    "\t\tOutgoingUser \"tgtuser 12charsecret3\"        # mutual CHAP\n"
    "\t\tallowed_portal 10.170.77.*     # only these portals (DOS patterns)\n"
    "\t\tallowed_portal 10.170.78.2\n"
    "\t\tHeaderDigest CRC32C,None\n"
    "\t\tDataDigest None\n"
    "\t\tInitialR2T No\n"
    "\t\tImmediateData Yes\n"
    "\t\tMaxRecvDataSegmentLength 1048576\n"
    "\t\tMaxXmitDataSegmentLength 1048576\n"
    "\t\tMaxBurstLength 1048576\n"
    "\t\tFirstBurstLength 65536\n"
    "\t\tMaxOutstandingR2T 32\n"
    "\t\tQueuedCommands 32\n"
    "\t\tNopInInterval 30\n"
    "\t\tNopInTimeout 30\n"
    "\t\tRspTimeout 90\n"
    "\t\tMaxSessions 0\n"
    "\n"
    "\t\tLUN 0 dummy\n"
    "\t\tLUN 1 disk1\n"
    "\t\tLUN 2 cdrom1 {\n"
    "\t\t\tread_only 1\n"
    "\t\t}\n"
    "\n"
    "\t\tGROUP esx_hosts {\n"
    "\t\t\taddr_method PERIPHERAL\n"
    "\t\t\tLUN 0 disk1\n"
    "\t\t\tLUN 1 blockio1\n"
    "\t\t\tINITIATOR iqn.1998-01.com.vmware:esx*\n"
    "\t\t\tINITIATOR iqn.1991-05.com.microsoft:hyperv01\n"
    "\t\t}\n"
    "\t}\n"
    "}\n"
    "\n"
    "DEVICE_GROUP dgroup1 {\n"
    "\tDEVICE disk1\n"
    "\tDEVICE blockio1\n"
    "\n"
    "\tTARGET_GROUP local {\n"
    "\t\tgroup_id 256\n"
    "\t\tpreferred 1\n"
    "\t\tstate active\n"
    "\t\tTARGET iqn.2006-10.net.vlnb:tgt {\n"
    "\t\t\trel_tgt_id 1\n"
    "\t\t}\n"
    "\t}\n"
    "\tTARGET_GROUP remote {\n"
    "\t\tgroup_id 257\n"
    "\t\tstate standby\n"
    "\t\tTARGET iqn.2006-10.net.vlnb:tgt-peer {   # lives on the HA peer\n"
    "\t\t\trel_tgt_id 2\n"
    "\t\t}\n"
    "\t}\n"
    "}\n";

/* ---- helpers ---- */

static struct conf_tree *parse_ok(const char *text)
{
	char err[512] = "";
	struct conf_tree *tree = conf_parse_text(text, "t.conf", err, sizeof(err));
	if (!tree)
		fail_msg("unexpected parse error: %s", err);
	return tree;
}

/* Parses text that must fail and checks the whole message. */
static void expect_error(const char *text, const char *message)
{
	char err[512] = "";
	struct conf_tree *tree = conf_parse_text(text, "t.conf", err, sizeof(err));
	if (tree) {
		conf_tree_free(tree);
		fail_msg("parsed, expected error '%s'", message);
	}
	assert_string_equal(err, message);
}

/* Parses text that must fail and checks only the FILE:LINE: prefix. */
static void expect_error_at(const char *text, int line)
{
	char err[512] = "", prefix[32];
	struct conf_tree *tree = conf_parse_text(text, "t.conf", err, sizeof(err));
	if (tree) {
		conf_tree_free(tree);
		fail_msg("parsed, expected an error on line %d", line);
	}
	snprintf(prefix, sizeof(prefix), "t.conf:%d: ", line);
	if (strncmp(err, prefix, strlen(prefix)) != 0)
		fail_msg("error '%s' does not start with '%s'", err, prefix);
}

static const struct conf_node *child(const struct conf_node *n, size_t i)
{
	assert_true(i < n->nchildren);
	return n->children[i];
}

/* Deep equality, ignoring line numbers (a rewritten file has different ones). */
static void assert_nodes_equal(const struct conf_node *a, const struct conf_node *b)
{
	if (a->keyword || b->keyword)
		assert_string_equal(a->keyword, b->keyword);
	assert_int_equal(a->nargs, b->nargs);
	for (size_t i = 0; i < a->nargs; i++)
		assert_string_equal(a->args[i], b->args[i]);
	assert_int_equal(a->nattrs, b->nattrs);
	for (size_t i = 0; i < a->nattrs; i++) {
		assert_string_equal(a->attrs[i].name, b->attrs[i].name);
		assert_string_equal(a->attrs[i].value, b->attrs[i].value);
	}
	assert_int_equal(a->has_block, b->has_block);
	assert_int_equal(a->nchildren, b->nchildren);
	for (size_t i = 0; i < a->nchildren; i++) {
		assert_ptr_equal(b->children[i]->parent, b);
		assert_nodes_equal(a->children[i], b->children[i]);
	}
}

/* write -> parse -> compare, and writing the reparsed tree gives the same text. */
static void assert_round_trip(const struct conf_tree *tree)
{
	char *text = conf_tree_to_text(tree);
	assert_non_null(text);
	struct conf_tree *again = parse_ok(text);
	assert_nodes_equal(&tree->root, &again->root);
	char *text2 = conf_tree_to_text(again);
	assert_string_equal(text, text2);
	free(text);
	free(text2);
	conf_tree_free(again);
}

/* ---- the full example ---- */

static void test_example_top_level(void **state)
{
	struct conf_tree *t = parse_ok(full_example);
	assert_int_equal(t->root.nattrs, 1);
	assert_string_equal(t->root.attrs[0].name, "setup_id");
	assert_string_equal(t->root.attrs[0].value, "0x1234");
	assert_int_equal(t->root.attrs[0].line, 2);
	static const char *const kinds[] = {"HANDLER",	     "HANDLER",	    "HANDLER",
					    "HANDLER",	     "HANDLER",	    "TARGET_DRIVER",
					    "TARGET_DRIVER", "DEVICE_GROUP"};
	assert_int_equal(t->root.nchildren, 8);
	for (size_t i = 0; i < 8; i++) {
		assert_string_equal(child(&t->root, i)->keyword, kinds[i]);
		assert_null(child(&t->root, i)->parent->keyword);
	}
	assert_string_equal(conf_node_arg(child(&t->root, 1), 0), "vdisk_blockio");
	assert_null(conf_node_arg(child(&t->root, 1), 1));
	conf_tree_free(t);
}

static void test_example_device_attributes(void **state)
{
	struct conf_tree *t = parse_ok(full_example);
	const struct conf_node *h = conf_node_child(&t->root, "HANDLER", "vdisk_fileio");
	assert_non_null(h);
	assert_int_equal(h->line, 4);
	const struct conf_node *d = conf_node_child(h, "DEVICE", "disk1");
	assert_non_null(d);
	assert_int_equal(d->line, 5);
	assert_true(d->has_block);
	assert_int_equal(d->nattrs, 8);
	assert_string_equal(conf_node_attr(d, "filename"), "/srv/luns/disk1.img");
	assert_string_equal(conf_node_attr(d, "blocksize"), "4096");
	/* Trailing comments are not part of the value. */
	assert_string_equal(conf_node_attr(d, "prod_id"), "SCST");
	assert_string_equal(conf_node_attr(d, "t10_dev_id"), "disk1-0001");
	assert_int_equal(d->attrs[7].line, 13);
	assert_null(conf_node_attr(d, "no_such"));
	conf_tree_free(t);
}

static void test_example_device_without_block(void **state)
{
	struct conf_tree *t = parse_ok(full_example);
	const struct conf_node *h = conf_node_child(&t->root, "HANDLER", "dev_disk");
	const struct conf_node *d = conf_node_child(h, "DEVICE", NULL);
	assert_string_equal(d->args[0], "2:0:0:0");
	assert_false(d->has_block);
	assert_int_equal(d->nattrs, 0);
	conf_tree_free(t);
}

static void test_example_iscsi_target(void **state)
{
	struct conf_tree *t = parse_ok(full_example);
	const struct conf_node *drv = conf_node_child(&t->root, "TARGET_DRIVER", "iscsi");
	assert_string_equal(conf_node_attr(drv, "IncomingUser"), "discuser 12charsecret0");
	assert_string_equal(conf_node_attr(drv, "iSNSServer"), "192.168.1.16 AccessControl");
	const struct conf_node *tgt = conf_node_child(drv, "TARGET", "iqn.2006-10.net.vlnb:tgt");
	assert_non_null(tgt);
	assert_int_equal(tgt->nattrs, 22);
	assert_string_equal(conf_node_attr(tgt, "alias"), "Primary storage");
	/* Repeated names stay, in order. */
	assert_string_equal(tgt->attrs[3].name, "IncomingUser");
	assert_string_equal(tgt->attrs[3].value, "joe 12charsecret");
	assert_string_equal(tgt->attrs[4].name, "IncomingUser");
	assert_string_equal(tgt->attrs[4].value, "fred 12charsecret2");
	assert_string_equal(tgt->attrs[6].value, "10.170.77.*");
	assert_string_equal(tgt->attrs[7].value, "10.170.78.2");
	conf_tree_free(t);
}

static void test_example_luns_and_group(void **state)
{
	struct conf_tree *t = parse_ok(full_example);
	const struct conf_node *drv = conf_node_child(&t->root, "TARGET_DRIVER", "iscsi");
	const struct conf_node *tgt = child(drv, 0);
	assert_int_equal(tgt->nchildren, 4);
	const struct conf_node *lun0 = child(tgt, 0), *lun2 = child(tgt, 2);
	assert_string_equal(lun0->keyword, "LUN");
	assert_string_equal(lun0->args[0], "0");
	assert_string_equal(lun0->args[1], "dummy");
	assert_false(lun0->has_block);
	assert_string_equal(lun2->args[1], "cdrom1");
	assert_true(lun2->has_block);
	assert_string_equal(conf_node_attr(lun2, "read_only"), "1");
	const struct conf_node *g = conf_node_child(tgt, "GROUP", "esx_hosts");
	assert_non_null(g);
	assert_string_equal(conf_node_attr(g, "addr_method"), "PERIPHERAL");
	assert_int_equal(g->nchildren, 4);
	assert_string_equal(child(g, 2)->keyword, "INITIATOR");
	assert_string_equal(child(g, 2)->args[0], "iqn.1998-01.com.vmware:esx*");
	assert_ptr_equal(g->parent, tgt);
	conf_tree_free(t);
}

static void test_example_device_group(void **state)
{
	struct conf_tree *t = parse_ok(full_example);
	const struct conf_node *dg = conf_node_child(&t->root, "DEVICE_GROUP", "dgroup1");
	assert_int_equal(dg->nchildren, 4);
	assert_string_equal(child(dg, 1)->keyword, "DEVICE");
	assert_string_equal(child(dg, 1)->args[0], "blockio1");
	const struct conf_node *tg = conf_node_child(dg, "TARGET_GROUP", "remote");
	assert_string_equal(conf_node_attr(tg, "state"), "standby");
	const struct conf_node *tt = conf_node_child(tg, "TARGET", NULL);
	assert_string_equal(tt->args[0], "iqn.2006-10.net.vlnb:tgt-peer");
	assert_string_equal(conf_node_attr(tt, "rel_tgt_id"), "2");
	conf_tree_free(t);
}

static void test_example_round_trip(void **state)
{
	struct conf_tree *t = parse_ok(full_example);
	assert_round_trip(t);
	conf_tree_free(t);
}

/* ---- lexical details ---- */

static void test_comments_and_escaped_hash(void **state)
{
	struct conf_tree *t = parse_ok("# a comment\n"
				       "   # indented comment\n"
				       "HANDLER h { # comment after brace\n"
				       "\tDEVICE d {\n"
				       "\t\tprod_id a\\#b   # real comment\n"
				       "\t\tusn \"x # y\"\n"
				       "\t}\n"
				       "} # done\n");
	const struct conf_node *d = child(child(&t->root, 0), 0);
	assert_string_equal(conf_node_attr(d, "prod_id"), "a#b");
	assert_string_equal(conf_node_attr(d, "usn"), "x # y");
	assert_int_equal(d->attrs[0].line, 5);
	conf_tree_free(t);
}

static void test_quoting_and_escapes(void **state)
{
	struct conf_tree *t = parse_ok("a \"with \\\"quotes\\\" and \\\\ backslash\"\n"
				       "b \"\"\n"
				       "c \"{ braces }\"\n"
				       "d C:\\path\\file\n"
				       "e \\{x\\}\n");
	assert_string_equal(conf_node_attr(&t->root, "a"), "with \"quotes\" and \\ backslash");
	assert_string_equal(conf_node_attr(&t->root, "b"), "");
	assert_string_equal(conf_node_attr(&t->root, "c"), "{ braces }");
	/* A backslash before an ordinary character stays. */
	assert_string_equal(conf_node_attr(&t->root, "d"), "C:\\path\\file");
	assert_string_equal(conf_node_attr(&t->root, "e"), "{x}");
	conf_tree_free(t);
}

static void test_blank_lines_tabs_and_crlf(void **state)
{
	struct conf_tree *t = parse_ok("\r\n\t \n"
				       "HANDLER\tvdisk_fileio\t{\r\n"
				       "  DEVICE   disk0   {\r\n"
				       "    filename\t/tmp/x\r\n"
				       "  }\r\n"
				       "}\r\n");
	const struct conf_node *d = child(child(&t->root, 0), 0);
	assert_string_equal(d->args[0], "disk0");
	assert_string_equal(conf_node_attr(d, "filename"), "/tmp/x");
	assert_int_equal(d->line, 4);
	conf_tree_free(t);
}

static void test_empty_input(void **state)
{
	struct conf_tree *t = parse_ok("");
	assert_int_equal(t->root.nchildren, 0);
	assert_int_equal(t->root.nattrs, 0);
	conf_tree_free(t);
	t = parse_ok("# only a comment, no newline at the end");
	assert_int_equal(t->root.nchildren, 0);
	conf_tree_free(t);
}

static void test_empty_blocks_and_no_final_newline(void **state)
{
	struct conf_tree *t = parse_ok("TARGET_DRIVER iscsi {\n"
				       "\tTARGET iqn.x:y {\n"
				       "\t}\n"
				       "\tTARGET iqn.x:z\n"
				       "}");
	const struct conf_node *drv = child(&t->root, 0);
	assert_true(child(drv, 0)->has_block);
	assert_false(child(drv, 1)->has_block);
	assert_round_trip(t);
	conf_tree_free(t);
}

/* ---- errors: each names file and line ---- */

static void test_error_unterminated_quote(void **state)
{
	expect_error("a 1\nb \"open\n", "t.conf:2: unterminated quote");
}

static void test_error_unclosed_section(void **state)
{
	/* The message points at the section that was left open, not at the end of the file. */
	expect_error("HANDLER h {\n\tDEVICE d {\n\t\tfilename x\n}\n",
		     "t.conf:1: 'HANDLER' section is not closed (missing '}')");
}

static void test_error_extra_close(void **state)
{
	expect_error("HANDLER h {\n}\n}\n", "t.conf:3: '}' without a matching section");
}

static void test_error_garbage_after_close(void **state)
{
	expect_error("HANDLER h {\n} x\n",
		     "t.conf:2: unexpected text after '}' (it must be alone on its line)");
	expect_error("HANDLER h {\n}}\n",
		     "t.conf:2: unexpected text after '}' (it must be alone on its line)");
	expect_error("HANDLER h {\nDEVICE d { }\n}\n", "t.conf:2: unexpected text after '{'");
	expect_error("a } b\n", "t.conf:1: '}' must be alone on its line");
}

static void test_error_unknown_section(void **state)
{
	expect_error("\nFOO bar {\n}\n", "t.conf:2: unknown section keyword 'FOO'");
	expect_error("handler vdisk_fileio {\n}\n", "t.conf:1: unknown section keyword 'handler'");
}

static void test_error_section_in_wrong_place(void **state)
{
	expect_error("DEVICE d {\n}\n",
		     "t.conf:1: 'DEVICE' is not allowed at top level (it belongs in HANDLER or "
		     "DEVICE_GROUP)");
	expect_error(
	    "HANDLER h {\n\tLUN 0 d\n}\n",
	    "t.conf:2: 'LUN' is not allowed inside HANDLER (it belongs in TARGET or GROUP)");
	expect_error("TARGET_DRIVER iscsi {\n\tTARGET t {\n\t\tINITIATOR x\n\t}\n}\n",
		     "t.conf:3: 'INITIATOR' is not allowed inside TARGET (it belongs in GROUP)");
	/* TARGET inside a TARGET_GROUP has no LUNs. */
	expect_error_at(
	    "DEVICE_GROUP g {\n TARGET_GROUP tg {\n  TARGET t {\n   LUN 0 d\n  }\n }\n}\n", 4);
}

static void test_error_value_missing(void **state)
{
	expect_error("HANDLER h {\n\tDEVICE d {\n\t\tfilename\n\t}\n}\n",
		     "t.conf:3: value missing for 'filename'");
	expect_error("enabled   # comment is no value\n", "t.conf:1: value missing for 'enabled'");
}

static void test_error_too_many_values(void **state)
{
	expect_error("IncomingUser joe secret\n",
		     "t.conf:1: too many values for 'IncomingUser' (put values that contain blanks "
		     "in double quotes)");
}

static void test_error_section_arguments(void **state)
{
	expect_error("TARGET_DRIVER iscsi {\n\tTARGET t {\n\t\tLUN 0\n\t}\n}\n",
		     "t.conf:3: 'LUN' takes a LUN number and a device name, got 1 word");
	expect_error("HANDLER {\n}\n", "t.conf:1: 'HANDLER' takes a handler name, got 0 words");
	expect_error("HANDLER a b {\n}\n", "t.conf:1: 'HANDLER' takes a handler name, got 2 words");
}

static void test_error_brace_on_next_line(void **state)
{
	expect_error(
	    "HANDLER h\n{\n}\n",
	    "t.conf:2: '{' must end the line that opens the section (e.g. 'DEVICE disk0 {')");
	expect_error("HANDLER h { x\n}\n", "t.conf:1: unexpected text after '{'");
}

static void test_error_leaf_with_block(void **state)
{
	expect_error("DEVICE_GROUP g {\n\tDEVICE d {\n\t}\n}\n",
		     "t.conf:2: 'DEVICE' cannot have a '{' block here");
}

static void test_error_unknown_keyword_nesting(void **state)
{
	/* Nesting beyond the grammar is refused at the first misplaced section. */
	expect_error_at("HANDLER h {\n DEVICE d {\n  DEVICE e {\n   DEVICE f {\n", 3);
	expect_error_at("TARGET_DRIVER i {\n TARGET t {\n  GROUP g {\n   GROUP h {\n", 4);
}

static void test_error_long_line(void **state)
{
	size_t len = CONF_MAX_LINE + 10;
	char *text = malloc(len + 16);
	strcpy(text, "a 1\nname ");
	memset(text + 9, 'x', len - 9);
	strcpy(text + len, "\n");
	expect_error(text, "t.conf:2: line too long (at most 4096 characters)");
	/* Exactly at the limit is fine. */
	text[CONF_MAX_LINE + 4] = '\0';
	struct conf_tree *t = parse_ok(text);
	assert_int_equal(strlen(conf_node_attr(&t->root, "name")), CONF_MAX_LINE - 5);
	conf_tree_free(t);
	free(text);
}

static void test_error_long_names(void **state)
{
	char text[1024];
	char name[CONF_MAX_NAME + 1];
	memset(name, 'n', CONF_MAX_NAME);
	name[CONF_MAX_NAME] = '\0';
	snprintf(text, sizeof(text), "%s 1\n", name);
	expect_error(text, "t.conf:1: attribute name too long (at most 255 characters)");
	snprintf(text, sizeof(text), "\nHANDLER %s {\n}\n", name);
	expect_error(text, "t.conf:2: name too long (at most 255 characters)");
	name[CONF_MAX_NAME - 1] = '\0'; /* 255 characters are allowed */
	snprintf(text, sizeof(text), "HANDLER %s {\n}\n", name);
	conf_tree_free(parse_ok(text));
}

static void test_error_bad_attribute_name_and_word_count(void **state)
{
	expect_error("=x 1\n", "t.conf:1: invalid attribute name '=x'");
	expect_error("a \"b\"c\n", "t.conf:1: unexpected text right after a closing quote");
	expect_error("a 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n",
		     "t.conf:1: too many words on one line (at most 16)");
}

static void test_error_messages_always_name_file_and_line(void **state)
{
	static const struct {
		const char *text;
		int line;
	} cases[] = {
	    {"x\n", 1},
	    {"\n\n\"x\n", 3},
	    {"HANDLER h {\n", 1},
	    {"a 1\n}\n", 2},
	    {"TARGET_DRIVER d {\n\tTARGET t {\n\t\tLUN 0 d {\n\t\t\tLUN 1 e\n", 4},
	    {"TARGET_DRIVER d {\n\tTARGET t {\n\t\tHW_TARGET x\n", 3},
	    {"TARGET_DRIVER d {\n\tTARGET t {\n\t\tGROUP g {\n\t\t\tINITIATOR a b\n", 4},
	    {"HANDLER h {\n\tDEVICE d {\n\t}\n}\n{\n", 5},
	    {"a 1\nb 2\nc 3\nd\n", 4},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		expect_error_at(cases[i].text, cases[i].line);
}

/* ---- files ---- */

static void write_temp(char *path, const void *data, size_t len)
{
	strcpy(path, "/tmp/test_conf_parser.XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static void test_parse_file(void **state)
{
	char path[64], err[512], want[128];
	write_temp(path, full_example, strlen(full_example));
	struct conf_tree *t = conf_parse_file(path, err, sizeof(err));
	assert_non_null(t);
	assert_string_equal(t->file, path);
	assert_int_equal(t->root.nchildren, 8);
	conf_tree_free(t);
	unlink(path);

	write_temp(path, "a 1\nb 2\0\n", 9);
	assert_null(conf_parse_file(path, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s:2: NUL byte in the file", path);
	assert_string_equal(err, want);
	unlink(path);

	assert_null(conf_parse_file("/nonexistent/scst.conf", err, sizeof(err)));
	assert_string_equal(err, "/nonexistent/scst.conf: cannot open: No such file or directory");
}

/* ---- writer ---- */

static void test_write_built_tree(void **state)
{
	struct conf_tree *t = conf_tree_new("built");
	assert_true(conf_node_add_attr(&t->root, "setup_id", "0x1", 0));
	const char *h_args[] = {"vdisk_fileio"};
	struct conf_node *h = conf_node_add_child(&t->root, "HANDLER", h_args, 1, 0);
	const char *d_args[] = {"disk 0"};
	struct conf_node *d = conf_node_add_child(h, "DEVICE", d_args, 1, 0);
	assert_true(conf_node_add_attr(d, "filename", "/data dir/disk0.img", 0));
	assert_true(conf_node_add_attr(d, "prod_id", "a\"b#c\\d", 0));
	assert_true(conf_node_add_attr(d, "usn", "", 0));
	const char *drv_args[] = {"iscsi"};
	struct conf_node *drv = conf_node_add_child(&t->root, "TARGET_DRIVER", drv_args, 1, 0);
	assert_true(conf_node_add_attr(drv, "enabled", "1", 0));
	const char *t_args[] = {"iqn.2026-11.org.uscst:x"};
	struct conf_node *tgt = conf_node_add_child(drv, "TARGET", t_args, 1, 0);
	const char *l0[] = {"0", "disk 0"}, *l1[] = {"1", "d1"};
	conf_node_add_child(tgt, "LUN", l0, 2, 0);
	struct conf_node *lun1 = conf_node_add_child(tgt, "LUN", l1, 2, 0);
	assert_true(conf_node_add_attr(lun1, "read_only", "1", 0));

	char *text = conf_tree_to_text(t);
	assert_string_equal(text, "setup_id 0x1\n"
				  "\n"
				  "HANDLER vdisk_fileio {\n"
				  "\tDEVICE \"disk 0\" {\n"
				  "\t\tfilename \"/data dir/disk0.img\"\n"
				  "\t\tprod_id \"a\\\"b#c\\\\d\"\n"
				  "\t\tusn \"\"\n"
				  "\t}\n"
				  "}\n"
				  "\n"
				  "TARGET_DRIVER iscsi {\n"
				  "\tenabled 1\n"
				  "\n"
				  "\tTARGET iqn.2026-11.org.uscst:x {\n"
				  "\t\tLUN 0 \"disk 0\"\n"
				  "\n"
				  "\t\tLUN 1 d1 {\n"
				  "\t\t\tread_only 1\n"
				  "\t\t}\n"
				  "\t}\n"
				  "}\n");
	free(text);
	/* has_block differs for the hand-built HANDLER (false) vs reparsed (true): set it. */
	h->has_block = drv->has_block = tgt->has_block = d->has_block = lun1->has_block = true;
	assert_round_trip(t);
	conf_tree_free(t);
}

static void test_write_tricky_values_round_trip(void **state)
{
	static const char *const values[] = {
	    "", " ", "a b", "#", "\\#", "\\", "\"", "{", "}", "{}", "x\\y", "tab\there", "end\\",
	};
	struct conf_tree *t = conf_tree_new("tricky");
	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++)
		assert_true(conf_node_add_attr(&t->root, "v", values[i], 0));
	char *text = conf_tree_to_text(t);
	struct conf_tree *again = parse_ok(text);
	assert_int_equal(again->root.nattrs, sizeof(values) / sizeof(values[0]));
	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++)
		assert_string_equal(again->root.attrs[i].value, values[i]);
	free(text);
	conf_tree_free(again);
	conf_tree_free(t);
}

/* ---- default configuration ---- */

static void test_default_config(void **state)
{
	char *text = conf_default_text("/var/lib/uscst/");
	assert_non_null(text);
	struct conf_tree *t = parse_ok(text);
	const struct conf_node *d = conf_node_child(
	    conf_node_child(&t->root, "HANDLER", "vdisk_fileio"), "DEVICE", "disk0");
	assert_non_null(d);
	assert_string_equal(conf_node_attr(d, "filename"), "/var/lib/uscst/disk0.img");
	assert_string_equal(conf_node_attr(d, "size"), "1073741824");
	const struct conf_node *drv = conf_node_child(&t->root, "TARGET_DRIVER", "iscsi");
	assert_string_equal(conf_node_attr(drv, "enabled"), "1");
	const struct conf_node *tgt = conf_node_child(drv, "TARGET", CONF_DEFAULT_TARGET);
	assert_string_equal(conf_node_attr(tgt, "enabled"), "1");
	const struct conf_node *lun = conf_node_child(tgt, "LUN", "0");
	assert_string_equal(conf_node_arg(lun, 1), "disk0");
	conf_tree_free(t);
	free(text);

	/* A data directory with blanks or a hash must survive quoting. */
	text = conf_default_text("/tmp/my data#1");
	t = parse_ok(text);
	d = child(child(&t->root, 0), 0);
	assert_string_equal(conf_node_attr(d, "filename"), "/tmp/my data#1/disk0.img");
	conf_tree_free(t);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_example_top_level),
	    cmocka_unit_test(test_example_device_attributes),
	    cmocka_unit_test(test_example_device_without_block),
	    cmocka_unit_test(test_example_iscsi_target),
	    cmocka_unit_test(test_example_luns_and_group),
	    cmocka_unit_test(test_example_device_group),
	    cmocka_unit_test(test_example_round_trip),
	    cmocka_unit_test(test_comments_and_escaped_hash),
	    cmocka_unit_test(test_quoting_and_escapes),
	    cmocka_unit_test(test_blank_lines_tabs_and_crlf),
	    cmocka_unit_test(test_empty_input),
	    cmocka_unit_test(test_empty_blocks_and_no_final_newline),
	    cmocka_unit_test(test_error_unterminated_quote),
	    cmocka_unit_test(test_error_unclosed_section),
	    cmocka_unit_test(test_error_extra_close),
	    cmocka_unit_test(test_error_garbage_after_close),
	    cmocka_unit_test(test_error_unknown_section),
	    cmocka_unit_test(test_error_section_in_wrong_place),
	    cmocka_unit_test(test_error_value_missing),
	    cmocka_unit_test(test_error_too_many_values),
	    cmocka_unit_test(test_error_section_arguments),
	    cmocka_unit_test(test_error_brace_on_next_line),
	    cmocka_unit_test(test_error_leaf_with_block),
	    cmocka_unit_test(test_error_unknown_keyword_nesting),
	    cmocka_unit_test(test_error_long_line),
	    cmocka_unit_test(test_error_long_names),
	    cmocka_unit_test(test_error_bad_attribute_name_and_word_count),
	    cmocka_unit_test(test_error_messages_always_name_file_and_line),
	    cmocka_unit_test(test_parse_file),
	    cmocka_unit_test(test_write_built_tree),
	    cmocka_unit_test(test_write_tricky_values_round_trip),
	    cmocka_unit_test(test_default_config),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
