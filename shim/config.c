/* config.c - FORCECLOSE_* environment variables, read once.  A bad value
 * prints one line naming the variable and what it accepts; the shim then
 * stays out of the way for the whole process rather than guess. */
#define _GNU_SOURCE
#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/auxv.h>
#include <sys/syscall.h>

#include "conn.h"
#include "log.h"

struct config config;
struct settings settings;

static const char *get(const char *name)
{
	return getenv(name);
}

/* Removes every FORCECLOSE_* entry from environ, in place, as unsetenv()
 * does: main()'s envp is the same array, so neither it nor any child
 * the program starts with environ sees them. */
static void drop_our_variables(void)
{
	static const char prefix[] = "FORCECLOSE_";
	char **ep = environ, **dp;

	if (ep == NULL)
		return;
	while (*ep != NULL) {
		if (strncmp(*ep, prefix, sizeof prefix - 1) != 0) {
			ep++;
			continue;
		}
		dp = ep;
		do
			dp[0] = dp[1];
		while (*dp++ != NULL);
	}
}

static void load(void)
{
	struct settings_error err;

	/* Secure execution (setuid, setgid, file capabilities): the
	 * environment comes from a less privileged caller, and none of it
	 * may steer a privileged process or, through the environment it
	 * passes on, the children it runs after switching users.  Only a
	 * system-wide preload (/etc/ld.so.preload) or a library in a system
	 * directory gets this far; it stays out of the way entirely. */
	if (getauxval(AT_SECURE) != 0) {
		config.disabled = true;
		drop_our_variables();
		return;
	}
	log_stderr_init();
	if (!settings_parse(&settings, get, &err)) {
		char line[768];
		size_t n = settings_error_line(&err, "libforceclose: ",
					       "; libforceclose stays inactive",
					       line, sizeof line);
		/* stderr without stdio (it may be a socket we track) and
		 * without hooks */
		log_stderr_write(line, n);
		config.disabled = true;
		return;
	}
	if (settings.disabled) {
		config.disabled = true;
		return;
	}
	config.action = settings.action;
	config.filtered = settings.has_only || settings.has_except;
	config.verbose = settings.verbose;
	config.log = settings.log;
	config.stats = settings.stats_path[0] != '\0';
	if (settings.observe) {
		/* the trackers run, nothing is rewritten or torn down, and
		 * every destination is watched (the filters are for
		 * enforcing) */
		config.observe = true;
		config.action = ACTION_NONE;
		config.filtered = false;
	}
}

/* Once, from the constructor or from a hook that runs before it. */
void config_load(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, load);
}

/* An LD_PRELOAD entry naming this library (any directory). */
static bool is_us(const char *p, size_t n)
{
	static const char name[] = "libforceclose.so";
	const char *base = p;
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] == '/')
			base = p + i + 1;
	return (size_t)(p + n - base) >= sizeof name - 1 &&
	       memcmp(base, name, sizeof name - 1) == 0;
}

void config_apply_inherit(void)
{
	const char *v = getenv("LD_PRELOAD");
	char *out;
	size_t o = 0;

	/* a bad value leaves everything as it was, the environment too */
	if (config.disabled || settings.inherit || v == NULL)
		return;
	out = malloc(strlen(v) + 1);
	if (out == NULL)
		return;
	/* entries are separated by spaces or colons */
	while (*v != '\0') {
		size_t n = strcspn(v, " :");
		if (n > 0 && !is_us(v, n)) {
			if (o > 0)
				out[o++] = ':';
			memcpy(out + o, v, n);
			o += n;
		}
		v += n;
		if (*v != '\0')
			v++;
	}
	out[o] = '\0';
	if (o == 0)
		unsetenv("LD_PRELOAD");
	else
		setenv("LD_PRELOAD", out, 1);
	free(out);
}
