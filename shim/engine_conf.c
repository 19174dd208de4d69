/* engine_conf.c - the supervisor's copy of what config.c gives the
 * library: the same settings_parse() of the same FORCECLOSE_* variables,
 * so log.c and stats.c run unchanged inside the launcher. */
#define _GNU_SOURCE
#include "engine_conn.h"

#include <stdlib.h>

#include "config.h"
#include "fdtable.h"
#include "log.h"
#include "settings.h"

struct config config;
struct settings settings;

/* log.c never writes a line into a descriptor the library tracks; the
 * launcher tracks none: an empty table (BSS, never touched). */
struct conn *_Atomic fdtable_slots[FDTABLE_SIZE];

static const char *get(const char *name)
{
	return getenv(name);
}

void engine_conf_load(void)
{
	struct settings_error err;

	log_stderr_init();	/* log lines go only to this stderr */
	/* the launcher has validated every value already */
	if (!settings_parse(&settings, get, &err) || settings.disabled) {
		config.disabled = true;
		return;
	}
	config.action = settings.action;
	config.filtered = settings.has_only || settings.has_except;
	config.verbose = settings.verbose;
	config.log = settings.log;
	config.stats = settings.stats_path[0] != '\0';
	if (settings.observe) {
		/* as config.c: follow, change nothing, watch everything */
		config.observe = true;
		config.action = ACTION_NONE;
		config.filtered = false;
	}
}
