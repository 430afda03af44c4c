/* version.h - library version, set by the build from the CMake project. */
#ifndef CARDFORGE_VERSION_H
#define CARDFORGE_VERSION_H
#ifdef __cplusplus
extern "C" {
#endif
/* "MAJOR.MINOR.PATCH"; static storage. */
const char *cf_version(void);
#ifdef __cplusplus
}
#endif
#endif
