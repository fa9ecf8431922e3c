#include "config/conf_default.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/conf_parser.h"

char *conf_default_text(const char *data_dir)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	if (!f)
		return NULL;

	/* Strip trailing slashes so the path reads "dir/disk0.img", not "dir//disk0.img". */
	size_t dir_len = strlen(data_dir);
	while (dir_len > 1 && data_dir[dir_len - 1] == '/')
		dir_len--;
	char *image = NULL;
	if (asprintf(&image, "%.*s/%s.img", (int)dir_len, data_dir, CONF_DEFAULT_DEVICE) < 0) {
		fclose(f);
		free(text);
		return NULL;
	}

	fprintf(f, "# Built-in default configuration of uscstd.\n"
		   "HANDLER vdisk_fileio {\n"
		   "\tDEVICE " CONF_DEFAULT_DEVICE " {\n"
		   "\t\tfilename ");
	conf_write_word(f, image);
	fprintf(f,
		"\n"
		"\t\tsize %llu\n"
		"\t}\n"
		"}\n"
		"\n"
		"TARGET_DRIVER iscsi {\n"
		"\tenabled 1\n"
		"\n"
		"\tTARGET " CONF_DEFAULT_TARGET " {\n"
		"\t\tenabled 1\n"
		"\t\tLUN 0 " CONF_DEFAULT_DEVICE "\n"
		"\t}\n"
		"}\n",
		CONF_DEFAULT_SIZE);
	free(image);
	bool failed = ferror(f);
	if (fclose(f) != 0 || failed) {
		free(text);
		return NULL;
	}
	return text;
}
