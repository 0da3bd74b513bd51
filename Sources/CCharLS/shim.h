// CharLS (Debian libcharls-dev): the JPEG-LS decoder behind DICOM transfer syntaxes
// 1.2.840.10008.1.2.4.80/81. Its C API returns error codes, so no C shim is needed.
#include <charls/charls.h>
