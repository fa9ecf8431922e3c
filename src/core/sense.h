/*
 * Sense data built by the core (core/sense.c) for command sets; the two
 * a transport uses too (uscst_cmd_check_condition, uscst_cmd_invalid_field_cdb)
 * are declared in include/uscst/transport.h.
 */
#ifndef USCST_CORE_SENSE_H
#define USCST_CORE_SENSE_H

#include <stdbool.h>
#include <stdint.h>

#include <uscst/transport.h>

/* Builds sense data into buf (>= 18 bytes fixed / >= 20 descriptor); returns length. */
unsigned uscst_sense_build(uint8_t *buf, bool descriptor, uint8_t key, uint8_t asc, uint8_t ascq,
			   bool info_valid, uint64_t info);
/* CHECK CONDITION with the INFORMATION field (e.g. the miscompare offset)
 * set and valid, fixed or descriptor sense as the LU's D_SENSE says. */
void uscst_cmd_check_condition_info(struct uscst_cmd *cmd, uint8_t key, uint8_t asc, uint8_t ascq,
				    uint64_t info);
/* ILLEGAL REQUEST, INVALID FIELD IN PARAMETER LIST with the field pointer
 * at (byte, bit); bit < 0: no bit pointer. */
void uscst_cmd_invalid_field_param(struct uscst_cmd *cmd, unsigned byte, int bit);

#endif
