/* engine_filter.h - the seccomp filter of the system-call engine. */
#ifndef FORCECLOSE_ENGINE_FILTER_H
#define FORCECLOSE_ENGINE_FILTER_H

/* Installs the filter in the calling thread (after no_new_privs) and
 * returns the listener descriptor, or -1 with errno.  Descriptors at or
 * above base are the engine's: I/O calls on them are trapped. */
int engine_filter_install(unsigned base);

#endif
