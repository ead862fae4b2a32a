/*
 * EDID of the monitors the display models connect: a VESA EDID 1.4 base
 * block (128 bytes, no extension blocks) for a digital 1920x1080@60 panel.
 * Shared by the display-engine models, which serve it from an I2C EEPROM at
 * DDC address 0x50 (or wherever their hardware reads EDID).
 */
#ifndef REDOX_DRM_SIM_EDID_H
#define REDOX_DRM_SIM_EDID_H

#include <stdbool.h>
#include <stdint.h>

#define SIM_EDID_SIZE 128u
#define SIM_EDID_I2C_ADDR 0x50u /* 7-bit DDC address of the EDID EEPROM */

/*
 * Fills edid with a valid EDID 1.4 base block:
 *  - manufacturer "RDX", product 0x0001, made in week 1 of 2024;
 *  - digital input, DisplayPort interface, 8 bits per colour, sRGB primaries;
 *  - preferred detailed timing 1920x1080@60 (CEA-861 VIC 16 / DMT: 148.5 MHz,
 *    htotal 2200, vtotal 1125, +hsync +vsync) with the given physical size;
 *  - established timings 640x480@60, 800x600@60, 1024x768@60;
 *  - standard timing 1280x720@60;
 *  - range limits (50-75 Hz, 30-83 kHz, 170 MHz) and the monitor name
 *    (at most 13 characters; longer names are cut);
 *  - checksum.
 */
void sim_edid_build(uint8_t edid[SIM_EDID_SIZE], const char *monitor_name, uint16_t width_mm,
		    uint16_t height_mm);

/* True if the block starts with the EDID header and its bytes sum to 0 mod 256. */
bool sim_edid_valid(const uint8_t edid[SIM_EDID_SIZE]);

#endif
