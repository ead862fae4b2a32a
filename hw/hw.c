#include "redox-drm/hw.h"

void hw_destroy(struct hw_device *hw)
{
	if (hw)
		hw->ops->destroy(hw);
}
