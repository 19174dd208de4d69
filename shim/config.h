/* config.h - settings read once from the environment at load. */
#ifndef FORCECLOSE_CONFIG_H
#define FORCECLOSE_CONFIG_H

#include <stdbool.h>

#include "settings.h"

/* What the hooks consult on every tracked call, kept small. */
struct config {
	int action;		/* enum conn_action */
	bool disabled;		/* pass everything through untouched */
	bool filtered;		/* FORCECLOSE_ONLY or _EXCEPT is set */
	int verbose;		/* enum log_level */
	int log;		/* enum settings_log */
	bool stats;		/* FORCECLOSE_STATS is set (and allowed) */
	bool observe;		/* FORCECLOSE_MODE=observe: follow, change
				   nothing, report (observe.h) */
};

extern struct config config;
extern struct settings settings;	/* everything, as parsed */

void config_load(void);

/* FORCECLOSE_INHERIT=0: drop the library from LD_PRELOAD so children run
 * without it.  From the constructor only (it changes the environment). */
void config_apply_inherit(void);

#endif
