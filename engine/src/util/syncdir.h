/*
 * syncdir.h - making a new file's directory entry durable (internal).
 *
 * A file created and fsync'd survives a power cut only once the directory
 * holding it is synced too. The journal and the audit log both need it.
 */
#ifndef CF_UTIL_SYNCDIR_H
#define CF_UTIL_SYNCDIR_H

/* fsync the directory that holds path; best effort (a failure is not
 * reported: the file's own data is synced separately). */
void cf_sync_parent_dir(const char *path);

#endif
