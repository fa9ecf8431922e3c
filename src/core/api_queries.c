/*
 * Queries and setters of the public API (include/uscst/) on core objects,
 * so that transports and device handlers never see struct uscst_target or
 * struct uscst_device.
 */
#include "core/cmdset.h"
#include "core/core.h"

bool uscst_target_enabled(const struct uscst_target *tgt)
{
	return atomic_load_explicit(&tgt->enabled, memory_order_relaxed);
}

const char *uscst_device_name(const struct uscst_device *dev) { return dev->name; }

bool uscst_device_read_only(const struct uscst_device *dev)
{
	return atomic_load_explicit(&dev->read_only, memory_order_relaxed);
}

uint64_t uscst_device_size(const struct uscst_device *dev)
{
	return atomic_load_explicit(&dev->size, memory_order_relaxed);
}

void uscst_device_set_size(struct uscst_device *dev, uint64_t size)
{
	atomic_store_explicit(&dev->size, size, memory_order_relaxed);
}

uint32_t uscst_device_block_size(const struct uscst_device *dev) { return dev->block_size; }

void uscst_device_set_discard_ok(struct uscst_device *dev, bool ok) { dev->discard_ok = ok; }

void uscst_device_set_physical_block_size(struct uscst_device *dev, uint32_t bytes)
{
	dev->phys_block_size = bytes;
}

void *uscst_device_backend_priv(struct uscst_device *dev)
{
	return dev->backend->dev_priv_size ? (char *)dev + USCST_DEVICE_PRIV_OFFSET : NULL;
}

void *uscst_device_cmdset_priv(struct uscst_device *dev)
{
	return dev->cmdset->dev_priv_size
		   ? (char *)dev + USCST_DEVICE_CMDSET_PRIV_OFFSET(dev->backend->dev_priv_size)
		   : NULL;
}

void uscst_device_set_medium_present(struct uscst_device *dev, bool present)
{
	atomic_store_explicit(&dev->medium_present, present, memory_order_relaxed);
}

void uscst_device_set_peripheral_type(struct uscst_device *dev, uint8_t type)
{
	dev->peripheral_type = (int16_t)(type & 0x1f);
}

uint8_t uscst_device_peripheral_type(const struct uscst_device *dev)
{
	return dev->peripheral_type >= 0 ? (uint8_t)dev->peripheral_type : dev->cmdset->device_type;
}
