/* version.c - the version string comes from CMake's project() version. */
#include <cardforge/version.h>

#ifndef CF_VERSION_STRING
#error "CF_VERSION_STRING must be defined by the build"
#endif

const char *cf_version(void)
{
    return CF_VERSION_STRING;
}
