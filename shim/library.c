#define _GNU_SOURCE
/* library.c - the constructor: resolve libc, arm the fork handlers. */
#include <pthread.h>

#include "conn.h"
#include "real.h"

__attribute__((constructor)) static void forceclose_init(void)
{
	real_init();
	conn_table_mutable();	/* remembers our pid */
	pthread_atfork(conn_atfork_prepare, conn_atfork_parent,
		       conn_atfork_child);
}
