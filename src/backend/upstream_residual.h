/*
 * What an upstream iSCSI target's SCSI Response says was moved: the
 * residual it reported (U or O flag and Residual Count, RFC 7143 11.4.5)
 * turned into uscst_scsi_req's transferred and overflow.
 *
 * RFC 7143 only says a target "should" set the residual, and libiscsi
 * writes Data-In straight into our buffer without saying how much came.
 * With no residual, GOOD means the whole buffer; any other status means
 * nothing we can prove arrived, so 0: the core then sends no Data-In with
 * the CHECK CONDITION rather than bytes the upstream never wrote.
 */
#ifndef USCST_BACKEND_UPSTREAM_RESIDUAL_H
#define USCST_BACKEND_UPSTREAM_RESIDUAL_H

#include <stdint.h>

#include <uscst/backend.h>

enum upstream_residual { UPSTREAM_RESIDUAL_NONE, UPSTREAM_RESIDUAL_UNDER, UPSTREAM_RESIDUAL_OVER };

/* Sets req->transferred and req->overflow after req->result and
 * req->status; residual is the count as the upstream sent it. */
static inline void upstream_residual_apply(struct uscst_scsi_req *req, enum upstream_residual kind,
					   uint64_t residual)
{
	req->transferred = 0;
	req->overflow = 0;
	if (req->result < 0)
		return;
	switch (kind) {
	case UPSTREAM_RESIDUAL_UNDER:
		req->transferred =
		    residual < req->data_len ? req->data_len - (uint32_t)residual : 0;
		break;
	case UPSTREAM_RESIDUAL_OVER:
		req->transferred = req->data_len;
		req->overflow = residual < UINT32_MAX ? (uint32_t)residual : UINT32_MAX;
		break;
	case UPSTREAM_RESIDUAL_NONE:
		req->transferred = req->status == 0 /* GOOD */ ? req->data_len : 0;
		break;
	}
}

#endif
