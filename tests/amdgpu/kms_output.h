/*
 * For the libdrm clients in tests/amdgpu: the output they light (the first
 * connected connector, its first mode and a CRTC its encoder can drive), and
 * what that CRTC's monitor shows (the daemon's capture, on a render node of
 * the launcher's runtime directory).
 */
#ifndef REDOX_DRM_TEST_AMDGPU_KMS_OUTPUT_H
#define REDOX_DRM_TEST_AMDGPU_KMS_OUTPUT_H

#include <stdint.h>

#include <xf86drmMode.h>

struct kms_output {
	drmModeRes *res;
	drmModeConnector *conn;
	drmModeEncoder *enc;
	drmModeModeInfo mode;
	uint32_t crtc_id;
};

/* 0, or -1 when fd has no connected output with a mode and a CRTC. */
int kms_output_find(int fd, struct kms_output *out);
void kms_output_free(struct kms_output *out);

/* The CRTC's picture (malloc'd XRGB8888, *w x *h); 0 or -errno. */
int kms_output_capture(uint32_t crtc_id, uint32_t **px, uint32_t *w, uint32_t *h);

#endif
