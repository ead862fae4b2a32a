#include "kms_output.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "redox-drm/client.h"
#include "redox-drm/wire.h"

int kms_output_find(int fd, struct kms_output *out)
{
	*out = (struct kms_output){0};
	out->res = drmModeGetResources(fd);
	if (!out->res || out->res->count_crtcs <= 0)
		goto fail;
	for (int i = 0; i < out->res->count_connectors && !out->conn; i++) {
		drmModeConnector *c = drmModeGetConnector(fd, out->res->connectors[i]);
		if (c && c->connection == DRM_MODE_CONNECTED && c->count_modes > 0)
			out->conn = c;
		else
			drmModeFreeConnector(c);
	}
	if (!out->conn)
		goto fail;
	out->mode = out->conn->modes[0];
	out->enc = drmModeGetEncoder(fd, out->conn->encoder_id ? out->conn->encoder_id : out->conn->encoders[0]);
	if (!out->enc)
		goto fail;
	out->crtc_id = out->enc->crtc_id;
	for (int i = 0; !out->crtc_id && i < out->res->count_crtcs; i++)
		if (out->enc->possible_crtcs & (1u << i))
			out->crtc_id = out->res->crtcs[i];
	if (out->crtc_id)
		return 0;
fail:
	kms_output_free(out);
	return -1;
}

void kms_output_free(struct kms_output *out)
{
	drmModeFreeEncoder(out->enc);
	drmModeFreeConnector(out->conn);
	drmModeFreeResources(out->res);
	*out = (struct kms_output){0};
}

int kms_output_capture(uint32_t crtc_id, uint32_t **px, uint32_t *w, uint32_t *h)
{
	const char *dir = getenv("REDOX_DRM_RUNTIME_DIR");
	if (!dir)
		return -ENOENT;
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/renderD128", dir);
	int file = rdrm_connect(path, O_CLOEXEC);
	if (file < 0)
		return file;
	struct rdrm_wire_hello hello;
	int chan = rdrm_channel_open(file, &hello);
	if (chan < 0) {
		close(file);
		return chan;
	}
	uint32_t id;
	int r = rdrm_capture(chan, crtc_id, px, w, h, &id);
	close(chan);
	close(file);
	return r;
}
