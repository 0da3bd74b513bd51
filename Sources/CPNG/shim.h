// libpng's simplified API (png_image_*) reports errors through png_image.message instead of
// longjmp, so Swift can call it directly.
#include <png.h>
