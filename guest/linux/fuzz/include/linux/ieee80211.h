/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/* <linux/ieee80211.h> for the fuzz targets: the user-space shim. */
#include "../../kshim.h"
