/* library.c - the constructor: read the settings, arm the fork handlers
 * (real.c resolves libc in a constructor of its own, which runs first). */
#include <pthread.h>

#include "config.h"
#include "conn.h"
#include "observe.h"
#include "stats.h"

__attribute__((constructor)) static void forceclose_init(void)
{
	config_load();
	config_apply_inherit();
	conn_table_mutable();	/* remembers our pid */
	pthread_atfork(conn_atfork_prepare, conn_atfork_parent,
		       conn_atfork_child);
}

/* At exit the kernel closes every descriptor: head bytes the rewriter
 * still holds go out first, as they would have without the shim.  Then
 * the counters (FORCECLOSE_STATS) and the observe report. */
__attribute__((destructor)) static void forceclose_fini(void)
{
	conn_flush_all();
	if (conn_table_mutable()) {
		stats_write("exit");
		observe_report("exit");
	}
}
