/*
 * Byte order and digest placement for the raw-socket test clients
 * (hostile_client, pdu_stress, slow_reader).  They share no code with the
 * daemon on purpose, so a bug in the daemon's helpers cannot hide itself;
 * they share this header with each other.
 */
#ifndef USCST_TEST_WIRE_H
#define USCST_TEST_WIRE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static inline void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}
static inline void put24(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 16);
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)v;
}
static inline void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}
static inline void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)(v >> 32));
	put32(p + 4, (uint32_t)v);
}
static inline uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline uint32_t get24(const uint8_t *p) { return (uint32_t)p[0] << 16 | p[1] << 8 | p[2]; }
static inline uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Digests go on the wire least significant byte first (RFC 7143 13.1). */
static inline void put_digest(uint8_t *p, uint32_t crc)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(crc >> (8 * i));
}

/* A raw client's cases, run by name from the command line. */
struct wire_case {
	const char *name;
	int (*fn)(void); /* 0: passed; else why (see wire_main) says why not */
};

/* `PROG --list` prints the case names; `PROG HOST PORT TARGET_IQN CASE`
 * sets *host, *port and *target, runs the case and prints "ok" or
 * "error: WHY" (why: the client's reason buffer).  Returns the exit
 * status: 0 passed, 1 failed, 2 usage or unknown case. */
static inline int wire_main(int argc, char **argv, const struct wire_case *cases, size_t n,
			    const char **host, const char **port, const char **target,
			    const char *why)
{
	if (argc == 2 && !strcmp(argv[1], "--list")) {
		for (size_t i = 0; i < n; i++)
			puts(cases[i].name);
		return 0;
	}
	if (argc != 5) {
		fprintf(stderr, "usage: %s --list | HOST PORT TARGET_IQN CASE\n", argv[0]);
		return 2;
	}
	*host = argv[1];
	*port = argv[2];
	*target = argv[3];
	for (size_t i = 0; i < n; i++) {
		if (strcmp(cases[i].name, argv[4]))
			continue;
		if (cases[i].fn()) {
			printf("error: %s\n", why[0] ? why : "failed");
			return 1;
		}
		puts("ok");
		return 0;
	}
	fprintf(stderr, "unknown case %s\n", argv[4]);
	return 2;
}

#endif
