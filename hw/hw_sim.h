/*
 * The simulated-device backend's extras, for tests and tools that need to
 * reach behind the hw ops: the model itself (misbehaviour switches, engine
 * seams) and the bus it masters DMA and interrupts through.
 */
#ifndef REDOX_DRM_HW_SIM_H
#define REDOX_DRM_HW_SIM_H

#include "redox-drm/hw.h"
#include "redox-drm/sim.h"

/* Base of the bus addresses dma_alloc hands out on a simulated device. */
#define HW_SIM_DMA_BASE 0x100000000ull

/* NULL unless hw was made by hw_sim_create. */
struct sim_model *hw_sim_model(struct hw_device *hw);
struct sim_bus *hw_sim_bus(struct hw_device *hw);

#endif
