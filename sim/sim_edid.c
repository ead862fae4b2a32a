#include "sim_edid.h"

#include <string.h>

/* Offsets in the base block (VESA E-EDID 1.4). */
enum {
	EDID_MANUFACTURER = 0x08,
	EDID_PRODUCT = 0x0A,
	EDID_SERIAL = 0x0C,
	EDID_WEEK = 0x10,
	EDID_YEAR = 0x11,
	EDID_VERSION = 0x12,
	EDID_REVISION = 0x13,
	EDID_INPUT = 0x14,
	EDID_SIZE_H_CM = 0x15,
	EDID_SIZE_V_CM = 0x16,
	EDID_GAMMA = 0x17,
	EDID_FEATURES = 0x18,
	EDID_CHROMA = 0x19,
	EDID_ESTABLISHED = 0x23,
	EDID_STANDARD = 0x26,
	EDID_DESCRIPTOR0 = 0x36,
	EDID_DESCRIPTOR_LEN = 18,
	EDID_EXTENSIONS = 0x7E,
	EDID_CHECKSUM = 0x7F,
};

struct dtd_timing {
	uint32_t clock_khz;
	uint16_t hactive, hfront, hsync, hback;
	uint16_t vactive, vfront, vsync, vback;
	bool hsync_pos, vsync_pos;
};

/* CEA-861 VIC 16 / VESA DMT 1920x1080@60: 2200x1125 total at 148.5 MHz. */
static const struct dtd_timing mode_1080p60 = {
	.clock_khz = 148500,
	.hactive = 1920, .hfront = 88, .hsync = 44, .hback = 148,
	.vactive = 1080, .vfront = 4, .vsync = 5, .vback = 36,
	.hsync_pos = true, .vsync_pos = true,
};

static void put_dtd(uint8_t *d, const struct dtd_timing *t, uint16_t width_mm, uint16_t height_mm)
{
	uint32_t clk = t->clock_khz / 10; /* 10 kHz units */
	uint32_t hblank = (uint32_t)t->hfront + t->hsync + t->hback;
	uint32_t vblank = (uint32_t)t->vfront + t->vsync + t->vback;

	d[0] = (uint8_t)clk;
	d[1] = (uint8_t)(clk >> 8);
	d[2] = (uint8_t)t->hactive;
	d[3] = (uint8_t)hblank;
	d[4] = (uint8_t)((t->hactive >> 8) << 4 | (hblank >> 8));
	d[5] = (uint8_t)t->vactive;
	d[6] = (uint8_t)vblank;
	d[7] = (uint8_t)((t->vactive >> 8) << 4 | (vblank >> 8));
	d[8] = (uint8_t)t->hfront;
	d[9] = (uint8_t)t->hsync;
	d[10] = (uint8_t)((t->vfront & 0xF) << 4 | (t->vsync & 0xF));
	d[11] = (uint8_t)((t->hfront >> 8) << 6 | (t->hsync >> 8) << 4 | ((t->vfront >> 4) & 3) << 2 |
			  ((t->vsync >> 4) & 3));
	d[12] = (uint8_t)width_mm;
	d[13] = (uint8_t)height_mm;
	d[14] = (uint8_t)(((width_mm >> 8) & 0xF) << 4 | ((height_mm >> 8) & 0xF));
	d[15] = 0; /* no border */
	d[16] = 0;
	/* Digital separate sync (b4:3 = 11), polarities in b2 (vsync) and b1 (hsync). */
	d[17] = (uint8_t)(0x18 | (t->vsync_pos ? 0x04 : 0) | (t->hsync_pos ? 0x02 : 0));
}

/* Display range limits: vertical/horizontal rates, maximum pixel clock, no timing formula. */
static void put_range_limits(uint8_t *d)
{
	static const uint8_t head[] = {0, 0, 0, 0xFD, 0};
	memcpy(d, head, sizeof(head));
	d[5] = 50;  /* min vertical rate, Hz */
	d[6] = 75;  /* max vertical rate, Hz */
	d[7] = 30;  /* min horizontal rate, kHz */
	d[8] = 83;  /* max horizontal rate, kHz */
	d[9] = 17;  /* max pixel clock in 10 MHz units: 170 MHz */
	d[10] = 0x01; /* range limits only: no GTF/CVT formula */
	d[11] = 0x0A; /* then newline and space padding */
	memset(d + 12, 0x20, 6);
}

static void put_name(uint8_t *d, const char *name)
{
	static const uint8_t head[] = {0, 0, 0, 0xFC, 0};
	memcpy(d, head, sizeof(head));
	size_t n = name ? strlen(name) : 0;
	if (n > 13)
		n = 13;
	if (n)
		memcpy(d + 5, name, n);
	/* A name shorter than the field ends with a newline and is padded with spaces. */
	if (n < 13) {
		d[5 + n] = 0x0A;
		memset(d + 6 + n, 0x20, 13 - n - 1);
	}
}

/* An unused descriptor slot (tag 0x10). */
static void put_dummy(uint8_t *d)
{
	memset(d, 0, EDID_DESCRIPTOR_LEN);
	d[3] = 0x10;
}

static uint16_t chroma10(uint32_t v_1e4)
{
	return (uint16_t)((v_1e4 * 1024u + 5000u) / 10000u);
}

/* sRGB primaries and D65 white point, as 10-bit binary fractions. */
static void put_chromaticity(uint8_t *e)
{
	uint16_t rx = chroma10(6400), ry = chroma10(3300), gx = chroma10(3000), gy = chroma10(6000);
	uint16_t bx = chroma10(1500), by = chroma10(600), wx = chroma10(3127), wy = chroma10(3290);
	e[EDID_CHROMA + 0] = (uint8_t)((rx & 3) << 6 | (ry & 3) << 4 | (gx & 3) << 2 | (gy & 3));
	e[EDID_CHROMA + 1] = (uint8_t)((bx & 3) << 6 | (by & 3) << 4 | (wx & 3) << 2 | (wy & 3));
	e[EDID_CHROMA + 2] = (uint8_t)(rx >> 2);
	e[EDID_CHROMA + 3] = (uint8_t)(ry >> 2);
	e[EDID_CHROMA + 4] = (uint8_t)(gx >> 2);
	e[EDID_CHROMA + 5] = (uint8_t)(gy >> 2);
	e[EDID_CHROMA + 6] = (uint8_t)(bx >> 2);
	e[EDID_CHROMA + 7] = (uint8_t)(by >> 2);
	e[EDID_CHROMA + 8] = (uint8_t)(wx >> 2);
	e[EDID_CHROMA + 9] = (uint8_t)(wy >> 2);
}

void sim_edid_build(uint8_t edid[SIM_EDID_SIZE], const char *monitor_name, uint16_t width_mm,
		    uint16_t height_mm)
{
	static const uint8_t header[8] = {0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x00};
	memset(edid, 0, SIM_EDID_SIZE);
	memcpy(edid, header, sizeof(header));

	/* PNP id: three letters, 5 bits each ('A' = 1), big endian. */
	uint16_t id = (uint16_t)(('R' - '@') << 10 | ('D' - '@') << 5 | ('X' - '@'));
	edid[EDID_MANUFACTURER] = (uint8_t)(id >> 8);
	edid[EDID_MANUFACTURER + 1] = (uint8_t)id;
	edid[EDID_PRODUCT] = 0x01; /* little endian */
	edid[EDID_SERIAL] = 0x01;
	edid[EDID_WEEK] = 1;
	edid[EDID_YEAR] = 2024 - 1990;
	edid[EDID_VERSION] = 1;
	edid[EDID_REVISION] = 4;

	/* Digital (b7), 8 bits per primary (b6:4 = 010), DisplayPort (b3:0 = 0101). */
	edid[EDID_INPUT] = 0x80 | 0x20 | 0x05;
	edid[EDID_SIZE_H_CM] = (uint8_t)((width_mm + 5) / 10);
	edid[EDID_SIZE_V_CM] = (uint8_t)((height_mm + 5) / 10);
	edid[EDID_GAMMA] = 220 - 100; /* gamma 2.2 */
	/* RGB 4:4:4, sRGB default colour space (b2), preferred timing is native (b1). */
	edid[EDID_FEATURES] = 0x04 | 0x02;
	put_chromaticity(edid);

	/* Established timings I: 640x480@60 (b5), 800x600@60 (b0); II: 1024x768@60 (b3). */
	edid[EDID_ESTABLISHED] = 0x20 | 0x01;
	edid[EDID_ESTABLISHED + 1] = 0x08;
	edid[EDID_ESTABLISHED + 2] = 0x00;

	/* Standard timings: 1280x720@60 ((1280/8 - 31), 16:9 = b7:6 = 11, 60 - 60), the rest unused. */
	for (unsigned i = 0; i < 8; i++) {
		edid[EDID_STANDARD + 2 * i] = 0x01;
		edid[EDID_STANDARD + 2 * i + 1] = 0x01;
	}
	edid[EDID_STANDARD] = 1280 / 8 - 31;
	edid[EDID_STANDARD + 1] = 0xC0 | (60 - 60);

	put_dtd(edid + EDID_DESCRIPTOR0, &mode_1080p60, width_mm, height_mm);
	put_range_limits(edid + EDID_DESCRIPTOR0 + EDID_DESCRIPTOR_LEN);
	put_name(edid + EDID_DESCRIPTOR0 + 2 * EDID_DESCRIPTOR_LEN, monitor_name);
	put_dummy(edid + EDID_DESCRIPTOR0 + 3 * EDID_DESCRIPTOR_LEN);

	edid[EDID_EXTENSIONS] = 0;
	uint8_t sum = 0;
	for (unsigned i = 0; i < EDID_CHECKSUM; i++)
		sum = (uint8_t)(sum + edid[i]);
	edid[EDID_CHECKSUM] = (uint8_t)(0x100 - sum);
}

bool sim_edid_valid(const uint8_t edid[SIM_EDID_SIZE])
{
	static const uint8_t header[8] = {0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x00};
	if (memcmp(edid, header, sizeof(header)) != 0)
		return false;
	uint8_t sum = 0;
	for (unsigned i = 0; i < SIM_EDID_SIZE; i++)
		sum = (uint8_t)(sum + edid[i]);
	return sum == 0;
}
