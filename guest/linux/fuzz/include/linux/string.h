/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/* <linux/string.h> for the fuzz targets: the user-space shim. */
#include "../../kshim.h"
