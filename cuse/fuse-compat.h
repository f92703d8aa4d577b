/* The one place that picks the libfuse API level: Debian 12 ships libfuse 3.14. */
#pragma once

#define FUSE_USE_VERSION 314
#include <fuse3/cuse_lowlevel.h>
#include <fuse3/fuse_lowlevel.h>
