/* Display modes: validation of user modes, and modes from EDID (drm_modes.c, drm_edid.c). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kms_internal.h"

uint32_t drm_mode_vrefresh(const struct drm_mode_modeinfo *m)
{
	uint64_t num = (uint64_t)m->clock * 1000;
	uint64_t den = (uint64_t)m->htotal * m->vtotal;
	if (m->flags & DRM_MODE_FLAG_INTERLACE)
		num *= 2;
	if (m->flags & DRM_MODE_FLAG_DBLSCAN)
		den *= 2;
	if (m->vscan > 1)
		den *= m->vscan;
	return den ? (uint32_t)((num + den / 2) / den) : 0;
}

void drm_mode_set_name(struct drm_mode_modeinfo *m)
{
	snprintf(m->name, sizeof(m->name), "%ux%u%s", m->hdisplay, m->vdisplay,
		 (m->flags & DRM_MODE_FLAG_INTERLACE) ? "i" : "");
}

/* drm_mode_convert_umode + drm_mode_validate_basic: what a client may hand in as a mode. */
int drm_mode_validate_umode(const struct drm_mode_modeinfo *m)
{
	if (m->clock > INT_MAX || m->vrefresh > INT_MAX)
		return -ERANGE;
	if ((m->type & ~DRM_MODE_TYPE_ALL) || (m->flags & ~DRM_MODE_FLAG_ALL) ||
	    (m->flags & DRM_MODE_FLAG_3D_MASK) > DRM_MODE_FLAG_3D_SIDE_BY_SIDE_HALF)
		return -EINVAL;
	if (m->clock == 0)
		return -EINVAL;
	if (m->hdisplay == 0 || m->hsync_start < m->hdisplay || m->hsync_end < m->hsync_start ||
	    m->htotal < m->hsync_end)
		return -EINVAL;
	if (m->vdisplay == 0 || m->vsync_start < m->vdisplay || m->vsync_end < m->vsync_start ||
	    m->vtotal < m->vsync_end)
		return -EINVAL;
	return 0;
}

/* VESA DMT timings for the modes an EDID names by code (established and standard timings). */
struct dmt {
	uint16_t h, v, hz;
	uint32_t clock;
	uint16_t hss, hse, ht, vss, vse, vt;
	uint32_t flags;
};

#define P (DRM_MODE_FLAG_PHSYNC | DRM_MODE_FLAG_PVSYNC)
#define N (DRM_MODE_FLAG_NHSYNC | DRM_MODE_FLAG_NVSYNC)
static const struct dmt dmt_modes[] = {
	{640, 480, 60, 25175, 656, 752, 800, 490, 492, 525, N},
	{640, 480, 72, 31500, 664, 704, 832, 489, 492, 520, N},
	{640, 480, 75, 31500, 656, 720, 840, 481, 484, 500, N},
	{800, 600, 56, 36000, 824, 896, 1024, 601, 603, 625, P},
	{800, 600, 60, 40000, 840, 968, 1056, 601, 605, 628, P},
	{800, 600, 72, 50000, 856, 976, 1040, 637, 643, 666, P},
	{800, 600, 75, 49500, 816, 896, 1056, 601, 604, 625, P},
	{1024, 768, 60, 65000, 1048, 1184, 1344, 771, 777, 806, N},
	{1024, 768, 70, 75000, 1048, 1184, 1328, 771, 777, 806, N},
	{1024, 768, 75, 78750, 1040, 1136, 1312, 769, 772, 800, P},
	{1280, 720, 60, 74250, 1390, 1430, 1650, 725, 730, 750, P},
	{1280, 1024, 60, 108000, 1328, 1440, 1688, 1025, 1028, 1066, P},
	{1280, 1024, 75, 135000, 1296, 1440, 1688, 1025, 1028, 1066, P},
	{1920, 1080, 60, 148500, 2008, 2052, 2200, 1084, 1089, 1125, P},
};
#undef P
#undef N

static const struct dmt *dmt_find(unsigned h, unsigned v, unsigned hz)
{
	for (size_t i = 0; i < sizeof(dmt_modes) / sizeof(dmt_modes[0]); i++)
		if (dmt_modes[i].h == h && dmt_modes[i].v == v && dmt_modes[i].hz == hz)
			return &dmt_modes[i];
	return NULL;
}

struct mode_list {
	struct drm_mode_modeinfo *modes;
	uint32_t n, cap;
};

static void add_mode(struct mode_list *l, const struct drm_mode_modeinfo *m)
{
	for (uint32_t i = 0; i < l->n; i++) {
		const struct drm_mode_modeinfo *o = &l->modes[i];
		if (o->hdisplay == m->hdisplay && o->vdisplay == m->vdisplay && o->clock == m->clock &&
		    o->htotal == m->htotal && o->vtotal == m->vtotal && o->flags == m->flags)
			return; /* listed twice in the EDID: keep the first (it may be preferred) */
	}
	if (l->n == l->cap) {
		uint32_t cap = l->cap ? l->cap * 2 : 8;
		struct drm_mode_modeinfo *p = realloc(l->modes, cap * sizeof(*p));
		if (!p)
			return;
		l->modes = p;
		l->cap = cap;
	}
	l->modes[l->n++] = *m;
}

static void add_dmt(struct mode_list *l, const struct dmt *d)
{
	if (!d)
		return;
	struct drm_mode_modeinfo m = {
		.clock = d->clock, .hdisplay = d->h, .hsync_start = d->hss, .hsync_end = d->hse, .htotal = d->ht,
		.vdisplay = d->v, .vsync_start = d->vss, .vsync_end = d->vse, .vtotal = d->vt,
		.flags = d->flags, .type = DRM_MODE_TYPE_DRIVER,
	};
	m.vrefresh = drm_mode_vrefresh(&m);
	drm_mode_set_name(&m);
	add_mode(l, &m);
}

static void add_dtd(struct mode_list *l, const uint8_t *d, bool preferred)
{
	unsigned clock = (unsigned)(d[0] | d[1] << 8) * 10;
	unsigned ha = d[2] | (d[4] >> 4) << 8, hb = d[3] | (d[4] & 0xf) << 8;
	unsigned va = d[5] | (d[7] >> 4) << 8, vb = d[6] | (d[7] & 0xf) << 8;
	unsigned hso = d[8] | ((d[11] >> 6) & 3) << 8, hsw = d[9] | ((d[11] >> 4) & 3) << 8;
	unsigned vso = (d[10] >> 4) | ((d[11] >> 2) & 3) << 4, vsw = (d[10] & 0xf) | (d[11] & 3) << 4;
	if (!clock || !ha || !va || !hsw || !vsw)
		return;
	struct drm_mode_modeinfo m = {
		.clock = clock, .hdisplay = (uint16_t)ha, .hsync_start = (uint16_t)(ha + hso),
		.hsync_end = (uint16_t)(ha + hso + hsw), .htotal = (uint16_t)(ha + hb),
		.vdisplay = (uint16_t)va, .vsync_start = (uint16_t)(va + vso), .vsync_end = (uint16_t)(va + vso + vsw),
		.vtotal = (uint16_t)(va + vb),
		.type = DRM_MODE_TYPE_DRIVER | (preferred ? DRM_MODE_TYPE_PREFERRED : 0),
	};
	if (m.htotal < m.hsync_end || m.vtotal < m.vsync_end)
		return; /* a sync pulse beyond the blanking: not a timing */
	if (d[17] & 0x80)
		m.flags |= DRM_MODE_FLAG_INTERLACE;
	/* Digital separate sync carries the polarities; other sync types default to negative. */
	if ((d[17] & 0x18) == 0x18) {
		m.flags |= (d[17] & 0x04) ? DRM_MODE_FLAG_PVSYNC : DRM_MODE_FLAG_NVSYNC;
		m.flags |= (d[17] & 0x02) ? DRM_MODE_FLAG_PHSYNC : DRM_MODE_FLAG_NHSYNC;
	} else {
		m.flags |= DRM_MODE_FLAG_NHSYNC | DRM_MODE_FLAG_NVSYNC;
	}
	m.vrefresh = drm_mode_vrefresh(&m);
	drm_mode_set_name(&m);
	add_mode(l, &m);
}

/*
 * The base block only: detailed timings (the first one preferred), then
 * established and standard timings that match a known DMT mode. Modes
 * needing a CVT/GTF computation are not offered (documented).
 */
int drm_edid_to_modes(const uint8_t *edid, size_t len, struct drm_mode_modeinfo **modes, uint32_t *mm_width,
		      uint32_t *mm_height)
{
	static const uint8_t header[8] = {0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0};
	*modes = NULL;
	*mm_width = *mm_height = 0;
	if (!edid || len < 128 || memcmp(edid, header, 8) != 0)
		return -EINVAL;
	uint8_t sum = 0;
	for (int i = 0; i < 128; i++)
		sum = (uint8_t)(sum + edid[i]);
	if (sum != 0)
		return -EINVAL;
	*mm_width = edid[21] * 10u;
	*mm_height = edid[22] * 10u;
	struct mode_list l = {0};
	for (int i = 0; i < 4; i++)
		add_dtd(&l, edid + 54 + 18 * i, i == 0);
	static const struct { uint16_t h, v, hz; } est[17] = {
		{720, 400, 70}, {720, 400, 88}, {640, 480, 60}, {640, 480, 67}, {640, 480, 72}, {640, 480, 75},
		{800, 600, 56}, {800, 600, 60}, {800, 600, 72}, {800, 600, 75}, {832, 624, 75}, {1024, 768, 87},
		{1024, 768, 60}, {1024, 768, 70}, {1024, 768, 75}, {1280, 1024, 75}, {1152, 870, 75},
	};
	uint32_t bits = (uint32_t)edid[35] << 16 | (uint32_t)edid[36] << 8 | edid[37];
	for (int i = 0; i < 17; i++)
		if (bits & (1u << (23 - i)))
			add_dmt(&l, dmt_find(est[i].h, est[i].v, est[i].hz));
	for (int i = 0; i < 8; i++) {
		const uint8_t *s = edid + 38 + 2 * i;
		if ((s[0] == 0x01 && s[1] == 0x01) || s[0] == 0)
			continue;
		unsigned h = (s[0] + 31u) * 8u, hz = (s[1] & 0x3fu) + 60u, v;
		switch (s[1] >> 6) {
		case 0: v = h * 10 / 16; break;
		case 1: v = h * 3 / 4; break;
		case 2: v = h * 4 / 5; break;
		default: v = h * 9 / 16; break;
		}
		add_dmt(&l, dmt_find(h, v, hz));
	}
	*modes = l.modes;
	return (int)l.n;
}
