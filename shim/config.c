/* config.c - FORCECLOSE_* environment variables.  A bad value prints one
 * line naming the variable and what it accepts; the shim then stays out of
 * the way for the whole process rather than guess. */
#define _GNU_SOURCE
#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>

#include "conn.h"

struct config config;

/* stderr without stdio (it may be a socket we track) and without hooks */
static void complain(const char *var, const char *value, const char *accepts)
{
	char line[512];
	size_t n = 0;
	const char *parts[] = { "libforceclose: ", var, "=\"", value,
				"\" is not valid; accepted: ", accepts,
				"; libforceclose stays inactive\n" };
	size_t i;

	for (i = 0; i < sizeof parts / sizeof parts[0]; i++) {
		size_t k = strlen(parts[i]);
		/* values may be huge or hostile: keep the line short, and
		 * printable */
		if (k > 64 && i == 3)
			k = 64;
		while (k-- > 0 && n < sizeof line - 2) {
			char ch = *parts[i]++;
			line[n++] = (ch >= 0x20 && ch < 0x7f) || ch == '\n' ? ch : '?';
		}
	}
	syscall(SYS_write, 2, line, n);
}

static void load(void)
{
	const char *v = getenv("FORCECLOSE_DISABLE");

	if (v != NULL && *v != '\0' && strcmp(v, "0") != 0) {
		if (strcmp(v, "1") != 0) {
			complain("FORCECLOSE_DISABLE", v, "0 or 1");
		}
		config.disabled = true;
		return;
	}
	v = getenv("FORCECLOSE_ACTION");
	if (v == NULL || strcmp(v, "shutdown") == 0)
		config.action = CONN_ACTION_SHUTDOWN;
	else if (strcmp(v, "close") == 0)
		config.action = CONN_ACTION_CLOSE;
	else if (strcmp(v, "none") == 0)
		config.action = CONN_ACTION_NONE;
	else {
		complain("FORCECLOSE_ACTION", v, "shutdown, close, none");
		config.disabled = true;
	}
}

/* Once, from the constructor or from a hook that runs before it. */
void config_load(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, load);
}
